"""The package's tools/train.py end to end: multi-process training on CPUs,
mixed precision through --amp, and seeded determinism.

The models are the synthetic configs' architectures at a fraction of their
width (``TINY``) on the session's 8 train / 4 val images, so each run takes
seconds.
"""
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmpose.registry import MODELS

from mmpose_ext.apis import PreflightRunner

from .tool_runs import (
    HRNET,
    ITERS_PER_EPOCH,
    MCA,
    RES18,
    ROOT,
    TINY,
    TINY_RES18_MODEL,
    data_options,
    free_port,
    newest_log,
    run_train_in_process,
    subprocess_env,
)


@pytest.mark.slow
def test_dist_train_two_processes(synthetic_coco, tmp_path):
    work_dir = tmp_path / 'work'
    env = dict(subprocess_env(), PORT=str(free_port()),
               PYTHON=sys.executable)
    proc = subprocess.run(
        ['bash', 'tools/dist_train.sh', RES18, '2', '--work-dir',
         str(work_dir), '--cfg-options', 'train_cfg.max_epochs=1',
         'train_cfg.val_interval=1', 'log_level=DEBUG',
         *data_options(synthetic_coco), *TINY[RES18]],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-5000:]
    # Each rank trained on its half of the data: 16 samples / (2 x 4).
    for rank in (0, 1):
        logs = list(work_dir.glob(f'*/*rank{rank}.log'))
        assert len(logs) == 1, f'no log of rank {rank}'
        assert 'Epoch(train) [1][2/2]' in logs[0].read_text()
    assert 'Distributed training: True' in output
    # CocoMetric evaluated once (on rank 0, over both ranks' results).
    assert output.count('Average Precision  (AP) @[ IoU=0.50:0.95 | '
                        'area=   all') == 1
    checkpoint = torch.load(work_dir / 'epoch_1.pth')  # weights-only
    assert checkpoint['meta']['iter'] == 2
    cfg = Config.fromfile(ROOT / RES18)
    cfg.merge_from_dict(dict(model=TINY_RES18_MODEL))
    model = MODELS.build(cfg.model)
    model.load_state_dict(checkpoint['state_dict'], strict=True)


def test_launcher_run_destroys_its_process_group(synthetic_coco, tmp_path,
                                                monkeypatch, one_thread):
    """``--launcher pytorch`` (one process here, as torchrun sets it up):
    the gloo process group the run initializes is destroyed when the tool
    returns, so an in-process caller is not left in a distributed state
    (MMEngine's ``get_world_size`` etc. read the global group)."""
    train_only = [o for o in data_options(synthetic_coco)
                  if not o.startswith(('val_', 'test_'))]
    for key, value in dict(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1',
                           MASTER_ADDR='127.0.0.1',
                           MASTER_PORT=str(free_port())).items():
        monkeypatch.setenv(key, value)
    try:
        run_train_in_process(monkeypatch, RES18, '--launcher', 'pytorch',
                             '--no-validate', '--work-dir', tmp_path,
                             '--cfg-options', 'train_cfg.max_epochs=1',
                             'visualizer.name=launcher_run',
                             'experiment_name=launcher_run', *train_only,
                             *TINY[RES18])
        assert 'Distributed training: True' in newest_log(tmp_path)
        assert (tmp_path / 'epoch_1.pth').is_file()
        assert not torch.distributed.is_initialized()
    finally:  # the other tests run without a process group
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


@pytest.mark.parametrize('config', [RES18, HRNET, MCA],
                         ids=['resnet', 'hrnet', 'mca-hourglass'])
def test_amp_training_on_cpu(config, synthetic_coco, tmp_path, monkeypatch,
                             one_thread):
    train_only = [o for o in data_options(synthetic_coco)
                  if not o.startswith(('val_', 'test_'))]  # --no-validate
    run_train_in_process(monkeypatch, config, '--amp', '--no-validate',
                         '--work-dir', tmp_path, '--cfg-options',
                         'train_cfg.max_epochs=1', *train_only,
                         f'visualizer.name=amp_{Path(config).stem}',
                         *TINY[config])
    assert 'bfloat16 autocast' in newest_log(tmp_path)
    scalars = sorted(tmp_path.glob('2*/vis_data/scalars.json'))[-1]
    losses = [json.loads(line)['loss']
              for line in scalars.read_text().splitlines()]
    assert len(losses) == ITERS_PER_EPOCH
    assert all(math.isfinite(loss) for loss in losses)


class _LossRecorder(Hook):

    def __init__(self):
        self.losses = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.losses.append(float(outputs['loss']))


def _seeded_losses(root: Path, work_dir: Path, iters: int = 20):
    cfg = Config.fromfile(ROOT / RES18)
    cfg.merge_from_dict(dict(
        model=TINY_RES18_MODEL,
        randomness=dict(seed=123, deterministic=True),
        train_cfg=dict(max_epochs=3, val_interval=100),
        default_hooks=dict(checkpoint=dict(interval=100)),
        train_dataloader=dict(batch_size=2, num_workers=0,
                              persistent_workers=False,
                              dataset=dict(data_root=str(root)))))
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.work_dir = str(work_dir)
    runner = PreflightRunner.from_cfg(cfg)
    recorder = _LossRecorder()
    runner.register_hook(recorder)
    runner.train()
    return recorder.losses[:iters]


@pytest.mark.slow
def test_seeded_deterministic_runs_repeat_exactly(synthetic_coco, tmp_path,
                                                  one_thread):
    try:
        first = _seeded_losses(synthetic_coco, tmp_path / 'a')
        second = _seeded_losses(synthetic_coco, tmp_path / 'b')
    finally:
        torch.use_deterministic_algorithms(False)
    assert len(first) == 20
    assert first == second
    assert len(set(first)) > 1  # the runs did train


def test_sys_argv_is_restored(monkeypatch, capsys):
    """MMPose's script parses ``sys.argv``: the wrapper sets it for the
    run and gives the caller's back, however the run ends."""
    from mmpose_ext.apis import run_mmpose_tool
    monkeypatch.setattr(sys, 'argv', ['caller', '--its-own-flag'])
    with pytest.raises(SystemExit):
        run_mmpose_tool('train', ['--help'])
    assert 'usage: train.py' in capsys.readouterr().out
    assert sys.argv == ['caller', '--its-own-flag']
