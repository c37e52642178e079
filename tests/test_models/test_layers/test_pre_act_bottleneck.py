import pytest
import torch
import torch.nn.functional as F
from mmpose.registry import MODELS
from torch import nn

from .pre_act_reference import bottleneck_reference, randomize_norms


@pytest.mark.parametrize('in_channels,out_channels', [(16, 16), (8, 16)])
def test_matches_functional_reference(in_channels, out_channels):
    torch.manual_seed(0)
    block = randomize_norms(MODELS.build(dict(
        type='PreActBottleneck', in_channels=in_channels,
        out_channels=out_channels))).eval()
    x = torch.randn(2, in_channels, 7, 9)
    if in_channels == out_channels:
        assert isinstance(block.skip, nn.Identity)
        skip = x
    else:
        skip = F.conv2d(x, block.skip.weight, block.skip.bias)
    torch.testing.assert_close(block(x), bottleneck_reference(block, x) +
                               skip)
    # N -> N/2 -> N/2 -> N
    widths = [u.conv.out_channels for u in block.conv_branch]
    assert widths == [out_channels // 2, out_channels // 2, out_channels]


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match='mid_channels'):
        MODELS.build(dict(type='PreActBottleneck', in_channels=4,
                          out_channels=1))


def smoke():
    """Registry smoke test (run by tests/test_registry.py)."""
    block = MODELS.build(dict(type='PreActBottleneck', in_channels=4,
                              out_channels=8))
    out = block(torch.rand(2, 4, 8, 8))
    assert out.shape == (2, 8, 8, 8)
    out.sum().backward()
    assert all(p.grad is not None for p in block.parameters())
