"""Resizing that keeps ATen's kernels inside ``torch.compile``.

Under ``torch.compile`` PyTorch 2.x decomposes ``F.interpolate(...,
mode='bilinear' | 'nearest')`` into index gathers before autograd, so its
gradient becomes a scatter-add (``_unsafe_index_put``) that inductor's CPU
code runs slower than ATen's ``upsample_*2d_backward`` kernels
(``docs/fast_path.md``). :func:`interpolate` is ``F.interpolate`` in eager
mode; while being compiled with a gradient needed it calls the custom
operator ``mmpose_ext::upsample2d``, which the compiler treats as opaque:
the forward and the backward run ATen's own kernels, the same computation
as in eager mode. Only on the CPU: elsewhere the compiler's decomposition
is kept. Without a gradient (inference, ``torch.no_grad``) the
compiler's decomposed forward is kept, since it fuses with the operations
around it.

Both paths hand a channels-last input's gradient to ATen's backward kernel
channels-last. The gradient of a resize whose output is concatenated with
others along the channels (CPN's RefineNet, the soft-gated hourglass) is a
channel slice of a channels-last tensor, which ATen's CPU kernels do not
take as it is: they copy it into contiguous ``NCHW`` order first. For a
``[2, 256, 64, 48]`` float32 slice that transposing copy and the ``NCHW``
kernel took about 10 ms, against about 1 ms for a channels-last copy and
the channels-last kernel (``docs/fast_path.md``).
"""
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ['Upsample', 'interpolate', 'output_layout']

MODES = ('bilinear', 'nearest')

#: The version of the package's custom operators (here and in
#: :mod:`.max_pool`): raise it with any change of their signatures or
#: gradients. It is part of ``torch.compiler.config.cache_key_tag`` from
#: import on, because the compile caches do not hash a custom operator's
#: Python code: a graph compiled with an older operator would otherwise be
#: reused from the cache (``~/.cache`` or ``/tmp/torchinductor_*``) and fail,
#: or compute the old gradient.
OPERATORS_VERSION = 2


def _tag_compile_caches() -> None:
    tag = f'mmpose_ext-ops-{OPERATORS_VERSION}'
    config = torch.compiler.config
    if tag not in config.cache_key_tag.split(';'):
        config.cache_key_tag = ';'.join(
            t for t in (config.cache_key_tag, tag) if t)


_tag_compile_caches()


def output_layout(x: Tensor) -> torch.memory_format:
    """The memory format of the custom operators' outputs (here and in
    :mod:`.max_pool`): channels-last for a channels-last 4-D input,
    otherwise contiguous (real and fake kernels must agree on the
    strides)."""
    if (x.dim() == 4 and not x.is_contiguous()
            and x.is_contiguous(memory_format=torch.channels_last)):
        return torch.channels_last
    return torch.contiguous_format


def _channels_last(grad: Tensor) -> Tensor:
    """The gradient of a channels-last input's resize, as ATen's kernels
    take it without a copy of their own (module doc)."""
    return grad.contiguous(memory_format=torch.channels_last)


def _empty(x: Tensor, shape: Sequence[int]) -> Tensor:
    return torch.empty(tuple(shape), dtype=x.dtype, device=x.device,
                       memory_format=output_layout(x))


@torch.library.custom_op('mmpose_ext::upsample2d', mutates_args=())
def _upsample(x: Tensor, size: List[int], mode: str,
              align_corners: Optional[bool]) -> Tensor:
    out = F.interpolate(x, size=size, mode=mode, align_corners=align_corners)
    return out.contiguous(memory_format=output_layout(x))


@_upsample.register_fake
def _(x: Tensor, size: List[int], mode: str,
      align_corners: Optional[bool]) -> Tensor:
    return _empty(x, (*x.shape[:2], *size))


