"""End to end: the package's tools/train.py and tools/test.py on the
session's generated COCO data."""
import json
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

from .tool_runs import MCA, RES18, ROOT, data_options


def run_tool(tool, *args):
    proc = subprocess.run([sys.executable, f'tools/{tool}.py', *args],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.mark.parametrize('config', [
    'configs/synthetic/td-hm_res18_synthetic-coco-128x96.py',
    'configs/hrnet/td-hm_hrnet-w32_ohkm_synthetic-coco-128x96.py',
    'configs/cpn/cpn_res18_synthetic-coco-128x96.py',
])
def test_train_evaluate_test(config, synthetic_coco, tmp_path):
    work_dir = tmp_path / 'work'
    log = run_tool('train', config, '--work-dir', str(work_dir),
                   '--cfg-options', 'train_cfg.max_epochs=1',
                   'train_cfg.val_interval=1', *data_options(synthetic_coco))
    assert 'coco/AP' in log  # CocoMetric ran as the eval hook
    checkpoint = work_dir / 'epoch_1.pth'
    state = torch.load(checkpoint)  # weights-only, as torch >= 2.6 loads
    assert state['meta']['epoch'] == 1

    metrics_file = tmp_path / 'metrics.json'
    log = run_tool('test', config, str(checkpoint), '--work-dir',
                   str(tmp_path / 'test'), '--out', str(metrics_file),
                   '--cfg-options', *data_options(synthetic_coco))
    # the matching checkpoint loads silently
    assert 'does not fit' not in log and 'missing keys' not in log
    metrics = json.loads(metrics_file.read_text())
    assert 0.0 <= metrics['coco/AP'] <= 1.0
    assert 0.0 <= metrics['coco/AR'] <= 1.0


def test_resume_continues_from_checkpoint(synthetic_coco, tmp_path):
    config = 'configs/synthetic/td-hm_res18_synthetic-coco-128x96.py'
    common = ['--work-dir', str(tmp_path), '--cfg-options',
              'train_cfg.val_interval=10', *data_options(synthetic_coco)]
    run_tool('train', config, *common[:2], *common[2:],
             'train_cfg.max_epochs=1')
    first = torch.load(tmp_path / 'epoch_1.pth')
    log = run_tool('train', config, '--resume', *common,
                   'train_cfg.max_epochs=2')
    assert 'resumed epoch: 1' in log
    second = torch.load(tmp_path / 'epoch_2.pth')
    assert second['meta']['epoch'] == 2
    assert second['meta']['iter'] == 2 * first['meta']['iter']
    # Adam's step count continued from the first run's
    step1 = first['optimizer']['state'][0]['step']
    step2 = second['optimizer']['state'][0]['step']
    assert int(step2) == 2 * int(step1)


def test_mca_hourglass_coco_config_trains_and_validates(synthetic_coco,
                                                       tmp_path):
    """The headline 8-stack config, pointed at the synthetic set: one
    training iteration and one validation, through the stock tools."""
    log = run_tool(
        'train', 'configs/mca_hourglass_coco.py', '--work-dir',
        str(tmp_path), '--cfg-options', 'train_cfg.max_epochs=1',
        'train_cfg.val_interval=1', 'train_dataloader.dataset.indices=1',
        'val_dataloader.dataset.indices=1',
        'val_dataloader.dataset.bbox_file=None',
        *data_options(synthetic_coco, batch_size=1),
        'train_dataloader.dataset.data_prefix.img=images/train/',
        'val_dataloader.dataset.data_prefix.img=images/val/',
        'train_dataloader.dataset.ann_file='
        'annotations/person_keypoints_train.json',
        'val_dataloader.dataset.ann_file='
        'annotations/person_keypoints_val.json')
    assert 'Epoch(train) [1][1/1]' in log and 'coco/AP' in log
    state = torch.load(tmp_path / 'epoch_1.pth')
    assert len([k for k in state['state_dict']
                if k.startswith('backbone.attentions.')]) > 0


def test_mismatched_checkpoint_is_refused(synthetic_coco, tmp_path):
    """The attention-hourglass weights against the ResNet-18 config: exit
    status 1 naming the mismatch and the config that fits, instead of AP
    0.000 from random weights; --allow-partial keeps MMEngine's lenient
    loading."""
    init_default_scope('mmpose')
    model = MODELS.build(Config.fromfile(str(ROOT / MCA)).model)
    checkpoint = tmp_path / 'mca.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(
        experiment_name='mca_hourglass_synthetic-coco-128x96_'
        '20261202_120000')), checkpoint)
    args = [RES18, str(checkpoint), '--work-dir', str(tmp_path / 'test'),
            '--cfg-options', *data_options(synthetic_coco)]
    proc = subprocess.run([sys.executable, 'tools/test.py', *args],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 1
    error = proc.stderr[proc.stderr.index('error: '):].splitlines()
    assert error[0].startswith(f'error: checkpoint {checkpoint} does not '
                               'fit the model of')
    assert any(line.startswith("122 of the model's 146 weights are "
                               'missing from the checkpoint')
               for line in error), error
    assert f'probably fit: {MCA}' in proc.stderr
    assert 'Traceback' not in proc.stderr

    log = run_tool('test', *args, '--allow-partial')
    assert 'loaded partially, allow_partial' in log and 'coco/AP' in log
