import pytest
import torch
import torch.nn.functional as F
from torch.profiler import profile

from mmpose_ext.models.utils import bilinear_resize


def _resize_then_scale(resize):
    """A small graph around the resize: the gradient must flow through it
    into a parameter-free product with a fixed weight map."""
    def fn(x, w):
        return (resize(x * 2 + 1) * w).sum()
    return fn


def _eager_reference(x, size, align_corners):
    return F.interpolate(x, size=size, mode='bilinear',
                         align_corners=align_corners)


def _ops_run(fn, *args):
    with profile() as prof:
        fn(*args).backward()
    return {e.name for e in prof.events()}


@pytest.mark.parametrize('channels_last', [False, True])
@pytest.mark.parametrize('align_corners', [False, True])
def test_compiled_matches_eager_values_and_gradients(channels_last,
                                                     align_corners):
    torch.manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(2, 5, 6, 4).to(memory_format=fmt)
    size = (11, 9)
    w = torch.randn(2, 5, *size)

    x_ref = x.clone().requires_grad_()
    ref = _resize_then_scale(
        lambda t: _eager_reference(t, size, align_corners))(x_ref, w)
    ref.backward()

    x_new = x.clone().requires_grad_()
    compiled = torch.compile(_resize_then_scale(
        lambda t: bilinear_resize(t, size, align_corners)), fullgraph=True)
    out = compiled(x_new, w)
    out.backward()
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(x_new.grad, x_ref.grad, rtol=1e-5, atol=1e-5)


def test_compiled_output_layout_follows_input():
    x = torch.randn(1, 3, 4, 4).to(
        memory_format=torch.channels_last).requires_grad_()
    y = torch.compile(lambda t: bilinear_resize(t, (8, 8), False) + 0)(x)
    assert y.shape == (1, 3, 8, 8)
    assert y.is_contiguous(memory_format=torch.channels_last)


def test_compiled_backward_runs_aten_kernel():
    """The point of the custom operator: with it the compiled backward
    calls ATen's upsample_bilinear2d_backward; plain F.interpolate is
    decomposed by the compiler and does not."""
    x = torch.randn(2, 4, 6, 5, requires_grad=True)
    w = torch.randn(2, 4, 12, 10)
    ours = torch.compile(_resize_then_scale(
        lambda t: bilinear_resize(t, (12, 10), True)))
    plain = torch.compile(_resize_then_scale(
        lambda t: _eager_reference(t, (12, 10), True)))
    ours(x, w).backward()  # compile outside the profiled run
    plain(x, w).backward()
    assert 'aten::upsample_bilinear2d_backward' in _ops_run(ours, x, w)
    assert 'aten::upsample_bilinear2d_backward' not in _ops_run(plain, x, w)


def test_eager_is_interpolate():
    x = torch.randn(1, 2, 3, 3)
    assert torch.equal(bilinear_resize(x, (5, 7), True),
                       _eager_reference(x, (5, 7), True))


def test_compiled_under_autocast_keeps_eager_dtype():
    x = torch.randn(1, 2, 4, 4, dtype=torch.bfloat16, requires_grad=True)
    fn = torch.compile(lambda t: bilinear_resize(t, (8, 8), False))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        expected = _eager_reference(x, (8, 8), False)
        got = fn(x)
    assert got.dtype == expected.dtype
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize('shape, size, match', [
    ((2, 3, 4), (8, 8), r'\[B, C, H, W\]'),
    ((1, 2, 3, 3), (8, 8, 8), r'size must be \(h, w\)'),
])
def test_bad_input(shape, size, match):
    with pytest.raises(ValueError, match=match):
        bilinear_resize(torch.zeros(shape), size, False)


def test_compiled_without_gradient_keeps_the_fusable_decomposition():
    """In inference the compiler's own decomposition is kept (it fuses
    with its neighbours): neither the custom operator nor ATen's kernel
    runs."""
    x = torch.randn(2, 4, 6, 5)
    fn = torch.compile(lambda t: bilinear_resize(t * 2, (12, 10), True) + 1)
    with torch.no_grad():
        fn(x)
        with profile() as prof:
            out = fn(x)
    names = {e.name for e in prof.events()}
    assert not {'mmpose_ext::upsample_bilinear2d',
                'aten::upsample_bilinear2d'} & names
    torch.testing.assert_close(out, _eager_reference(x * 2, (12, 10), True)
                               + 1)
