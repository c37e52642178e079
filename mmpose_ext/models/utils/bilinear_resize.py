"""Bilinear resizing that keeps ATen's kernels inside ``torch.compile``.

Under ``torch.compile`` PyTorch 2.x decomposes ``F.interpolate(...,
mode='bilinear')`` into index gathers before autograd, so its gradient
becomes a scatter-add (``_unsafe_index_put``) that inductor's CPU code runs
several times slower than ATen's ``upsample_bilinear2d_backward``
(``docs/fast_path.md``). :func:`bilinear_resize` is ``F.interpolate`` in
eager mode; while being compiled it calls the custom operator
``mmpose_ext::upsample_bilinear2d``, which the compiler treats as opaque:
the forward and the backward run ATen's own kernels, the same computation
as in eager mode. Only where a gradient is needed: without one (inference,
``torch.no_grad``) the compiler's decomposed forward is kept, since it
fuses with the operations around it.
"""
from typing import List, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ['bilinear_resize']


def _layout(x: Tensor) -> torch.memory_format:
    """The memory format of the custom operators' outputs: channels-last
    for a channels-last 4-D input, otherwise contiguous (real and fake
    kernels must agree on the strides)."""
    if (x.dim() == 4 and not x.is_contiguous()
            and x.is_contiguous(memory_format=torch.channels_last)):
        return torch.channels_last
    return torch.contiguous_format


@torch.library.custom_op('mmpose_ext::upsample_bilinear2d', mutates_args=())
def _upsample_bilinear2d(x: Tensor, size: List[int],
                         align_corners: bool) -> Tensor:
    out = F.interpolate(
        x, size=size, mode='bilinear', align_corners=align_corners)
    return out.contiguous(memory_format=_layout(x))


@_upsample_bilinear2d.register_fake
def _(x: Tensor, size: List[int], align_corners: bool) -> Tensor:
    return torch.empty((*x.shape[:2], *size), dtype=x.dtype, device=x.device,
                       memory_format=_layout(x))


@torch.library.custom_op(
    'mmpose_ext::upsample_bilinear2d_backward', mutates_args=())
def _upsample_bilinear2d_backward(grad: Tensor, input_size: List[int],
                                  align_corners: bool) -> Tensor:
    out = torch.ops.aten.upsample_bilinear2d_backward(
        grad, list(grad.shape[-2:]), input_size, align_corners)
    return out.contiguous(memory_format=_layout(grad))


@_upsample_bilinear2d_backward.register_fake
def _(grad: Tensor, input_size: List[int], align_corners: bool) -> Tensor:
    return torch.empty(input_size, dtype=grad.dtype, device=grad.device,
                       memory_format=_layout(grad))


def _setup_context(ctx, inputs, output) -> None:
    x, _, align_corners = inputs
    ctx.input_size = list(x.shape)
    ctx.align_corners = align_corners


def _backward(ctx, grad: Tensor):
    return (_upsample_bilinear2d_backward(grad, ctx.input_size,
                                          ctx.align_corners), None, None)


_upsample_bilinear2d.register_autograd(
    _backward, setup_context=_setup_context)


def bilinear_resize(x: Tensor, size: Sequence[int],
                    align_corners: bool) -> Tensor:
    """``F.interpolate(x, size, mode='bilinear', align_corners=...)`` that
    stays ATen's kernel pair under ``torch.compile`` (module doc).

    In eager mode, for inputs that need no gradient, and under autocast
    (whose casting rules the custom operator does not repeat), this is
    ``F.interpolate`` itself. The compiled path with gradients supports
    one backward pass (no double backward).

    Args:
        x (Tensor): Features ``[B, C, H, W]``.
        size (Sequence[int]): Output ``(h, w)``.
        align_corners (bool): As in ``F.interpolate``.

    Returns:
        Tensor: ``[B, C, h, w]``, channels-last when ``x`` is.

    Raises:
        ValueError: if ``x`` is not 4-D or ``size`` is not two ints.
    """
    if x.dim() != 4:
        raise ValueError(
            f'bilinear_resize expects [B, C, H, W], got {tuple(x.shape)}')
    size = [int(s) for s in size]
    if len(size) != 2:
        raise ValueError(f'size must be (h, w), got {size}')
    if (not torch.compiler.is_compiling() or not x.requires_grad
            or torch.is_autocast_enabled(x.device.type)):
        return F.interpolate(
            x, size=size, mode='bilinear', align_corners=align_corners)
    return _upsample_bilinear2d(x, size, align_corners)
