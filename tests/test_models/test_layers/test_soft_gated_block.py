import pytest
import torch
import torch.nn.functional as F
from mmpose.registry import MODELS
from torch import nn

from mmpose_ext.models.layers import SoftGatedBlock

from .pre_act_reference import bn_relu, randomize_norms


def build(**kwargs):
    cfg = dict(type='SoftGatedBlock', in_channels=16, out_channels=16)
    cfg.update(kwargs)
    return randomize_norms(MODELS.build(cfg)).eval()


def conv_branch_reference(block, x):
    """cat(y1, y2, y3) of three pre-activation 3x3 convs, functional."""
    outs = []
    for unit, stride in zip((block.conv1, block.conv2, block.conv3),
                            (block.stride, 1, 1)):
        x = F.conv2d(bn_relu(x, unit.norm), unit.conv.weight, stride=stride,
                     padding=1)
        outs.append(x)
    return torch.cat(outs, dim=1)


@pytest.mark.parametrize('in_channels,out_channels,stride,size,out_size', [
    (16, 16, 1, (9, 7), (9, 7)),
    (8, 16, 1, (8, 8), (8, 8)),
    (16, 16, 2, (8, 8), (4, 4)),
    (8, 32, 2, (9, 7), (5, 4)),
])
def test_output_shapes(in_channels, out_channels, stride, size, out_size):
    for gate in ('channel', 'se'):
        block = build(in_channels=in_channels, out_channels=out_channels,
                      stride=stride, gate=gate)
        out = block(torch.rand(2, in_channels, *size))
        assert out.shape == (2, out_channels, *out_size)
        # N -> N/2 -> N/4 -> N/4, concatenated back to N
        assert [u.conv.out_channels for u in (
            block.conv1, block.conv2, block.conv3)] == [
                out_channels // 2, out_channels // 4, out_channels // 4]
        projects = in_channels != out_channels or stride != 1
        assert isinstance(block.skip, nn.Conv2d) == projects


def test_alpha_zero_is_the_conv_branch_alone():
    torch.manual_seed(0)
    x = torch.randn(2, 16, 8, 6)
    block = build(init_alpha=0.)
    with torch.no_grad():
        torch.testing.assert_close(block(x), conv_branch_reference(block, x))


def test_alpha_one_adds_the_identity():
    torch.manual_seed(0)
    x = torch.randn(2, 16, 8, 6)
    block = build(init_alpha=1.)
    assert isinstance(block.skip, nn.Identity)
    with torch.no_grad():
        torch.testing.assert_close(block(x),
                                   conv_branch_reference(block, x) + x)


def test_per_channel_gate_scales_each_channel():
    torch.manual_seed(0)
    x = torch.randn(1, 16, 5, 5)
    block = build(in_channels=8, stride=2)
    alpha = torch.rand(1, 16, 1, 1)
    with torch.no_grad():
        block.alpha.copy_(alpha)
        skip = F.conv2d(x[:, :8], block.skip.weight, block.skip.bias,
                        stride=2)
        torch.testing.assert_close(
            block(x[:, :8]),
            conv_branch_reference(block, x[:, :8]) + alpha * skip)


def test_se_gate_lies_in_unit_interval_and_depends_on_input():
    torch.manual_seed(0)
    block = build(gate='se')
    assert block.alpha is None
    x = torch.randn(3, 16, 6, 6) * 10
    with torch.no_grad():
        alpha = block.gate_values(block.skip(x))
        assert alpha.shape == (3, 16, 1, 1)
        assert alpha.min() >= 0 and alpha.max() <= 1
        assert not torch.allclose(alpha[0], alpha[1])
        torch.testing.assert_close(
            block(x), conv_branch_reference(block, x) + alpha * x)


@pytest.mark.parametrize('gate', ['channel', 'se'])
def test_gradients_reach_the_gate(gate):
    block = build(gate=gate).train()
    block(torch.randn(2, 16, 6, 6)).pow(2).sum().backward()
    missing = [n for n, p in block.named_parameters() if p.grad is None]
    assert not missing, missing
    if gate == 'channel':
        assert block.alpha.grad.abs().sum() > 0


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match='multiple of 4'):
        SoftGatedBlock(8, 18)
    with pytest.raises(ValueError, match="gate='sigmoid'"):
        SoftGatedBlock(8, 16, gate='sigmoid')
    with pytest.raises(ValueError, match='stride'):
        SoftGatedBlock(8, 16, stride=0)


def smoke():
    """Registry smoke test (run by tests/test_registry.py)."""
    for gate in ('channel', 'se'):
        block = MODELS.build(dict(type='SoftGatedBlock', in_channels=4,
                                  out_channels=8, gate=gate))
        out = block(torch.rand(2, 4, 8, 8))
        assert out.shape == (2, 8, 8, 8)
        out.sum().backward()
        assert all(p.grad is not None for p in block.parameters())


def autocast_dtypes():
    """The half dtypes this PyTorch's CPU autocast supports."""
    dtypes = []
    for dtype in (torch.bfloat16, torch.float16):
        with torch.autocast('cpu', dtype=dtype):
            if F.linear(torch.ones(1, 1), torch.ones(1, 1)).dtype == dtype:
                dtypes.append(dtype)
    return dtypes


@pytest.mark.parametrize('dtype', autocast_dtypes())
@pytest.mark.parametrize('gate, in_channels', [('channel', 16),
                                               ('channel', 8), ('se', 16)])
def test_output_keeps_the_autocast_dtype(dtype, gate, in_channels):
    """The float32 gate (and a float32 identity skip) must not promote the
    block's output: every block after it would run in float32."""
    block = build(in_channels=in_channels, out_channels=16, gate=gate)
    x = torch.randn(2, in_channels, 8, 8)
    with torch.autocast('cpu', dtype=dtype):
        out = block(x)
        assert out.dtype == dtype
        assert block(out).dtype == dtype if in_channels == 16 else True
    torch.testing.assert_close(out.float(), block(x), atol=0.1, rtol=0.05)