@torch.library.custom_op('mmpose_ext::upsample2d_backward', mutates_args=())
def _upsample_backward(grad: Tensor, input_size: List[int], mode: str,
                       align_corners: Optional[bool],
                       channels_last: bool) -> Tensor:
    """ATen's gradient kernel of the mode, given ``grad`` channels-last for
    a channels-last input (module doc), otherwise contiguous. The layout is
    an argument rather than read from ``grad``'s strides: the compiler does
    not promise that a custom operator gets the strides it was traced
    with."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    grad = grad.contiguous(memory_format=fmt)
    output_size = list(grad.shape[-2:])
    if mode == 'bilinear':
        out = torch.ops.aten.upsample_bilinear2d_backward(
            grad, output_size, input_size, bool(align_corners))
    else:
        out = torch.ops.aten.upsample_nearest2d_backward(
            grad, output_size, input_size)
    return out.contiguous(memory_format=fmt)


@_upsample_backward.register_fake
def _(grad: Tensor, input_size: List[int], mode: str,
      align_corners: Optional[bool], channels_last: bool) -> Tensor:
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    return torch.empty(tuple(input_size), dtype=grad.dtype,
                       device=grad.device, memory_format=fmt)


def _setup_context(ctx, inputs, output) -> None:
    x, _, ctx.mode, ctx.align_corners = inputs
    ctx.input_size = list(x.shape)
    ctx.channels_last = output_layout(x) is torch.channels_last


_upsample.register_autograd(
    lambda ctx, grad: (_upsample_backward(
        grad, ctx.input_size, ctx.mode, ctx.align_corners,
        ctx.channels_last), None, None, None),
    setup_context=_setup_context)


def interpolate(x: Tensor,
                size: Sequence[int],
                mode: str = 'nearest',
                align_corners: Optional[bool] = None) -> Tensor:
    """``F.interpolate(x, size, mode, align_corners)`` for ``'bilinear'``
    and ``'nearest'`` that stays ATen's kernel pair under
    ``torch.compile`` (module doc).

    In eager mode, and while compiling for inputs that need no gradient or
    are not on the CPU (the scatter-add was measured slow on the CPU only,
    and ATen's CUDA bilinear backward raises under
    ``randomness.deterministic=True``), this is ``F.interpolate`` itself;
    for a channels-last CPU input a hook on the output hands the gradient
    to ATen's kernel channels-last, as the custom operator's backward does
    (module doc). Under CPU autocast the custom operator is used too:
    ATen's upsample kernels are on none of CPU autocast's cast lists (the
    output keeps the input's dtype), which is what autocast's fallthrough
    does for an operator without an autocast kernel. The compiled path
    with gradients supports one backward pass (no double backward).

    Args:
        x (Tensor): Features ``[B, C, H, W]``.
        size (Sequence[int]): Output ``(h, w)``.
        mode (str): ``'bilinear'`` or ``'nearest'``. Defaults to
            ``'nearest'`` as in ``F.interpolate``.
        align_corners (bool, optional): As in ``F.interpolate``: for
            ``'bilinear'`` only, where ``None`` means ``False``.

    Returns:
        Tensor: ``[B, C, h, w]``, channels-last when ``x`` is.

    Raises:
        ValueError: if ``x`` is not 4-D, ``size`` is not two ints,
            ``mode`` is another mode or ``align_corners`` is given with
            ``'nearest'``.
    """
    if mode not in MODES:
        raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
    if mode == 'nearest' and align_corners is not None:
        raise ValueError("align_corners only applies to mode='bilinear'")
    if x.dim() != 4:
        raise ValueError(
            f'interpolate expects [B, C, H, W], got {tuple(x.shape)}')
    size = [int(s) for s in size]
    if len(size) != 2:
        raise ValueError(f'size must be (h, w), got {size}')
    if (not torch.compiler.is_compiling() or not x.requires_grad
            or x.device.type != 'cpu'):
        out = F.interpolate(
            x, size=size, mode=mode, align_corners=align_corners)
        if (out.requires_grad and x.device.type == 'cpu'
                and output_layout(x) is torch.channels_last):
            out.register_hook(_channels_last)
        return out
    return _upsample(x, size, mode, align_corners)


class Upsample(nn.Upsample):
    """``nn.Upsample`` through :func:`interpolate` (same arguments and
    state), for ``'nearest'`` and ``'bilinear'`` with a ``size`` or
    integer scale factors, where an output size gives the same sampling as
    the scale factor. Before compiling,
    :func:`mmpose_ext.engine.fast_path.use_custom_operators` turns such
    ``nn.Upsample`` modules of MMPose's backbones (HRNet's fuse layers)
    into this class.

    Args:
        size (int | tuple[int, int], optional): Output ``(h, w)``.
        scale_factor (int | tuple[int, int], optional): Integer factors.
        mode (str): ``'nearest'`` or ``'bilinear'``. Defaults to
            ``'nearest'``.
        align_corners (bool, optional): As in ``nn.Upsample``.

    Shape:
        ``[B, C, H, W]`` -> ``[B, C, h, w]``.
    """

    def __init__(self, size=None, scale_factor=None, mode: str = 'nearest',
                 align_corners: Optional[bool] = None):
        super().__init__(size, scale_factor, mode, align_corners)
        if not self.supported(self):
            raise ValueError(
                f'Upsample supports nearest/bilinear with a size or integer '
                f'scale factors, got {self.extra_repr()}')

    @staticmethod
    def supported(module: nn.Upsample) -> bool:
        """Whether ``module``'s settings are ones :class:`Upsample` runs
        exactly as ``nn.Upsample``."""
        if module.mode not in MODES or getattr(
                module, 'recompute_scale_factor', None):
            return False
        if module.size is not None:
            return module.scale_factor is None
        factors = module.scale_factor
        factors = factors if isinstance(factors, tuple) else (factors, ) * 2
        return len(factors) == 2 and all(
            float(f) == int(f) and f >= 1 for f in factors)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4:
            return super().forward(x)
        if self.size is not None:
            size = self.size if isinstance(self.size, tuple) else (
                self.size, ) * 2
        else:
            factors = self.scale_factor if isinstance(
                self.scale_factor, tuple) else (self.scale_factor, ) * 2
            size = (x.shape[-2] * int(factors[0]),
                    x.shape[-1] * int(factors[1]))
        return interpolate(x, size, self.mode, self.align_corners
                           if self.mode == 'bilinear' else None)
