"""``mmpose_ext.models.utils.interpolate`` on CUDA: values and gradients
equal ``F.interpolate``'s, eager and compiled, contiguous and
channels-last."""
import functools

import pytest
import torch
import torch.nn.functional as F

from mmpose_ext.models.utils import interpolate

from .cuda_tier import CUDA_TIER

pytestmark = CUDA_TIER
SETTINGS = [('bilinear', False), ('bilinear', True), ('nearest', None)]


def _value_and_grad(resize, x, w, compiled):
    def fn(x):
        return (resize(x * 2 + 1) * w).sum()
    fn = torch.compile(fn) if compiled else fn
    x = x.detach().clone().requires_grad_(True)
    value = fn(x)
    value.backward()
    return value.detach(), x.grad


@pytest.mark.parametrize('channels_last', [False, True])
@pytest.mark.parametrize('compiled', [False, True])
@pytest.mark.parametrize('mode,align_corners', SETTINGS)
def test_interpolate_matches_f_interpolate(mode, align_corners, compiled,
                                           channels_last):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 8, 7, 9, generator=g).cuda()
    w = torch.randn(2, 8, 14, 17, generator=g).cuda()
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    size = (14, 17)
    ours = functools.partial(interpolate, size=size, mode=mode,
                             align_corners=align_corners)
    ref = functools.partial(F.interpolate, size=size, mode=mode,
                            align_corners=align_corners)
    value, grad = _value_and_grad(ours, x, w, compiled)
    ref_value, ref_grad = _value_and_grad(ref, x, w, False)
    assert grad.is_cuda and grad.shape == x.shape
    torch.testing.assert_close(value, ref_value, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(grad, ref_grad, rtol=1e-5, atol=1e-5)
