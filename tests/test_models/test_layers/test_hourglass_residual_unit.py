import pytest
import torch
import torch.nn.functional as F
from mmpose.registry import MODELS
from torch import nn

from .pre_act_reference import bn_relu, bottleneck_reference, randomize_norms


def build_hru(in_channels=8, out_channels=16):
    return MODELS.build(dict(type='HourglassResidualUnit',
                             in_channels=in_channels,
                             out_channels=out_channels))


def pool_reference(hru, x):
    """BN-ReLU -> 2x2 max-pool -> 3x3 conv -> BN-ReLU -> 3x3 conv -> nearest
    x2 upsampling, written out with functional ops."""
    bn, _, _, conv, unit = hru.pool_branch
    y = F.max_pool2d(bn_relu(x, bn), 2)
    y = F.conv2d(y, conv.weight, padding=1)
    y = F.conv2d(bn_relu(y, unit.norm), unit.conv.weight, padding=1)
    return y.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)


def zero_(*params):
    with torch.no_grad():
        for p in params:
            p.zero_()


@pytest.mark.parametrize('keep', ['conv', 'skip', 'pool'])
def test_each_branch_alone(keep):
    """Zero two branches; the output is the third, computed independently."""
    torch.manual_seed(0)
    hru = randomize_norms(build_hru()).eval()
    x = torch.randn(2, 8, 12, 10)
    expected = dict(
        conv=bottleneck_reference(hru, x),
        skip=F.conv2d(x, hru.skip.weight, hru.skip.bias),
        pool=pool_reference(hru, x))
    full = hru(x)
    torch.testing.assert_close(full, sum(expected.values()))
    zeroed = dict(conv=[hru.conv_branch[-1].conv.weight],
                  skip=[hru.skip.weight, hru.skip.bias],
                  pool=[hru.pool_branch[-1].conv.weight])
    zero_(*[p for name, ps in zeroed.items() if name != keep for p in ps])
    torch.testing.assert_close(hru(x), expected[keep])


def test_identity_skip_and_odd_sizes():
    hru = build_hru(16, 16)
    assert isinstance(hru.skip, nn.Identity)
    x = torch.randn(1, 16, 9, 7)
    assert hru(x).shape == (1, 16, 9, 7)
    # the side branch is upsampled back to the (odd) input size
    assert hru.forward_pool_branch(x).shape == (1, 16, 9, 7)


def test_larger_receptive_field_than_bottleneck():
    """One output pixel depends on a 3x3 input window through the
    bottleneck and on a wider one through the pooled branch."""
    def support(block):
        block.eval()  # batch statistics would mix every pixel
        x = torch.randn(1, 8, 16, 16, requires_grad=True)
        block(x)[0, :, 8, 8].sum().backward()
        rows = x.grad.abs().sum((0, 1, 3)).nonzero()
        return int(rows.max() - rows.min() + 1)

    plain = MODELS.build(dict(type='PreActBottleneck', in_channels=8,
                              out_channels=8))
    assert support(plain) == 3
    # coarse row 4 of the pooled grid, +-2 coarse rows after two 3x3 convs:
    # fine rows 4 .. 13
    assert support(build_hru(8, 8)) == 10


def test_registered_as_swappable_block():
    hru = MODELS.build(dict(type='HourglassResidualUnit', in_channels=4,
                            out_channels=4, norm_cfg=dict(type='GN',
                                                          num_groups=2)))
    assert isinstance(hru.pool_branch[0], nn.GroupNorm)


def smoke():
    """Registry smoke test (run by tests/test_registry.py)."""
    hru = build_hru(4, 8)
    out = hru(torch.rand(2, 4, 8, 8))
    assert out.shape == (2, 8, 8, 8)
    out.sum().backward()
    assert all(p.grad is not None for p in hru.parameters())
