import pytest
import torch
from mmpose.registry import MODELS
from torch import nn

from mmpose_ext.models.backbones.soft_gated_hourglass_net import (
    SoftGatedHourglassModule,
)
from mmpose_ext.models.layers import PreActBottleneck, SoftGatedBlock

CODEC = dict(type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(16, 16),
             sigma=2)
# 2 stacks, 32 features, 2 poolings: 64x64 input -> 16x16 heatmaps
TINY = dict(type='SoftGatedHourglassNet', num_keypoints=17, num_stacks=2,
            feat_channels=32, num_poolings=2,
            stem_block_channels=((8, 16), (16, )))


def build(**kwargs):
    cfg = dict(TINY)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def levels(hourglass):
    """The nested hourglass levels, top first."""
    out = [hourglass]
    while isinstance(out[-1].inner, SoftGatedHourglassModule):
        out.append(out[-1].inner)
    return out


def test_default_model_4_stacks_of_144_at_256():
    with torch.device('meta'):
        net = MODELS.build(dict(type='SoftGatedHourglassNet')).eval()
        with torch.no_grad():
            outs = net(torch.empty(1, 3, 256, 256))
    assert [tuple(o.shape) for o in outs] == [(1, 17, 64, 64)] * 4
    assert net.feat_channels == 144 and len(net.hourglasses) == 4
    conv = net.stem[0].conv
    assert (conv.kernel_size, conv.stride) == ((7, 7), (2, 2))
    # every block of the network is soft-gated
    assert not any(isinstance(m, PreActBottleneck) for m in net.modules())
    blocks = [m for m in net.modules() if isinstance(m, SoftGatedBlock)]
    # stem 4; per hourglass level: skip, down, fuse block (+1 at bottom)
    assert len(blocks) == 4 + 4 * (3 * 4 + 1)
    for hourglass in net.hourglasses:
        assert len(levels(hourglass)) == 4
        for level in levels(hourglass):
            conv = level.fuse.conv
            assert (conv.in_channels, conv.out_channels,
                    conv.kernel_size) == (288, 144, (3, 3))


def test_hybrid_decoder_concatenates_skip_and_upsampled_path():
    torch.manual_seed(0)
    net = build().eval()
    top = net.hourglasses[0]
    seen = {}
    top.skip_branch.register_forward_hook(
        lambda m, a, out: seen.__setitem__('skip', out))
    top.inner.register_forward_hook(
        lambda m, a, out: seen.__setitem__('inner', out))
    top.fuse.register_forward_hook(
        lambda m, a, out: seen.__setitem__('fuse', (a[0], out)))
    with torch.no_grad():
        net(torch.rand(2, 3, 64, 64))
    fuse_in, fuse_out = seen['fuse']
    assert fuse_in.shape == (2, 64, 16, 16) and fuse_out.shape == (2, 32,
                                                                   16, 16)
    torch.testing.assert_close(fuse_in[:, :32], seen['skip'])
    up = nn.functional.interpolate(seen['inner'][0], scale_factor=2,
                                   mode='nearest')
    torch.testing.assert_close(fuse_in[:, 32:], up)


@pytest.mark.parametrize('num_stacks', [1, 3])
def test_one_heatmap_set_per_stack(num_stacks):
    net = build(num_stacks=num_stacks)
    outs = net(torch.rand(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 17, 16, 16)] * num_stacks


def test_cheaper_1x1_fusion():
    net = build(fuse_kernel_size=1)
    assert all(level.fuse.conv.kernel_size == (1, 1)
               for level in levels(net.hourglasses[0]))
    assert sum(p.numel() for p in net.parameters()) < sum(
        p.numel() for p in build().parameters())
    outs = net(torch.rand(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 17, 16, 16)] * 2


def test_se_gate_through_config():
    net = build(block=dict(type='SoftGatedBlock', gate='se'))
    gates = {m.gate for m in net.modules() if isinstance(m, SoftGatedBlock)}
    assert gates == {'se'}
    assert len(net(torch.rand(1, 3, 64, 64))) == 2


def test_block_swaps_into_the_hru_backbone_through_config():
    """Issue 7's mixing: SoftGatedBlock replaces both block kinds of the
    MCA backbone by config alone."""
    net = MODELS.build(dict(
        type='HRUHourglassNet', num_keypoints=17, num_stacks=2,
        feat_channels=32, num_poolings=2,
        stem_block_channels=((8, ), (16, ), (32, )),
        num_skip_blocks=(1, 0),
        block=dict(type='SoftGatedBlock'),
        skip_block=dict(type='SoftGatedBlock', gate='se'),
        attention=dict(type='MultiContextAttention', kernel_size=3)))
    assert not any(isinstance(m, PreActBottleneck) for m in net.modules())
    assert net.hourglasses[0].skip_branch[1].gate == 'se'
    outs = net(torch.rand(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 17, 16, 16)] * 2


def test_trains_in_topdown_pose_estimator(topdown_batch):
    """Every parameter receives a gradient and the loss falls on a fixed
    pipeline-packed batch with the multi-stage head; flip-test predict
    runs. (That it learns to localise is checked on the synthetic config
    below: a falling loss alone was met by a model stuck on empty
    heatmaps.)"""
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='TopdownPoseEstimator',
        data_preprocessor=dict(type='PoseDataPreprocessor'),
        backbone=TINY,
        head=dict(type='MultiStageHeatmapHead', in_channels=17,
                  out_channels=17, num_stages=2, heatmap_inputs=True,
                  decoder=CODEC),
        test_cfg=dict(flip_test=True, shift_heatmap=True)))
    batch = model.data_preprocessor(
        topdown_batch(CODEC, input_size=(64, 64), batch_size=4),
        training=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    history = []
    for step in range(8):
        losses = model(**batch, mode='loss')
        loss = sum(v for k, v in losses.items() if k.startswith('loss'))
        optimizer.zero_grad()
        loss.backward()
        if step == 0:
            missing = [n for n, p in model.named_parameters()
                       if p.grad is None]
            assert not missing, missing
        optimizer.step()
        history.append(loss.item())
    assert history[-1] < 0.9 * history[0], history
    model.eval()
    with torch.no_grad():
        results = model(**model.data_preprocessor(
            topdown_batch(None, input_size=(64, 64))), mode='predict')
    assert results[0].pred_instances.keypoints.shape == (1, 17, 2)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match='num_stacks'):
        build(num_stacks=0)
    with pytest.raises(ValueError, match='multiple of 4'):
        build(feat_channels=30)
    with pytest.raises(ValueError, match='fuse_kernel_size'):
        build(fuse_kernel_size=2)


def smoke():
    """Registry smoke test (run by tests/test_registry.py)."""
    # stride-2 stem conv and one max-pool: 32x32 -> 8x8 heatmaps
    net = build(num_keypoints=5, feat_channels=16,
                stem_block_channels=((8, ), (16, )))
    outs = net(torch.rand(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(2, 5, 8, 8)] * 2
    sum(o.pow(2).sum() for o in outs).backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None]
    assert not missing, missing


@pytest.mark.slow
def test_synthetic_config_localises_a_fixed_batch(fit_config_on_batch):
    """The synthetic soft-gated config learns to localise (not only to
    lower its loss towards empty heatmaps) on one fixed batch."""
    accs = fit_config_on_batch(
        'configs/soft_gated/td-hm_sg-hourglass_synthetic-coco-128x96.py',
        steps=30)
    assert accs[0] < 0.2
    assert max(accs[-3:]) > 0.5, accs
