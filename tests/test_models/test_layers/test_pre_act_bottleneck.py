import pytest
import torch
import torch.nn.functional as F
from mmpose.registry import MODELS
from torch import nn


def randomize_norms(module):
    """Random BN affine parameters and running statistics."""
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)
    return module


def bn_relu(x, bn):
    return F.relu(
        F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias,
                     training=False, eps=bn.eps))


def bottleneck_reference(block, x):
    """BN-ReLU-conv1x1 -> BN-ReLU-conv3x3 -> BN-ReLU-conv1x1, functional."""
    for unit, padding in zip(block.conv_branch, (0, 1, 0)):
        x = F.conv2d(bn_relu(x, unit.norm), unit.conv.weight, padding=padding)
    return x


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
