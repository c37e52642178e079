"""Every config's top-level ``codec`` is the codec its pipeline encodes with.

A derived config's ``codec = dict(...)`` is merged into its base's codec,
so switching codec type over an MMPose base (MSRAHeatmap, or MSPN's list of
MegviiHeatmap encoders) used to leave stale keys behind (a MultiLevelHeatmap
``cfg.codec`` with MSRAHeatmap's ``sigma`` that no registry could build),
while the pipeline, built from the local dict, was right.
"""
from pathlib import Path

import pytest
from mmengine.config import Config
from mmpose.registry import KEYPOINT_CODECS

import mmpose_ext  # noqa: F401  (registers MultiLevelHeatmap)

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted(p.relative_to(ROOT).as_posix()
                 for p in (ROOT / 'configs').rglob('*.py')
                 if '_base_' not in p.parts)


def test_configs_found():
    assert len(CONFIGS) >= 20, CONFIGS


@pytest.mark.parametrize('config', CONFIGS)
def test_codec_is_the_pipeline_encoder(config):
    cfg = Config.fromfile(ROOT / config)
    encoders = [t['encoder'] for t in cfg.train_dataloader.dataset.pipeline
                if t['type'] == 'GenerateTarget']
    assert len(encoders) == 1
    codec = {k: v for k, v in cfg.codec.to_dict().items() if k != '_scope_'}
    assert codec == encoders[0].to_dict()
    assert '_delete_' not in str(cfg.train_dataloader.dataset.pipeline)
    KEYPOINT_CODECS.build(cfg.codec)


@pytest.mark.parametrize('config', CONFIGS)
def test_engine_components_are_switched_on(config):
    """MMPose's stock tools get the package's reliability from the config
    (configs/_base_/mmpose_ext_runtime.py)."""
    cfg = Config.fromfile(ROOT / config)
    hooks = cfg.default_hooks
    assert hooks.checkpoint.type == 'AtomicCheckpointHook'
    assert hooks.non_finite_loss.type == 'NonFiniteLossHook'
    assert hooks.unreadable_image.type == 'UnreadableImageHook'
    assert cfg.optim_wrapper.constructor == 'CpuAmpOptimWrapperConstructor'
    assert 'mmpose_ext' in cfg.custom_imports.imports
