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
"""
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ['interpolate']

MODES = ('bilinear', 'nearest')


def output_layout(x: Tensor) -> torch.memory_format:
    """The memory format of the custom operators' outputs (here and in
    :mod:`.max_pool`): channels-last for a channels-last 4-D input,
    otherwise contiguous (real and fake kernels must agree on the
    strides)."""
    if (x.dim() == 4 and not x.is_contiguous()
            and x.is_contiguous(memory_format=torch.channels_last)):
        return torch.channels_last
    return torch.contiguous_format


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
                       align_corners: Optional[bool]) -> Tensor:
    """ATen's gradient kernel of the mode."""
    output_size = list(grad.shape[-2:])
    if mode == 'bilinear':
        out = torch.ops.aten.upsample_bilinear2d_backward(
            grad, output_size, input_size, bool(align_corners))
    else:
        out = torch.ops.aten.upsample_nearest2d_backward(
            grad, output_size, input_size)
    return out.contiguous(memory_format=output_layout(grad))


@_upsample_backward.register_fake
def _(grad: Tensor, input_size: List[int], mode: str,
      align_corners: Optional[bool]) -> Tensor:
    return _empty(grad, input_size)


def _setup_context(ctx, inputs, output) -> None:
    x, _, ctx.mode, ctx.align_corners = inputs
    ctx.input_size = list(x.shape)


_upsample.register_autograd(
    lambda ctx, grad: (_upsample_backward(
        grad, ctx.input_size, ctx.mode, ctx.align_corners), None, None, None),
    setup_context=_setup_context)


def interpolate(x: Tensor,
                size: Sequence[int],
                mode: str = 'nearest',
                align_corners: Optional[bool] = None) -> Tensor:
    """``F.interpolate(x, size, mode, align_corners)`` for ``'bilinear'``
    and ``'nearest'`` that stays ATen's kernel pair under
    ``torch.compile`` (module doc).

    In eager mode, for inputs that need no gradient and for inputs not on
    the CPU (the scatter-add was measured slow on the CPU only, and ATen's
    CUDA bilinear backward raises under ``randomness.deterministic=True``)
    this is ``F.interpolate`` itself. Under CPU autocast the custom
    operator is used too: ATen's upsample kernels are on none of CPU
    autocast's cast lists (the output keeps the input's dtype), which is
    what autocast's fallthrough does for an operator without an autocast
    kernel. The compiled path with
    gradients supports one backward pass (no double backward).

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
        return F.interpolate(
            x, size=size, mode=mode, align_corners=align_corners)
    return _upsample(x, size, mode, align_corners)
