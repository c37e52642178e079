"""AmpOptimWrapper configs build as bfloat16 AMP without a GPU."""
import importlib

import pytest
import torch
from mmengine.optim import OptimWrapper, build_optim_wrapper
from mmpose.registry import OPTIM_WRAPPER_CONSTRUCTORS

from mmpose_ext.engine import (
    CpuAmpOptimWrapper,
    CpuAmpOptimWrapperConstructor,
)


def smoke():
    """Built from its registered name, it builds a CpuAmpOptimWrapper from
    an AmpOptimWrapper config on a CPU-only machine."""
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
        type='CpuAmpOptimWrapperConstructor',
        optim_wrapper_cfg=dict(type='AmpOptimWrapper', loss_scale='dynamic',
                               optimizer=dict(type='SGD', lr=0.1))))
    assert isinstance(constructor, CpuAmpOptimWrapperConstructor)
    wrapper = constructor(torch.nn.Linear(2, 2))
    expected = OptimWrapper if torch.cuda.is_available() else (
        CpuAmpOptimWrapper)
    assert isinstance(wrapper, expected)


def test_smoke():
    smoke()


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU-only path')
def test_config_with_constructor_builds_cpu_amp():
    model = torch.nn.Linear(2, 2)
    wrapper = build_optim_wrapper(model, dict(
        constructor='CpuAmpOptimWrapperConstructor', type='AmpOptimWrapper',
        loss_scale='dynamic', optimizer=dict(type='Adam', lr=1e-3),
        paramwise_cfg=dict(bias_lr_mult=0.5)))
    assert isinstance(wrapper, CpuAmpOptimWrapper)
    lrs = sorted(g['lr'] for g in wrapper.optimizer.param_groups)
    assert lrs == [5e-4, 1e-3]  # paramwise_cfg as the default constructor


def test_other_wrappers_are_unchanged():
    model = torch.nn.Linear(2, 2)
    wrapper = build_optim_wrapper(model, dict(
        constructor='CpuAmpOptimWrapperConstructor',
        optimizer=dict(type='SGD', lr=0.1)))
    assert type(wrapper) is OptimWrapper


def test_autocast_head_reaches_the_cpu_wrapper_and_is_dropped_on_a_gpu(
        monkeypatch):
    """``--amp --cfg-options optim_wrapper.autocast_head=True`` builds on
    both: the CPU wrapper takes it, and on a GPU the AmpOptimWrapper config
    (whose whole model is autocast) goes to MMEngine without it."""
    module = importlib.import_module(
        'mmpose_ext.engine.optim_wrappers.cpu_amp_optim_wrapper_constructor')
    cfg = dict(type='AmpOptimWrapper', autocast_head=True,
               optimizer=dict(type='SGD', lr=0.1))
    monkeypatch.setattr(module, 'get_device', lambda: 'cpu')
    wrapper = CpuAmpOptimWrapperConstructor(dict(cfg))(torch.nn.Linear(2, 2))
    assert isinstance(wrapper, CpuAmpOptimWrapper) and wrapper.autocast_head
    monkeypatch.setattr(module, 'get_device', lambda: 'cuda')
    constructor = CpuAmpOptimWrapperConstructor(dict(cfg))
    assert constructor.optim_wrapper_cfg == dict(type='AmpOptimWrapper')
    assert constructor.optimizer_cfg == dict(type='SGD', lr=0.1)
