"""MultiLevelHeatmap(multilevel=True) as a drop-in for MMPose's list of
MegviiHeatmap encoders in MMPose's own RSN and MSPN configs, whose
``MSPNHead`` reads MMPose's multi-level layout."""
import json
import random
import subprocess
import sys
from pathlib import Path

import mmpose
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmpose.registry import DATASETS
from mmpose.structures import MultilevelPixelData

from mmpose_ext.apis.config_checks import check_target_layout

from ..test_apis.tool_runs import ROOT, data_options

STOCK = str(
    Path(mmpose.__file__).parent / '.mim/configs/body_2d_keypoint/'
    'topdown_heatmap/coco/td-hm_{}_8xb32-210e_coco-256x192.py')
SWAPPED = ('configs/mspn/'
           'td-hm_{}_multi-level-heatmap_8xb32-210e_coco-256x192.py')
MODELS = ('rsn50', '2xmspn50')
# small settings: one block per ResNet layer, 64 unit channels, no ImageNet
# weights (no network here)
SMALL = ['model.backbone.num_blocks=[1,1,1,1]',
         'model.backbone.unit_channels=64', 'model.head.unit_channels=64',
         'model.backbone.init_cfg=None']


def train_dataset(config, root):
    cfg = Config.fromfile(config)
    dataset = cfg.train_dataloader.dataset
    dataset.update(data_root=str(root),
                   ann_file='annotations/person_keypoints_train.json',
                   data_prefix=dict(img='images/train/'))
    return DATASETS.build(dataset)


def seeded(dataset, index, seed):
    random.seed(seed)
    np.random.seed(seed)
    return dataset[index]


@pytest.mark.slow
@pytest.mark.parametrize('name', MODELS)
def test_targets_equal_mmpose_megvii_passes(name, synthetic_coco):
    """Every sample of the synthetic train set, with the same random
    augmentation draws: the targets of one MultiLevelHeatmap equal those of
    MMPose's MegviiHeatmap encoders, level by level, in the same layout."""
    ours = train_dataset(str(ROOT / SWAPPED.format(name)), synthetic_coco)
    stock = train_dataset(STOCK.format(name), synthetic_coco)
    levels = 4 if name == 'rsn50' else 5
    assert len(ours) == len(stock) == 16
    for i in range(len(ours)):
        a, b = seeded(ours, i, seed=i), seeded(stock, i, seed=i)
        torch.testing.assert_close(a['inputs'], b['inputs'])
        fields_a, fields_b = a['data_samples'].gt_fields, \
            b['data_samples'].gt_fields
        assert isinstance(fields_a, MultilevelPixelData)
        assert fields_a.nlevel == fields_b.nlevel == levels
        for level in range(levels):
            hm_a, hm_b = fields_a[level].heatmaps, fields_b[level].heatmaps
            assert hm_a.shape == hm_b.shape == (17, 64, 48)
            # cv2's blur in float32 per keypoint against the closed form
            torch.testing.assert_close(hm_a, hm_b, rtol=0,
                                       atol=255 * 5e-5)
        w_a = a['data_samples'].gt_instance_labels.keypoint_weights
        w_b = b['data_samples'].gt_instance_labels.keypoint_weights
        assert w_a.shape == w_b.shape == (levels, 1, 17)
        torch.testing.assert_close(w_a, w_b)
        assert w_a.sum() > 0


def test_wrong_layout_is_named_before_training():
    """The stacked layout under MSPNHead (and the multi-level one under a
    head of this package) is refused by the config check, naming the
    transform and the fix, instead of failing inside the head."""
    cfg = Config.fromfile(str(ROOT / SWAPPED.format('rsn50')))
    check_target_layout(cfg)
    cfg.train_dataloader.dataset.pipeline[-2].encoder.multilevel = False
    with pytest.raises(ValueError, match=r'pipeline\[6\]\.encoder is '
                       r'MultiLevelHeatmap with multilevel=False but '
                       r'model.head \(MSPNHead\).*multilevel=True'):
        check_target_layout(cfg)
    ours = Config.fromfile(
        str(ROOT / 'configs/mspn/mspn50-2stage_synthetic-coco-128x96.py'))
    check_target_layout(ours)
    ours.train_dataloader.dataset.pipeline[-2].encoder.multilevel = True
    with pytest.raises(ValueError, match='MultiStageHeatmapHead.*stacked'):
        check_target_layout(ours)


def run_tool(tool, *args):
    proc = subprocess.run([sys.executable, f'tools/{tool}.py', *args],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize('name', MODELS)
def test_mmpose_config_trains_and_tests(name, synthetic_coco, tmp_path):
    """MMPose's RSN-50 / 2xMSPN-50 with the codec swapped (small settings):
    MMPose's MSPNHead trains on the targets for an epoch through the
    tools with finite losses, CocoMetric validates and tests the
    checkpoint."""
    config = SWAPPED.format(name)
    data = [*data_options(synthetic_coco, batch_size=4),
            'val_dataloader.dataset.bbox_file=None',
            'test_dataloader.dataset.bbox_file=None']
    for split in ('train', 'val'):
        data += [f'{split}_dataloader.dataset.ann_file='
                 f'annotations/person_keypoints_{split}.json',
                 f'{split}_dataloader.dataset.data_prefix.img='
                 f'images/{split}/']
    data += ['test_dataloader.dataset.ann_file='
             'annotations/person_keypoints_val.json',
             'test_dataloader.dataset.data_prefix.img=images/val/']
    work_dir = tmp_path / 'work'
    log = run_tool('train', config, '--work-dir', str(work_dir),
                   '--cfg-options', 'train_cfg.max_epochs=1',
                   'train_cfg.val_interval=1', *SMALL, *data)
    assert 'Epoch(train) [1][4/4]' in log and 'coco/AP' in log
    losses = [float(line.split('loss: ')[1].split()[0])
              for line in log.splitlines() if 'Epoch(train)' in line
              and 'loss: ' in line]
    assert len(losses) == 4 and all(np.isfinite(losses)), losses

    metrics_file = tmp_path / 'metrics.json'
    run_tool('test', config, str(work_dir / 'epoch_1.pth'), '--work-dir',
             str(tmp_path / 'test'), '--out', str(metrics_file),
             '--cfg-options', *SMALL, *data)
    metrics = json.loads(metrics_file.read_text())
    assert 0.0 <= metrics['coco/AP'] <= 1.0
