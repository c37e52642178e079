"""Resizing that keeps ATen's kernels inside ``torch.compile``.

Under ``torch.compile`` PyTorch 2.x decomposes ``F.interpolate(...,
mode='bilinear' | 'nearest')`` into index gathers before autograd, so its
gradient becomes a scatter-add (``_unsafe_index_put``) that inductor's CPU
code runs slower than ATen's ``upsample_*2d_backward`` kernels
(``docs/fast_path.md``). :func:`interpolate` is ``F.interpolate`` in eager
mode; while being compiled with a gradient needed it calls the custom
operator ``mmpose_ext::upsample_bilinear2d`` or
``mmpose_ext::upsample_nearest2d``, which the compiler treats as opaque:
the forward and the backward run ATen's own kernels, the same computation
as in eager mode. Without a gradient (inference, ``torch.no_grad``) the
compiler's decomposed forward is kept, since it fuses with the operations
around it.
"""
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ['interpolate']

MODES = ('bilinear', 'nearest')


def _layout(x: Tensor) -> torch.memory_format:
    """The memory format of the custom operators' outputs: channels-last
    for a channels-last 4-D input, otherwise contiguous (real and fake
    kernels must agree on the strides)."""
    if (x.dim() == 4 and not x.is_contiguous()
            and x.is_contiguous(memory_format=torch.channels_last)):
        return torch.channels_last
    return torch.contiguous_format


def _empty(like: Tensor, shape: Sequence[int],
           layout_of: Tensor) -> Tensor:
    return torch.empty(tuple(shape), dtype=like.dtype, device=like.device,
                       memory_format=_layout(layout_of))


# bilinear --------------------------------------------------------------
@torch.library.custom_op('mmpose_ext::upsample_bilinear2d', mutates_args=())
def _bilinear(x: Tensor, size: List[int], align_corners: bool) -> Tensor:
    out = F.interpolate(
        x, size=size, mode='bilinear', align_corners=align_corners)
    return out.contiguous(memory_format=_layout(x))


@_bilinear.register_fake
def _(x: Tensor, size: List[int], align_corners: bool) -> Tensor:
    return _empty(x, (*x.shape[:2], *size), x)


@torch.library.custom_op(
    'mmpose_ext::upsample_bilinear2d_backward', mutates_args=())
def _bilinear_backward(grad: Tensor, input_size: List[int],
                       align_corners: bool) -> Tensor:
    out = torch.ops.aten.upsample_bilinear2d_backward(
        grad, list(grad.shape[-2:]), input_size, align_corners)
    return out.contiguous(memory_format=_layout(grad))


@_bilinear_backward.register_fake
def _(grad: Tensor, input_size: List[int], align_corners: bool) -> Tensor:
    return _empty(grad, input_size, grad)


def _bilinear_setup(ctx, inputs, output) -> None:
    ctx.input_size = list(inputs[0].shape)
    ctx.align_corners = inputs[2]


_bilinear.register_autograd(
    lambda ctx, grad: (_bilinear_backward(grad, ctx.input_size,
                                          ctx.align_corners), None, None),
    setup_context=_bilinear_setup)


# nearest ---------------------------------------------------------------
@torch.library.custom_op('mmpose_ext::upsample_nearest2d', mutates_args=())
def _nearest(x: Tensor, size: List[int]) -> Tensor:
    out = F.interpolate(x, size=size, mode='nearest')
    return out.contiguous(memory_format=_layout(x))


@_nearest.register_fake
def _(x: Tensor, size: List[int]) -> Tensor:
    return _empty(x, (*x.shape[:2], *size), x)


@torch.library.custom_op(
    'mmpose_ext::upsample_nearest2d_backward', mutates_args=())
def _nearest_backward(grad: Tensor, input_size: List[int]) -> Tensor:
    out = torch.ops.aten.upsample_nearest2d_backward(
        grad, list(grad.shape[-2:]), input_size)
    return out.contiguous(memory_format=_layout(grad))


@_nearest_backward.register_fake
def _(grad: Tensor, input_size: List[int]) -> Tensor:
    return _empty(grad, input_size, grad)


def _nearest_setup(ctx, inputs, output) -> None:
    ctx.input_size = list(inputs[0].shape)


_nearest.register_autograd(
    lambda ctx, grad: (_nearest_backward(grad, ctx.input_size), None),
    setup_context=_nearest_setup)


def interpolate(x: Tensor,
                size: Sequence[int],
                mode: str = 'nearest',
                align_corners: Optional[bool] = None) -> Tensor:
    """``F.interpolate(x, size, mode, align_corners)`` for ``'bilinear'``
    and ``'nearest'`` that stays ATen's kernel pair under
    ``torch.compile`` (module doc).

    In eager mode, for inputs that need no gradient, and under autocast
    (whose casting rules the custom operators do not repeat), this is
    ``F.interpolate`` itself. The compiled path with gradients supports
    one backward pass (no double backward).

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
            or torch.is_autocast_enabled(x.device.type)):
        return F.interpolate(
            x, size=size, mode=mode, align_corners=align_corners)
    if mode == 'nearest':
        return _nearest(x, size)
    return _bilinear(x, size, bool(align_corners))
