"""Reliability end to end: multi-process training, SIGKILL and --resume,
mixed precision through tools/train.py --amp, and seeded determinism.

The models are the synthetic configs' architectures at a fraction of their
width (``TINY``) on 8 train / 4 val images, so each run takes seconds.
"""
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmpose.registry import MODELS

from mmpose_ext.utils import checkpoint_problem
from mmpose_ext.utils.run_tool import _AdaptingRunner, run_mmpose_tool

ROOT = Path(__file__).resolve().parents[2]
RES18 = 'configs/synthetic/td-hm_res18_synthetic-coco-128x96.py'
HRNET = 'configs/hrnet/td-hm_hrnet-w32_ohkm_synthetic-coco-128x96.py'
MCA = 'configs/synthetic/mca_hourglass_synthetic-coco-128x96.py'
TINY = {
    MCA: ['model.backbone.feat_channels=16'],
    RES18: ['model.backbone.base_channels=8',
            'model.backbone.stem_channels=16', 'model.head.in_channels=64',
            'model.head.deconv_out_channels=(16,16,16)'],
    HRNET: ['model.backbone.extra.stage1.num_channels=(16,)',
            'model.backbone.extra.stage2.num_channels=(8,16)',
            'model.backbone.extra.stage3.num_modules=1',
            'model.backbone.extra.stage3.num_channels=(8,16,32)',
            'model.backbone.extra.stage4.num_modules=1',
            'model.backbone.extra.stage4.num_channels=(8,16,32,64)',
            'model.head.in_channels=8'],
}
TINY_RES18_MODEL = dict(
    backbone=dict(base_channels=8, stem_channels=16),
    head=dict(in_channels=64, deconv_out_channels=(16, 16, 16)))
ITERS_PER_EPOCH = 4  # 16 persons in 8 train images, batch 4


@pytest.fixture(scope='module')
def synthetic_coco(tmp_path_factory):
    out = tmp_path_factory.mktemp('synthetic_coco')
    subprocess.run([
        sys.executable, 'tools/make_synthetic_coco.py', '--out', str(out),
        '--num-train', '8', '--num-val', '4', '--img-size', '128',
        '--workers', '1'
    ], cwd=ROOT, check=True, capture_output=True)
    return out


@pytest.fixture
def one_thread():
    """Tiny models run fastest (and robustly on a busy machine) on one
    thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def data_options(root: Path, batch_size: int = 4):
    """``--cfg-options`` that point a synthetic config at ``root``."""
    val_ann = f'{root}/annotations/person_keypoints_val.json'
    options = [f'val_evaluator.ann_file={val_ann}',
               f'test_evaluator.ann_file={val_ann}',
               'default_hooks.logger.interval=1']
    for split in ('train', 'val', 'test'):
        prefix = f'{split}_dataloader'
        options += [
            f'{prefix}.dataset.data_root={root}',
            f'{prefix}.batch_size={batch_size}',
            f'{prefix}.num_workers=0', f'{prefix}.persistent_workers=False'
        ]
    return options


def subprocess_env():
    return dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')


def newest_log(work_dir: Path) -> str:
    return sorted(work_dir.glob('2*/2*.log'))[-1].read_text()


def run_train_in_process(monkeypatch, *argv):
    """``tools/train.py *argv`` in this process (no interpreter start-up).

    MMEngine's visualizer is a named global: give each in-process run its
    own ``visualizer.name`` if it reads ``vis_data``.
    """
    monkeypatch.setattr(sys, 'argv', ['tools/train.py'])
    run_mmpose_tool('train', [str(a) for a in argv])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


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


def test_sigkill_mid_training_then_resume(synthetic_coco, tmp_path,
                                          monkeypatch, one_thread):
    work_dir = tmp_path / 'work'
    options = ['train_cfg.val_interval=100',
               'default_hooks.checkpoint.interval=1',
               *data_options(synthetic_coco), *TINY[RES18]]
    log_file = tmp_path / 'killed.log'
    with open(log_file, 'w') as log:
        proc = subprocess.Popen(
            [sys.executable, 'tools/train.py', RES18, '--work-dir',
             str(work_dir), '--cfg-options', 'train_cfg.max_epochs=100',
             *options], cwd=ROOT, env=subprocess_env(), stdout=log,
            stderr=subprocess.STDOUT)
        record = work_dir / 'last_checkpoint'
        deadline = time.time() + 300
        try:
            # kill once the 2nd checkpoint replaced the 1st
            while not (record.exists()
                       and record.read_text().endswith('epoch_2.pth')):
                assert proc.poll() is None, log_file.read_text()[-3000:]
                assert time.time() < deadline, 'no checkpoint in time'
                time.sleep(0.05)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    saved_path = record.read_text().strip()
    assert checkpoint_problem(saved_path) is None
    saved = torch.load(saved_path)
    epoch, it = saved['meta']['epoch'], saved['meta']['iter']
    assert not (work_dir / 'epoch_1.pth').exists()  # max_keep_ckpts=1

    run_train_in_process(monkeypatch, RES18, '--resume', '--work-dir',
                         work_dir, '--cfg-options',
                         f'train_cfg.max_epochs={epoch + 1}', *options)
    assert f'resumed epoch: {epoch}, iter: {it}' in newest_log(work_dir)
    resumed = torch.load(work_dir / f'epoch_{epoch + 1}.pth')
    assert resumed['meta']['iter'] == it + ITERS_PER_EPOCH
    # Adam's step count and every scheduler continued from the checkpoint
    step = saved['optimizer']['state'][0]['step']
    assert int(resumed['optimizer']['state'][0]['step']) == int(
        step) + ITERS_PER_EPOCH
    for before, after in zip(saved['param_schedulers'],
                             resumed['param_schedulers']):
        steps = 1 if before['by_epoch'] else ITERS_PER_EPOCH
        assert after['last_step'] == before['last_step'] + steps
    assert not list(work_dir.glob('.*.tmp'))


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
    runner = _AdaptingRunner.from_cfg(cfg)
    recorder = _LossRecorder()
    runner.register_hook(recorder)
    runner.train()
    return recorder.losses[:iters]


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
