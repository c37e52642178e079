"""Tests of CrossStageAggregation: per-scale skips and the next input."""
import pytest
import torch
import torch.nn.functional as F
from mmpose.registry import MODELS

from mmpose_ext.models.layers import CrossStageAggregation

IN_CHANNELS = (8, 16, 32, 64)
UNIT, OUT = 12, 6
SIZES = ((16, 12), (8, 6), (4, 3), (2, 2))  # finest first


def build(**kwargs):
    cfg = dict(type='CrossStageAggregation', in_channels=IN_CHANNELS,
               unit_channels=UNIT, out_channels=OUT)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def features(batch=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    down = [torch.randn(batch, c, *s, generator=g)
            for c, s in zip(IN_CHANNELS, SIZES)]
    up = [torch.randn(batch, UNIT, *s, generator=g) for s in SIZES]
    return down, up


def randomize_bn(module, seed=1):
    """Non-trivial eval-mode statistics and affine parameters."""
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g))
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.randn(n, generator=g))
            m.bias.data.copy_(torch.randn(n, generator=g))


def conv_bn_relu(conv_module, x):
    """conv1x1 + BN (eval) + ReLU from the raw parameters."""
    conv, bn = conv_module.conv, conv_module.bn
    assert conv.bias is None  # conv + BN: no conv bias, as in MSPN
    y = F.conv2d(x, conv.weight)
    y = F.batch_norm(y, bn.running_mean, bn.running_var, bn.weight, bn.bias,
                     training=False, eps=bn.eps)
    return y.clamp(min=0)


def test_shapes_and_default_layout():
    agg = build()
    skips, next_input = agg(*features())
    assert [tuple(s.shape) for s in skips] == [
        (2, c, *s) for c, s in zip(IN_CHANNELS, SIZES)]
    assert next_input.shape == (2, OUT, *SIZES[0])

    default = CrossStageAggregation()  # ResNet-50 widths, 256 -> 64
    assert [(m.conv.in_channels, m.conv.out_channels)
            for m in default.down_convs] == [(c, c) for c in
                                             (256, 512, 1024, 2048)]
    assert [(m.conv.in_channels, m.conv.out_channels)
            for m in default.up_convs] == [(256, c) for c in
                                           (256, 512, 1024, 2048)]
    cross = default.cross_conv
    assert (cross.conv.in_channels, cross.conv.out_channels) == (256, 64)
    assert cross.conv.kernel_size == (1, 1)


def test_skip_is_sum_of_both_conv_bn_relu_branches():
    """Recomputed from the raw weights with random BN statistics."""
    agg = build().eval()
    randomize_bn(agg)
    down, up = features()
    with torch.no_grad():
        skips, next_input = agg(down, up)
        for i in range(len(IN_CHANNELS)):
            expected = (conv_bn_relu(agg.down_convs[i], down[i]) +
                        conv_bn_relu(agg.up_convs[i], up[i]))
            torch.testing.assert_close(skips[i], expected)
        torch.testing.assert_close(next_input,
                                   conv_bn_relu(agg.cross_conv, up[0]))


def test_zeroing_the_previous_stage_features():
    """Each scale's skip gets both features: zeroing both gives zero (no
    aggregation), either one alone gives a non-zero skip that changes
    with it, and the two contributions add up."""
    agg = build().eval()  # default BN statistics: a zero input maps to 0
    down, up = features()
    zeros = [torch.zeros_like(t) for t in down], [
        torch.zeros_like(t) for t in up]
    with torch.no_grad():
        both, _ = agg(down, up)
        none, _ = agg(*zeros)
        only_down, _ = agg(down, zeros[1])
        only_up, _ = agg(zeros[0], up)
        other_down, _ = agg([2 * t for t in down], zeros[1])
        other_up, _ = agg(zeros[0], [2 * t for t in up])
    for i in range(len(IN_CHANNELS)):
        assert not none[i].any(), f'scale {i}: zero features, non-zero skip'
        assert only_down[i].abs().sum() > 0, f'scale {i} ignores down'
        assert only_up[i].abs().sum() > 0, f'scale {i} ignores up'
        assert not torch.allclose(other_down[i], only_down[i])
        assert not torch.allclose(other_up[i], only_up[i])
        torch.testing.assert_close(both[i], only_down[i] + only_up[i])


def test_next_input_reads_only_the_finest_up_feature():
    agg = build().eval()
    down, up = features()
    with torch.no_grad():
        _, ref = agg(down, up)
        _, same = agg([torch.zeros_like(t) for t in down],
                      up[:1] + [torch.zeros_like(t) for t in up[1:]])
        _, changed = agg(down, [2 * up[0]] + up[1:])
    torch.testing.assert_close(same, ref)
    assert not torch.allclose(changed, ref)


def test_without_skips_only_the_next_input_is_kept():
    """with_skips=False (the MSPN ablation's "no aggregation"): no skip
    convs, skips=None, the same next input as the full module's."""
    full = build().eval()
    bare = build(with_skips=False).eval()
    assert bare.down_convs is None and bare.up_convs is None
    bare.load_state_dict(full.state_dict(), strict=False)
    assert sum(p.numel() for p in bare.parameters()) == sum(
        p.numel() for p in full.cross_conv.parameters())
    down, up = features()
    with torch.no_grad():
        skips, next_input = bare(down, up)
        torch.testing.assert_close(next_input, full(down, up)[1])
    assert skips is None
    with pytest.raises(ValueError, match='with_skips must be a bool'):
        build(with_skips='no')


def test_errors_name_the_problem():
    agg = build()
    down, up = features()
    with pytest.raises(ValueError, match='expected 4 down- and up-sampling'):
        agg(down[:3], up[:3])
    with pytest.raises(ValueError, match='finest first'):
        agg(down, up[::-1])  # coarse-to-fine order of the up path
    with pytest.raises(ValueError, match='in_channels'):
        build(in_channels=(8, 0))
    with pytest.raises(ValueError, match='unit_channels'):
        build(unit_channels=0)


def smoke():
    """Registry smoke test (run by tests/test_registry.py)."""
    agg = build()
    down, up = features()
    for t in down + up:
        t.requires_grad_(True)
    skips, next_input = agg(down, up)
    assert next_input.shape == (2, OUT, *SIZES[0])
    (sum(s.sum() for s in skips) + next_input.sum()).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0
               for p in agg.parameters())
    assert all(t.grad is not None for t in down + up)
