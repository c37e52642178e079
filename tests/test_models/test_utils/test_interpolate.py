import pytest
import torch
import torch.nn.functional as F
from torch.profiler import profile

from mmpose_ext.models.utils import interpolate

# (mode, align_corners) and ATen's backward kernel of each
SETTINGS = [('bilinear', False), ('bilinear', True), ('nearest', None)]
ATEN_BACKWARD = {'bilinear': 'aten::upsample_bilinear2d_backward',
                 'nearest': 'aten::upsample_nearest2d_backward'}


@pytest.fixture(autouse=True)
def fresh_dynamo():
    """Every test compiles the same inner function of ``_graph`` anew:
    without a reset dynamo's recompile limit would make later tests run it
    eagerly."""
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def _graph(resize):
    """A small graph around the resize, so the gradient flows through it
    into the input."""
    def fn(x, w):
        return (resize(x * 2 + 1) * w).sum()
    return fn


def _reference(x, size, mode, align_corners):
    return F.interpolate(x, size=size, mode=mode, align_corners=align_corners)


def _ops_run(fn, *args):
    with profile() as prof:
        fn(*args).backward()
    return {e.name for e in prof.events()}


@pytest.mark.parametrize('channels_last', [False, True])
@pytest.mark.parametrize('mode, align_corners', SETTINGS)
def test_compiled_matches_eager_values_and_gradients(channels_last, mode,
                                                     align_corners):
    torch.manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(2, 5, 6, 4).to(memory_format=fmt)
    size = (11, 9)
    w = torch.randn(2, 5, *size)

    x_ref = x.clone().requires_grad_()
    ref = _graph(lambda t: _reference(t, size, mode, align_corners))(x_ref, w)
    ref.backward()

    x_new = x.clone().requires_grad_()
    compiled = torch.compile(_graph(
        lambda t: interpolate(t, size, mode, align_corners)), fullgraph=True)
    out = compiled(x_new, w)
    out.backward()
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(x_new.grad, x_ref.grad, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('mode, align_corners', SETTINGS[1:])
def test_compiled_output_layout_follows_input(mode, align_corners):
    x = torch.randn(1, 3, 4, 4).to(
        memory_format=torch.channels_last).requires_grad_()
    y = torch.compile(
        lambda t: interpolate(t, (8, 8), mode, align_corners) + 0)(x)
    assert y.shape == (1, 3, 8, 8)
    assert y.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize('mode, align_corners', SETTINGS[1:])
def test_compiled_backward_runs_aten_kernel(mode, align_corners):
    """The point of the custom operators: with them the compiled backward
    calls ATen's upsample backward kernel; plain F.interpolate is
    decomposed by the compiler and does not."""
    x = torch.randn(2, 4, 6, 5, requires_grad=True)
    w = torch.randn(2, 4, 12, 10)
    ours = torch.compile(_graph(
        lambda t: interpolate(t, (12, 10), mode, align_corners)))
    plain = torch.compile(_graph(
        lambda t: _reference(t, (12, 10), mode, align_corners)))
    ours(x, w).backward()  # compile outside the profiled run
    plain(x, w).backward()
    assert ATEN_BACKWARD[mode] in _ops_run(ours, x, w)
    assert ATEN_BACKWARD[mode] not in _ops_run(plain, x, w)


def test_compiled_without_gradient_keeps_the_fusable_decomposition():
    """In inference the compiler's own decomposition is kept (it fuses
    with its neighbours): neither the custom operator nor ATen's kernel
    runs."""
    x = torch.randn(2, 4, 6, 5)
    fn = torch.compile(
        lambda t: interpolate(t * 2, (12, 10), 'bilinear', True) + 1)
    with torch.no_grad():
        fn(x)
        with profile() as prof:
            out = fn(x)
    names = {e.name for e in prof.events()}
    assert not {'mmpose_ext::upsample2d',
                'aten::upsample_bilinear2d'} & names
    torch.testing.assert_close(
        out, _reference(x * 2, (12, 10), 'bilinear', True) + 1)


@pytest.mark.parametrize('mode, align_corners', SETTINGS)
def test_eager_is_interpolate(mode, align_corners):
    x = torch.randn(1, 2, 3, 3)
    assert torch.equal(interpolate(x, (5, 7), mode, align_corners),
                       _reference(x, (5, 7), mode, align_corners))


@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
@pytest.mark.parametrize('mode, align_corners', SETTINGS[1:])
def test_compiled_under_autocast_keeps_eager_dtype_and_gradients(
        dtype, mode, align_corners):
    """Under CPU bfloat16 autocast the compiled graph calls the custom
    operator (its backward is ATen's kernel, not the scatter-add), and
    values, dtypes and gradients equal eager F.interpolate's under the same
    autocast, for float32 and bfloat16 inputs (ATen's upsample kernels are
    on no CPU autocast cast list)."""
    torch.manual_seed(0)
    x = torch.randn(2, 3, 6, 5, dtype=dtype)
    w = torch.randn(2, 3, 12, 10)
    targets = []

    def record(gm, example_inputs):
        targets.extend(str(n.target) for n in gm.graph.nodes)
        return gm.forward

    def run(fn):
        x_ = x.clone().requires_grad_()
        with torch.autocast('cpu', dtype=torch.bfloat16):
            y = fn(x_)
            loss = (y.float() * w).sum()
        loss.backward()
        return y, x_.grad

    expected, expected_grad = run(
        lambda t: _reference(t * 2, (12, 10), mode, align_corners))
    got, grad = run(torch.compile(
        lambda t: interpolate(t * 2, (12, 10), mode, align_corners),
        backend=record))
    assert any('mmpose_ext.upsample2d' in t for t in targets), targets
    assert got.dtype == expected.dtype == dtype
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(grad, expected_grad)
    compiled, compiled_grad = run(torch.compile(
        lambda t: interpolate(t * 2, (12, 10), mode, align_corners)))
    torch.testing.assert_close(compiled, expected)
    torch.testing.assert_close(compiled_grad, expected_grad)


@pytest.mark.parametrize('shape, size, mode, align_corners, match', [
    ((2, 3, 4), (8, 8), 'nearest', None, r'\[B, C, H, W\]'),
    ((1, 2, 3, 3), (8, 8, 8), 'nearest', None, r'size must be \(h, w\)'),
    ((1, 2, 3, 3), (8, 8), 'bicubic', None, 'mode must be one of'),
    ((1, 2, 3, 3), (8, 8), 'nearest', True, 'align_corners only applies'),
])
def test_bad_input(shape, size, mode, align_corners, match):
    with pytest.raises(ValueError, match=match):
        interpolate(torch.zeros(shape), size, mode, align_corners)


@pytest.mark.parametrize('device, custom', [('cpu', True), ('meta', False)])
def test_custom_operator_on_the_cpu_only(device, custom):
    """Off the CPU (here the meta device stands for CUDA) the compiled
    graph keeps the compiler's decomposition: ATen's CUDA bilinear
    backward refuses deterministic mode, and the slow scatter-add was
    measured on the CPU only."""
    targets = []

    def record(gm, example_inputs):
        targets.extend(str(n.target) for n in gm.graph.nodes)
        return gm.forward

    x = torch.randn(2, 4, 6, 5, device=device, requires_grad=True)
    fn = torch.compile(lambda t: interpolate(t, (12, 10), 'bilinear', False),
                       backend=record)
    assert fn(x).shape == (2, 4, 12, 10)
    assert any('mmpose_ext.upsample2d' in t for t in targets) == custom, (
        targets)


def _cat_graph(mode, align_corners, resize):
    """The resized features concatenated with others along the channels
    (CPN's RefineNet, the soft-gated hourglass): the gradient reaching the
    resize is a channel slice of the concatenation's gradient."""
    def fn(x, other, w):
        up = resize(x * 2 + 1, (12, 10), mode, align_corners)
        return (torch.cat((other, up), dim=1) * w).sum()
    return fn


def _clones_in_backward_kernels(fn, *args):
    """Copies ATen's upsample backward kernels made of their gradient."""
    with profile() as prof:
        fn(*args).backward()
    return [e for e in prof.events() if e.name == 'aten::clone'
            and e.cpu_parent is not None
            and e.cpu_parent.name == 'aten::contiguous'
            and e.cpu_parent.cpu_parent is not None
            and e.cpu_parent.cpu_parent.name in ATEN_BACKWARD.values()]


@pytest.mark.parametrize('compiled', [False, True])
@pytest.mark.parametrize('mode, align_corners', SETTINGS[1:])
def test_channel_slice_gradient_reaches_the_kernel_channels_last(
        compiled, mode, align_corners):
    """A channels-last input's gradient that is a channel slice is handed
    to ATen's backward kernel channels-last, not copied into NCHW order
    inside the kernel; the gradient is unchanged."""
    torch.manual_seed(0)
    cl = torch.channels_last
    x = torch.randn(2, 6, 6, 5).to(memory_format=cl)
    other = torch.randn(2, 3, 12, 10).to(memory_format=cl)
    w = torch.randn(2, 9, 12, 10).to(memory_format=cl)

    x_ref = x.clone().requires_grad_()
    _cat_graph(mode, align_corners, _reference)(x_ref, other, w).backward()
    # F.interpolate itself: the kernel copies the slice (what is avoided)
    assert _clones_in_backward_kernels(
        _cat_graph(mode, align_corners, _reference),
        x.clone().requires_grad_(), other, w)

    fn = _cat_graph(mode, align_corners, interpolate)
    if compiled:
        fn = torch.compile(fn, fullgraph=True)
    x_new = x.clone().requires_grad_()
    fn(x_new, other, w).backward()
    torch.testing.assert_close(x_new.grad, x_ref.grad, rtol=1e-5, atol=1e-5)
    assert not _clones_in_backward_kernels(
        fn, x.clone().requires_grad_(), other, w)


def test_operator_version_is_in_the_compile_cache_key():
    """A graph compiled with another version of the custom operators is
    never taken from PyTorch's compile caches (their keys include this
    tag; the operators' Python code is not hashed)."""
    from mmpose_ext.models.utils.interpolate import OPERATORS_VERSION
    tags = torch.compiler.config.cache_key_tag.split(';')
    assert f'mmpose_ext-ops-{OPERATORS_VERSION}' in tags


@pytest.mark.parametrize('kwargs', [
    dict(scale_factor=2),
    dict(scale_factor=(2, 4), mode='nearest'),
    dict(scale_factor=4, mode='bilinear', align_corners=False),
    dict(scale_factor=2, mode='bilinear', align_corners=True),
    dict(size=(7, 9), mode='bilinear'),
    dict(size=5, mode='nearest'),
])
@pytest.mark.parametrize('compiled', [False, True])
def test_upsample_is_nn_upsample(kwargs, compiled):
    """The package's Upsample gives nn.Upsample's values and gradients,
    eager and compiled (where it takes the custom operator)."""
    from mmpose_ext.models.utils import Upsample
    torch.manual_seed(0)
    x = torch.randn(2, 3, 5, 4).to(memory_format=torch.channels_last)
    ours, plain = Upsample(**kwargs), torch.nn.Upsample(**kwargs)
    fn = torch.compile(ours, fullgraph=True) if compiled else ours
    x_ours, x_plain = (x.clone().requires_grad_() for _ in range(2))
    out, ref = fn(x_ours), plain(x_plain)
    torch.testing.assert_close(out, ref)
    w = torch.randn_like(ref)
    (out * w).sum().backward()
    (ref * w).sum().backward()
    torch.testing.assert_close(x_ours.grad, x_plain.grad)


@pytest.mark.parametrize('kwargs', [
    dict(scale_factor=1.5),
    dict(scale_factor=2, mode='bicubic'),
    dict(scale_factor=2, recompute_scale_factor=True),
])
def test_upsample_refuses_settings_it_does_not_run_exactly(kwargs):
    from mmpose_ext.models.utils import Upsample
    assert not Upsample.supported(torch.nn.Upsample(**kwargs))
    if 'recompute_scale_factor' not in kwargs:
        with pytest.raises(ValueError, match='Upsample supports'):
            Upsample(**kwargs)
