import pytest
import torch
import torch.nn.functional as F
from torch.profiler import profile

from mmpose_ext.models.utils import MaxPool2d, max_pool2d

# (kernel, stride, padding, ceil_mode): the hourglass pool, MSPN's stem,
# and a ceil-mode window that overhangs the input
SETTINGS = [(2, 2, 0, False), (3, 2, 1, False), (3, 2, 0, True)]


@pytest.fixture(autouse=True)
def fresh_dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def _run(pool, x, w, autocast):
    x = x.clone().requires_grad_()
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
        y = pool(x * 2 + 1)
    (y.float() * w).sum().backward()
    return y, x.grad


@pytest.mark.parametrize('autocast', [False, True])
@pytest.mark.parametrize('channels_last', [False, True])
@pytest.mark.parametrize('k, s, p, ceil', SETTINGS)
def test_compiled_matches_eager_values_and_gradients(k, s, p, ceil,
                                                     channels_last,
                                                     autocast):
    """Compiled with a gradient, the custom operator gives F.max_pool2d's
    values, dtype, layout and gradients; the backward runs ATen's kernel,
    where plain F.max_pool2d compiled does not."""
    torch.manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    dtype = torch.bfloat16 if autocast else torch.float32
    x = torch.randn(2, 5, 9, 7).to(dtype).to(memory_format=fmt)
    w = torch.randn(*F.max_pool2d(x.float(), k, s, p, ceil_mode=ceil).shape)
    ref_y, ref_grad = _run(lambda t: F.max_pool2d(t, k, s, p, ceil_mode=ceil),
                           x, w, autocast)
    compiled = torch.compile(lambda t: max_pool2d(t, k, s, p, ceil) + 0)
    y, grad = _run(compiled, x, w, autocast)
    assert y.dtype == ref_y.dtype == dtype
    assert y.is_contiguous(memory_format=fmt)
    torch.testing.assert_close(y, ref_y)
    torch.testing.assert_close(grad, ref_grad)
    with profile() as prof:
        _run(compiled, x, w, autocast)
    names = {e.name for e in prof.events()}
    assert 'aten::max_pool2d_with_indices_backward' in names
    plain = torch.compile(lambda t: F.max_pool2d(t, k, s, p, ceil_mode=ceil))
    _run(plain, x, w, autocast)
    with profile() as prof:
        _run(plain, x, w, autocast)
    assert 'aten::max_pool2d_with_indices_backward' not in {
        e.name for e in prof.events()}


def test_eager_and_no_gradient_are_f_max_pool2d():
    x = torch.randn(1, 2, 6, 6)
    pool = MaxPool2d(2)
    assert torch.equal(pool(x), F.max_pool2d(x, 2))
    fn = torch.compile(lambda t: max_pool2d(t * 2, 3, 2, 1) + 1)
    with torch.no_grad(), profile() as prof:
        out = fn(x)
    assert 'mmpose_ext::max_pool2d' not in {e.name for e in prof.events()}
    torch.testing.assert_close(out, F.max_pool2d(x * 2, 3, 2, 1) + 1)


def test_module_keeps_nn_max_pool_state():
    pool = MaxPool2d(kernel_size=3, stride=2, padding=1)
    assert isinstance(pool, torch.nn.MaxPool2d)
    assert (pool.kernel_size, pool.stride, pool.padding) == (3, 2, 1)
    assert pool.state_dict() == {}
