"""mmpose_ext.analysis.config_summary: input size and model summary."""
import pytest
from mmengine.config import Config

from mmpose_ext.analysis import config_input_size, describe_model
from mmpose_ext.package_files import config_path


def test_input_size_lookup():
    cfg = Config.fromfile(config_path('mca_hourglass/mca_hourglass_coco.py'))
    assert config_input_size(cfg) == (256, 256)
    cfg = Config.fromfile(
        config_path('mspn/mspn50-2stage_8xb32-210e_coco-256x192.py'))
    assert config_input_size(cfg) == (192, 256)
    assert describe_model(cfg.model) == (
        'CrossStageMSPN-50 (2 stages) + MultiStageHeatmapHead')


def test_no_input_size_is_an_error():
    cfg = Config(dict(model=dict(head=dict(type='HeatmapHead'))))
    with pytest.raises(ValueError, match='pass --input-shape H W'):
        config_input_size(cfg)
