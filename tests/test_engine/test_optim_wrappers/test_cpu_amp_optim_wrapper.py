"""bfloat16 mixed precision on the CPU for the package's model families."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmpose.registry import MODELS, OPTIM_WRAPPERS

from mmpose_ext.engine import CpuAmpOptimWrapper

ROOT = Path(__file__).resolve().parents[3]
# The configs' architectures at a fraction of their width (fast on a CPU).
FAMILIES = {
    'resnet': ('configs/synthetic/td-hm_res18_synthetic-coco-128x96.py',
               dict(backbone=dict(base_channels=8, stem_channels=16),
                    head=dict(in_channels=64,
                              deconv_out_channels=(16, 16, 16)))),
    'hrnet': ('configs/hrnet/td-hm_hrnet-w32_ohkm_synthetic-coco-128x96.py',
              dict(backbone=dict(extra=dict(
                  stage1=dict(num_channels=(16, )),
                  stage2=dict(num_channels=(8, 16)),
                  stage3=dict(num_modules=1, num_channels=(8, 16, 32)),
                  stage4=dict(num_modules=1,
                              num_channels=(8, 16, 32, 64)))),
                   head=dict(in_channels=8))),
}


def smoke():
    """Built from its registered name, a step runs a linear model's forward
    in bfloat16 and updates its float32 weights."""
    model = torch.nn.Linear(4, 2)
    wrapper = OPTIM_WRAPPERS.build(dict(
        type='CpuAmpOptimWrapper',
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))
    before = model.weight.detach().clone()
    with wrapper.optim_context(model):
        out = model(torch.randn(3, 4))
    assert out.dtype == torch.bfloat16  # no backbone: all under autocast
    wrapper.update_params(out.float().pow(2).mean())
    assert model.weight.dtype == torch.float32
    assert not torch.equal(model.weight, before)


def test_smoke():
    smoke()


def test_an_instance_forward_is_autocast_and_restored():
    """A backbone whose ``forward`` someone shadowed runs that forward
    under autocast (float32 output for the head) and gets it back."""
    model = torch.nn.Module()
    model.backbone = torch.nn.Linear(4, 4)
    seen = []

    def own_forward(x):
        out = torch.nn.Linear.forward(model.backbone, x)
        seen.append(out.dtype)
        return out

    model.backbone.forward = own_forward
    wrapper = CpuAmpOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    for _ in range(2):
        with wrapper.optim_context(model):
            out = model.backbone(torch.randn(3, 4))
        assert out.dtype == torch.float32
        assert model.backbone.forward is own_forward
    assert seen == [torch.bfloat16] * 2
    assert len(wrapper._autocast_forwards) == 1  # made once, reused


def test_options_and_state():
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match='use_fsdp'):
        CpuAmpOptimWrapper(use_fsdp=True, optimizer=optimizer)
    with pytest.raises(ValueError, match='dtype'):
        CpuAmpOptimWrapper(dtype='float64', optimizer=optimizer)
    wrapper = CpuAmpOptimWrapper(dtype=torch.float16, optimizer=optimizer)
    assert wrapper.cast_dtype == torch.bfloat16
    state = wrapper.state_dict()
    assert 'loss_scaler' not in state
    # a GPU AmpOptimWrapper checkpoint's scaler state is dropped on load
    wrapper.load_state_dict(dict(state, loss_scaler={'scale': 65536.0}))


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_bfloat16_training_steps_are_finite(family, topdown_batch,
                                            one_thread):
    config, shrink = FAMILIES[family]
    cfg = Config.fromfile(ROOT / config)
    cfg.merge_from_dict(dict(model=shrink))
    model = MODELS.build(cfg.model)
    # 'float16' (a GPU config) becomes bfloat16, the CPU autocast dtype
    wrapper = CpuAmpOptimWrapper(
        dtype='float16',
        optimizer=torch.optim.Adam(model.parameters(), lr=1e-3))
    dtypes, head_dtypes = [], []
    backbone_conv = [m for m in model.backbone.modules()
                     if isinstance(m, torch.nn.Conv2d)][-1]
    backbone_conv.register_forward_hook(
        lambda module, args, out: dtypes.append(out.dtype))
    head_conv = [m for m in model.head.modules()
                 if isinstance(m, torch.nn.Conv2d)][-1]
    head_conv.register_forward_hook(
        lambda module, args, out: head_dtypes.append(out.dtype))
    batch = topdown_batch(
        cfg.model.head.decoder, input_size=(96, 128), batch_size=2,
        use_dataset_keypoint_weights=family == 'hrnet')
    for _ in range(2):
        log_vars = model.train_step(batch, wrapper)
        losses = {k: float(v) for k, v in log_vars.items() if 'loss' in k}
        assert losses and all(torch.isfinite(torch.tensor(list(
            losses.values())))), losses
    assert dtypes == [torch.bfloat16] * 2  # the backbone ran in bfloat16
    assert 'forward' not in vars(model.backbone)  # the class's forward again
    # ... and the head in float32 (MMPose's head's loss needs it)
    assert head_dtypes and set(head_dtypes) == {torch.float32}
    for param in model.parameters():
        assert param.dtype == torch.float32
        assert param.grad is None or torch.isfinite(param.grad).all()


def test_native_bfloat16_from_cpu_flags(tmp_path):
    from mmpose_ext.engine.optim_wrappers import cpu_amp_optim_wrapper as m
    cases = {
        'flags\t\t: fpu sse avx2 avx512f avx512_bf16\n': True,
        'flags\t\t: fpu amx_bf16 amx_tile\n': True,
        'flags\t\t: fpu sse avx2 fma\n': False,  # emulated bfloat16
        'Features\t: fp asimd bf16 i8mm\n': True,  # Arm
        'Features\t: fp asimd\n': False,
        'processor\t: 0\n': False,
    }
    for i, (text, native) in enumerate(cases.items()):
        path = tmp_path / f'cpuinfo{i}'
        path.write_text('processor\t: 0\n' + text)
        assert m.native_bfloat16(str(path)) is native, text
    assert m.native_bfloat16(str(tmp_path / 'missing')) is False


def test_falls_back_to_float32_without_native_bfloat16(monkeypatch,
                                                      caplog):
    """Simulated: on a CPU without native bfloat16 the wrapper trains in
    float32 (the model's forward is not autocast), with one warning naming
    the reason; ``native_only=False`` autocasts anyway."""
    from mmpose_ext.engine.optim_wrappers import cpu_amp_optim_wrapper as m
    monkeypatch.delenv(m.FORCE_ENV, raising=False)
    monkeypatch.setattr(m, 'native_bfloat16', lambda: False)
    model = torch.nn.Linear(4, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    from mmengine.logging import MMLogger
    logger = MMLogger.get_instance('bf16-fallback')
    with caplog.at_level('WARNING'):
        logger.propagate = True
        wrapper = CpuAmpOptimWrapper(optimizer=optimizer)
    assert wrapper.cast_dtype is None
    with wrapper.optim_context(model):
        assert model(torch.randn(3, 4)).dtype == torch.float32
    forced = CpuAmpOptimWrapper(optimizer=optimizer, native_only=False)
    with forced.optim_context(model):
        assert model(torch.randn(3, 4)).dtype == torch.bfloat16
    monkeypatch.setenv(m.FORCE_ENV, '1')
    assert CpuAmpOptimWrapper(optimizer=optimizer).cast_dtype == (
        torch.bfloat16)


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_bfloat16_loss_matches_float32_loss(family, topdown_batch,
                                            one_thread):
    """The loss of one batch under the wrapper's bfloat16 autocast is the
    float32 loss of the same weights within 2 %: bfloat16 keeps 8
    significant bits (0.4 % per rounding); measured 0.01-0.05 % for the
    ResNet, 0.4-0.9 % for the HRNet with OHKM (its top-k selection
    amplifies). It is not the float32 loss itself (autocast took
    effect)."""
    torch.manual_seed(0)
    config, shrink = FAMILIES[family]
    cfg = Config.fromfile(ROOT / config)
    cfg.merge_from_dict(dict(model=shrink))
    model = MODELS.build(cfg.model).train()
    wrapper = CpuAmpOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    batch = topdown_batch(
        cfg.model.head.decoder, input_size=(96, 128), batch_size=2,
        use_dataset_keypoint_weights=family == 'hrnet')
    data = model.data_preprocessor(batch, True)
    with torch.no_grad():  # train-mode BN: batch statistics both times
        full = model(**data, mode='loss')['loss_kpt']
        with wrapper.optim_context(model):
            mixed = model(**data, mode='loss')['loss_kpt']
    assert full.dtype == mixed.dtype == torch.float32
    assert float(mixed) == pytest.approx(float(full), rel=2e-2)
    assert float(mixed) != float(full)


@pytest.mark.parametrize('config', [
    'configs/synthetic/td-hm_res18_synthetic-coco-128x96.py',
    'configs/cpn/cpn_res18_synthetic-coco-128x96.py'])
def test_autocast_head_runs_the_head_network_in_bfloat16(
        config, topdown_batch, one_thread):
    """With ``autocast_head`` the head's convolutions run in bfloat16, its
    loss gets float32 outputs (MMPose's numpy accuracy would fail on
    bfloat16) and is the float32 loss within 2 % (as above) but not
    equal to it; every head parameter gets a finite gradient and the
    head's class ``forward`` is back afterwards. Without it the head's
    convolutions run in float32."""
    torch.manual_seed(0)
    cfg = Config.fromfile(ROOT / config)
    model = MODELS.build(cfg.model).train()
    batch = topdown_batch(cfg.model.head.decoder, input_size=(96, 128),
                          batch_size=2)
    data = model.data_preprocessor(batch, True)
    seen = []
    for conv in model.head.modules():
        if isinstance(conv, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            conv.register_forward_hook(
                lambda module, args, out: seen.append(out.dtype))
    def total(losses):
        return sum(v for k, v in losses.items() if k.startswith('loss'))

    with torch.no_grad():
        full = total(model(**data, mode='loss'))
    for autocast_head, dtype in ((False, torch.float32),
                                 (True, torch.bfloat16)):
        seen.clear()
        model.zero_grad()
        wrapper = CpuAmpOptimWrapper(
            autocast_head=autocast_head,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
        with wrapper.optim_context(model):
            losses = model(**data, mode='loss')
        assert seen and set(seen) == {dtype}
        assert 'forward' not in vars(model.head)
        mixed = total(losses)
        assert mixed.dtype == torch.float32
        assert float(mixed) == pytest.approx(float(full), rel=2e-2)
        assert float(mixed) != float(full)
        mixed.backward()
        for name, param in model.head.named_parameters():
            assert param.grad is not None and torch.isfinite(
                param.grad).all(), name
