"""mmpose_ext.engine.size_check: crops, codecs and the model's output must
agree on their sizes (the stock-tool and package-tool runs are in
tests/test_apis/test_size_mismatch_tools.py)."""
import glob
import os.path as osp

import mmpose
import pytest
from mmengine.config import Config

from mmpose_ext.engine.size_check import (
    SizeMismatchError,
    check_sizes,
    model_heatmap_size,
)
from mmpose_ext.package_files import config_path, find_configs

DEMO = 'synthetic/mca_hourglass_amp-lightaug_synthetic-coco-128x96.py'


def demo(**options):
    cfg = Config.fromfile(str(config_path(DEMO)))
    cfg.merge_from_dict(options)
    return cfg


def test_model_output_size_on_the_meta_device():
    assert model_heatmap_size(demo(), (96, 128)) == (24, 32)
    assert model_heatmap_size(demo(), (64, 64)) == (16, 16)


@pytest.mark.parametrize('options, splits, match', [
    ({'model.head.decoder.input_size': (128, 128)}, ('test', ),
     r'model.head.decoder.input_size is \(128, 128\) \(w, h\) but '
     r'test_dataloader.dataset.pipeline\[2\].input_size crops \(96, 128\)'),
    ({'model.head.decoder.heatmap_size': (24, 24)}, ('test', ),
     r'model.head.decoder.heatmap_size is \(24, 24\) \(w, h\) but the model '
     r'outputs \(24, 32\) heatmaps for a \(96, 128\) input'),
    ({'codec.heatmap_size': (48, 64)}, ('train', ),
     r'train_dataloader.dataset.pipeline\[\d\].encoder.heatmap_size is '
     r'\(48, 64\)'),
])
def test_mismatches_name_keys_and_sizes(options, splits, match):
    cfg = demo(**options)
    if 'codec.heatmap_size' in options:  # the pipeline's own codec copy
        for step in cfg.train_dataloader.dataset.pipeline:
            if step['type'] == 'GenerateTarget':
                step['encoder']['heatmap_size'] = options[
                    'codec.heatmap_size']
    with pytest.raises(SizeMismatchError, match=match):
        check_sizes(cfg, splits)
    check_sizes(cfg, [s for s in ('train', 'test') if s not in splits])


@pytest.mark.slow
def test_every_package_config_agrees():
    for path in find_configs():
        check_sizes(Config.fromfile(str(path)))


@pytest.mark.slow
def test_mmpose_coco_topdown_configs_pass():
    """MMPose's own COCO body configs (heatmap, SimCC, RTMPose, regression)
    are left alone: their codecs, crops and models agree, or are not
    compared (bottom-up)."""
    root = osp.join(osp.dirname(mmpose.__file__), '.mim', 'configs',
                    'body_2d_keypoint')
    checked = 0
    for path in sorted(glob.glob(f'{root}/*/coco/*.py')):
        if '/edpose/' in path:  # a new-style (pure Python) config
            continue
        check_sizes(Config.fromfile(path))
        checked += 1
    assert checked > 100
