"""End to end: the package's tools/train.py and tools/test.py on the
session's generated COCO data."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
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
@pytest.mark.slow
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
    prefix = tmp_path / 'predictions'
    log = run_tool('test', config, str(checkpoint), '--work-dir',
                   str(tmp_path / 'test'), '--out', str(metrics_file),
                   '--cfg-options', *data_options(synthetic_coco),
                   f'test_evaluator.outfile_prefix={prefix}')
    # the matching checkpoint loads silently
    assert 'does not fit' not in log and 'missing keys' not in log
    metrics = json.loads(metrics_file.read_text())
    # the tool's AP and AR are those of its written predictions, scored
    # again here with the COCO API against the val annotations
    ann_file = synthetic_coco / 'annotations' / 'person_keypoints_val.json'
    stats = coco_keypoint_stats(ann_file,
                                Path(f'{prefix}.keypoints.json'))
    assert metrics['coco/AP'] == pytest.approx(stats[0], abs=1e-9)
    assert metrics['coco/AR'] == pytest.approx(stats[5], abs=1e-9)
    assert 0.0 <= metrics['coco/AP'] <= 1.0


def coco_keypoint_stats(ann_file: Path, result_file: Path) -> list:
    """xtcocotools' ``COCOeval`` stats of a keypoint result file: AP, AP50,
    AP75, AP (M), AP (L), AR, ... with COCO's 17 keypoint sigmas."""
    from xtcocotools.coco import COCO
    from xtcocotools.cocoeval import COCOeval
    sigmas = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62,
                       .62, 1.07, 1.07, .87, .87, .89, .89]) / 10.0
    gt = COCO(str(ann_file))
    results = json.loads(result_file.read_text())
    people = {a['image_id'] for a in gt.dataset['annotations']
              if a['num_keypoints'] > 0}
    assert people <= {r['image_id'] for r in results}  # each one scored
    evaluation = COCOeval(gt, gt.loadRes(str(result_file)), 'keypoints',
                          sigmas, True)
    evaluation.params.useSegm = None
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    return list(evaluation.stats)


def test_coco_keypoint_stats_of_the_ground_truth(synthetic_coco, tmp_path):
    """The independent scorer itself: the val annotations as predictions
    (score 1) reach AP 1 and AR 1; with every keypoint 10 % of the box
    size away, AP drops."""
    ann_file = synthetic_coco / 'annotations' / 'person_keypoints_val.json'
    anns = [a for a in json.loads(ann_file.read_text())['annotations']
            if a['num_keypoints'] > 0 and not a.get('iscrowd', 0)]
    exact = [dict(image_id=a['image_id'], category_id=1,
                  keypoints=a['keypoints'], score=1.0) for a in anns]
    path = tmp_path / 'exact.keypoints.json'
    path.write_text(json.dumps(exact))
    stats = coco_keypoint_stats(ann_file, path)
    assert stats[0] == pytest.approx(1.0) and stats[5] == pytest.approx(1.0)
    moved = []
    for a, r in zip(anns, exact):
        k = np.array(a['keypoints'], dtype=float).reshape(-1, 3)
        k[:, 0] += 0.1 * a['bbox'][2]
        moved.append(dict(r, keypoints=k.ravel().tolist()))
    path.write_text(json.dumps(moved))
    assert coco_keypoint_stats(ann_file, path)[0] < 0.9


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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
