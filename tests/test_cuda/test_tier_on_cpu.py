"""The CUDA tier's helpers on the CPU (an ordinary test, run by ``make
test``): what the tier runs on CUDA, checked here where it is cheap."""
import importlib
import pkgutil

import numpy as np
import pytest
import torch
from mmengine.optim import OptimWrapper

from mmpose_ext.engine.optim_wrappers import CpuAmpOptimWrapper

from . import cuda_tier
from .cuda_tier import (
    TINY_MCA,
    assert_learns,
    build_model,
    copy_to,
    family_config,
    fixed_batch,
    heatmaps,
    optim_wrapper,
    predicted_keypoints,
    relative_difference,
    train_losses,
)


def test_every_tier_module_is_marked_cuda_and_skips_without_it():
    package = importlib.import_module(__package__)
    modules = [name for _, name, _ in pkgutil.iter_modules(package.__path__)
               if name.endswith('_cuda')]
    assert len(modules) >= 5
    for name in modules:
        module = importlib.import_module(f'{__package__}.{name}')
        assert module.pytestmark is cuda_tier.CUDA_TIER, name
    mark = cuda_tier.requires_cuda.mark
    assert mark.args == (not torch.cuda.is_available(), )
    assert 'CUDA is not available' in mark.kwargs['reason']


def test_every_family_config_builds():
    for family in cuda_tier.FAMILIES:
        cfg = family_config(family)
        assert cfg.model.type == 'TopdownPoseEstimator', family
    with pytest.raises(ValueError, match='unknown family'):
        family_config('vitpose')


@pytest.mark.parametrize('precision', ['fp32', 'bf16'])
def test_training_helpers_learn_on_cpu(precision, one_thread):
    cfg = family_config('mca_hourglass', TINY_MCA)
    model = build_model(cfg, 'cpu')
    wrapper = optim_wrapper(model, precision, lr=2e-3)
    assert type(wrapper) is (OptimWrapper if precision == 'fp32' else
                             CpuAmpOptimWrapper)
    if precision == 'bf16':
        assert wrapper.cast_dtype == torch.bfloat16  # native_only=False
    losses = train_losses(model, fixed_batch(cfg, batch_size=4), wrapper, 6)
    assert_learns(losses, precision)
    with pytest.raises(AssertionError, match='did not go down'):
        assert_learns(losses[::-1], 'reversed')
    with pytest.raises(ValueError, match='precision'):
        optim_wrapper(model, 'fp8')


def test_device_comparison_helpers_on_cpu(one_thread):
    cfg = family_config('mca_hourglass', TINY_MCA)
    batch = fixed_batch(cfg, batch_size=2)
    model = build_model(cfg, 'cpu')
    maps = heatmaps(model, batch)
    # 2 stacks of [2, 17, 32, 24] heatmaps
    assert maps.shape == (2 * 2 * 17 * 32 * 24, )
    assert relative_difference(heatmaps(copy_to(model, 'cpu'), batch),
                               maps) == 0
    assert relative_difference(maps * 1.01, maps) == pytest.approx(0.01,
                                                                 rel=1e-4)
    keypoints = predicted_keypoints(model, batch)
    assert keypoints.shape == (2, 17, 2)
    np.testing.assert_array_equal(
        predicted_keypoints(copy_to(model, 'cpu'), batch), keypoints)
