"""MMPose's stock tools/train.py (the one inside the mmpose wheel) on the
package's configs gets the package's reliability from the config alone:
the NaN stop, atomic checkpoints with a --resume past a kill, and AMP that
runs on the CPU, and the refusal of a checkpoint that does not fit.
"""
import signal
import subprocess
import sys
import time

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

from mmpose_ext.engine import checkpoint_problem

from .tool_runs import (
    ITERS_PER_EPOCH,
    RES18,
    ROOT,
    STOCK_TRAIN,
    TINY,
    TINY_RES18_MODEL,
    data_options,
    newest_log,
    subprocess_env,
)


def stock_train(*args, **kwargs):
    return subprocess.run([sys.executable, str(STOCK_TRAIN), *map(str, args)],
                          cwd=ROOT, env=subprocess_env(), capture_output=True,
                          text=True, timeout=600, **kwargs)


@pytest.mark.slow
def test_stock_train_stops_at_nan_loss(synthetic_coco, tmp_path):
    proc = stock_train(
        RES18, '--work-dir', tmp_path, '--cfg-options',
        'optim_wrapper.optimizer.lr=1e20', 'train_cfg.max_epochs=2',
        *data_options(synthetic_coco), *TINY[RES18])
    assert proc.returncode != 0
    error = proc.stderr.strip().splitlines()[-1]
    assert error.startswith('mmpose_ext.engine.hooks.non_finite_loss_hook.'
                            'NonFiniteLossError: Non-finite loss at '
                            'iteration '), error
    assert 'loss_kpt=nan' in error or 'loss_kpt=inf' in error
    assert 'Training stopped before this state was saved' in error
    assert not list(tmp_path.glob('*.pth'))  # nothing of the bad state


@pytest.mark.slow
def test_stock_train_killed_then_resumed(synthetic_coco, tmp_path):
    work_dir = tmp_path / 'work'
    options = ['train_cfg.val_interval=100',
               'default_hooks.checkpoint.interval=1',
               *data_options(synthetic_coco), *TINY[RES18]]
    log_file = tmp_path / 'killed.log'
    with open(log_file, 'w') as log:
        proc = subprocess.Popen(
            [sys.executable, str(STOCK_TRAIN), RES18, '--work-dir',
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
    saved = torch.load(saved_path)  # weights-only, as torch >= 2.6 loads
    epoch, it = saved['meta']['epoch'], saved['meta']['iter']
    assert not (work_dir / 'epoch_1.pth').exists()  # max_keep_ckpts=1

    proc = stock_train(RES18, '--resume', '--work-dir', work_dir,
                       '--cfg-options', f'train_cfg.max_epochs={epoch + 1}',
                       *options)
    assert proc.returncode == 0, proc.stderr[-3000:]
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


@pytest.mark.slow
def test_stock_train_amp_on_cpu(synthetic_coco, tmp_path):
    train_only = [o for o in data_options(synthetic_coco)
                  if not o.startswith(('val_', 'test_'))]
    proc = stock_train(RES18, '--amp', '--no-validate', '--work-dir',
                       tmp_path, '--cfg-options', 'train_cfg.max_epochs=1',
                       *train_only, *TINY[RES18])
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = newest_log(tmp_path)
    if not torch.cuda.is_available():
        assert 'AmpOptimWrapper is built as CpuAmpOptimWrapper' in log
        assert 'bfloat16 autocast' in log
    assert (tmp_path / 'epoch_1.pth').is_file()


@pytest.mark.slow
def test_stock_test_refuses_a_checkpoint_of_another_model(synthetic_coco,
                                                          tmp_path):
    """MMPose's stock tools/test.py gets CheckpointFitHook from the config:
    the tiny ResNet-18 checkpoint against the full-width config fails,
    naming the reshaped weights, instead of scoring random weights."""
    init_default_scope('mmpose')
    cfg = Config.fromfile(str(ROOT / RES18))
    cfg.model.merge(TINY_RES18_MODEL)
    checkpoint = tmp_path / 'tiny.pth'
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict(),
                    meta={}), checkpoint)
    proc = subprocess.run(
        [sys.executable, str(STOCK_TRAIN.with_name('test.py')), RES18,
         str(checkpoint), '--work-dir', str(tmp_path / 'test'),
         '--cfg-options', *data_options(synthetic_coco)], cwd=ROOT,
        env=subprocess_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    assert f'checkpoint {checkpoint} does not fit the model of' in (
        proc.stderr)
    assert 'have other shapes: backbone.conv1.weight [16, 3, 7, 7] in ' \
        'the checkpoint, [64, 3, 7, 7] in the model' in proc.stderr
