"""Max pooling that keeps ATen's kernels inside ``torch.compile``.

Compiled for training, ``nn.MaxPool2d`` becomes inductor's own kernels: the
forward computes the window indices in generated C++ and the backward is a
scatter-add (``scatter_reduce_``) over them, slower on the CPU than ATen's
``max_pool2d_with_indices`` pair (``docs/fast_path.md``). :class:`MaxPool2d`
is ``nn.MaxPool2d`` in eager mode; while being compiled with a gradient
needed, on the CPU, it calls the custom operator ``mmpose_ext::max_pool2d``
(forward with indices, and its backward), which the compiler treats as
opaque: ATen's kernels, the computation of eager mode. Without a gradient
the compiler's forward is kept, which fuses with its neighbours.
"""
from typing import List, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .interpolate import output_layout as _layout

__all__ = ['MaxPool2d', 'max_pool2d']


def _out_size(size: int, k: int, s: int, p: int, ceil_mode: bool) -> int:
    span = size + 2 * p - k
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


@torch.library.custom_op('mmpose_ext::max_pool2d', mutates_args=())
def _max_pool(x: Tensor, kernel_size: List[int], stride: List[int],
              padding: List[int], ceil_mode: bool) -> Tuple[Tensor, Tensor]:
    out, indices = torch.ops.aten.max_pool2d_with_indices(
        x, kernel_size, stride, padding, [1, 1], ceil_mode)
    fmt = _layout(x)
    return out.contiguous(memory_format=fmt), indices.contiguous(
        memory_format=fmt)


@_max_pool.register_fake
def _(x: Tensor, kernel_size: List[int], stride: List[int],
      padding: List[int], ceil_mode: bool) -> Tuple[Tensor, Tensor]:
    shape = (*x.shape[:2], *(_out_size(x.shape[2 + i], kernel_size[i],
                                       stride[i], padding[i], ceil_mode)
                             for i in range(2)))
    fmt = _layout(x)
    return (torch.empty(shape, dtype=x.dtype, device=x.device,
                        memory_format=fmt),
            torch.empty(shape, dtype=torch.int64, device=x.device,
                        memory_format=fmt))


@torch.library.custom_op('mmpose_ext::max_pool2d_backward', mutates_args=())
def _max_pool_backward(grad: Tensor, x: Tensor, indices: Tensor,
                       kernel_size: List[int], stride: List[int],
                       padding: List[int], ceil_mode: bool) -> Tensor:
    out = torch.ops.aten.max_pool2d_with_indices_backward(
        grad, x, kernel_size, stride, padding, [1, 1], ceil_mode, indices)
    return out.contiguous(memory_format=_layout(x))


@_max_pool_backward.register_fake
def _(grad: Tensor, x: Tensor, indices: Tensor, kernel_size: List[int],
      stride: List[int], padding: List[int], ceil_mode: bool) -> Tensor:
    return torch.empty_like(x, memory_format=_layout(x))


def _setup_context(ctx, inputs, output) -> None:
    x, ctx.kernel_size, ctx.stride, ctx.padding, ctx.ceil_mode = inputs
    ctx.save_for_backward(x, output[1])
    ctx.mark_non_differentiable(output[1])


def _backward(ctx, grad, _grad_indices):
    x, indices = ctx.saved_tensors
    return (_max_pool_backward(grad, x, indices, ctx.kernel_size,
                               ctx.stride, ctx.padding, ctx.ceil_mode),
            None, None, None, None)


_max_pool.register_autograd(_backward, setup_context=_setup_context)


def _pair(value) -> List[int]:
    return [int(v) for v in value] if isinstance(value, (tuple, list)) else [
        int(value)] * 2


def max_pool2d(x: Tensor, kernel_size, stride=None, padding=0,
               ceil_mode: bool = False) -> Tensor:
    """``F.max_pool2d`` (no dilation, no indices) that stays ATen's kernel
    pair under ``torch.compile`` (module doc).

    In eager mode, for inputs that need no gradient and for inputs not on
    the CPU this is ``F.max_pool2d`` itself. Under CPU autocast the
    operator keeps the input's dtype, as ATen's (on no cast list). The
    compiled path with gradients supports one backward pass.

    Args:
        x (Tensor): Features ``[B, C, H, W]``.
        kernel_size (int | tuple[int, int]): Window size.
        stride (int | tuple[int, int], optional): Defaults to
            ``kernel_size``.
        padding (int | tuple[int, int]): Implicit padding. Defaults to 0.
        ceil_mode (bool): As in ``F.max_pool2d``. Defaults to ``False``.

    Returns:
        Tensor: ``[B, C, h, w]``, channels-last when ``x`` is.
    """
    stride = kernel_size if stride is None else stride
    if (not torch.compiler.is_compiling() or not x.requires_grad
            or x.device.type != 'cpu' or x.dim() != 4):
        return F.max_pool2d(x, kernel_size, stride, padding,
                            ceil_mode=ceil_mode)
    return _max_pool(x, _pair(kernel_size), _pair(stride), _pair(padding),
                     bool(ceil_mode))[0]


class MaxPool2d(nn.MaxPool2d):
    """``nn.MaxPool2d`` through :func:`max_pool2d` (same arguments and
    state; ``dilation`` 1 and ``return_indices=False`` only).

    Args:
        kernel_size (int | tuple[int, int]): Window size.
        stride (int | tuple[int, int], optional): Defaults to
            ``kernel_size``.
        padding (int | tuple[int, int]): Implicit padding. Defaults to 0.
        ceil_mode (bool): As in ``nn.MaxPool2d``. Defaults to ``False``.

    Shape:
        ``[B, C, H, W]`` -> ``[B, C, h, w]``.
    """

    def __init__(self, kernel_size, stride=None, padding=0,
                 ceil_mode: bool = False):
        super().__init__(kernel_size, stride, padding, ceil_mode=ceil_mode)

    def forward(self, x: Tensor) -> Tensor:
        return max_pool2d(x, self.kernel_size, self.stride, self.padding,
                          self.ceil_mode)
