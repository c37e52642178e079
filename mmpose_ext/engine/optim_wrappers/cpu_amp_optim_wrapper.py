"""Mixed-precision training on the CPU: bfloat16 autocast, no loss scaling.

MMEngine 0.10.7's ``AmpOptimWrapper`` cannot run without a GPU: its
``__init__`` asserts that CUDA (or NPU/MLU/MUSA) is available, its loss
scaler is CUDA's, and ``mmengine.runner.amp.autocast`` on the CPU accepts
only ``bfloat16``. Under a CPU bfloat16 autocast MMPose's heads also fail:
their ``loss`` computes the logged accuracy with ``to_numpy(pred_fields)``,
and numpy has no bfloat16 (``TypeError: Got unsupported ScalarType
BFloat16``).

:class:`CpuAmpOptimWrapper` is an ``OptimWrapper`` whose ``optim_context``
runs the model's backbone and neck, where the time goes, under bfloat16
autocast, and hands their outputs to the head in float32, so the head and
its loss run in float32 as MMPose's heads need. bfloat16 has float32's
exponent range, so gradients do not underflow the way float16's do and no
loss scaling is needed. :class:`~.CpuAmpOptimWrapperConstructor` builds it
wherever a config or ``tools/train.py --amp`` asks for ``AmpOptimWrapper``
on a machine without a GPU.
"""
import logging
from contextlib import contextmanager
from typing import Any, Iterator, List, Optional, Union

import torch
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper
from mmpose.registry import OPTIM_WRAPPERS
from torch import nn

__all__ = ['CpuAmpOptimWrapper']


def _to_float32(data: Any) -> Any:
    if isinstance(data, torch.Tensor):
        return data.float() if data.is_floating_point() else data
    if isinstance(data, (list, tuple)):
        return type(data)(_to_float32(d) for d in data)
    if isinstance(data, dict):
        return {k: _to_float32(v) for k, v in data.items()}
    return data


@contextmanager
def _autocast_feature_extractor(model: nn.Module,
                                dtype: torch.dtype) -> Iterator[None]:
    """bfloat16 autocast around ``model.backbone`` and ``model.neck`` calls.

    Through forward pre-/post-hooks registered for the block only; a model
    without a backbone runs entirely under autocast.
    """
    module = model.module if is_model_wrapper(model) else model
    parts = [
        part for part in (getattr(module, 'backbone', None),
                          getattr(module, 'neck', None))
        if isinstance(part, nn.Module)
    ]
    if not parts:
        with torch.autocast('cpu', dtype=dtype):
            yield
        return
    active: List[torch.autocast] = []

    def enter(part, args):
        context = torch.autocast('cpu', dtype=dtype)
        context.__enter__()
        active.append(context)

    def leave(part, args, output):
        active.pop().__exit__(None, None, None)
        return _to_float32(output)

    handles = [h for part in parts for h in (
        part.register_forward_pre_hook(enter),
        part.register_forward_hook(leave))]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
        while active:  # a forward that raised never reached ``leave``
            active.pop().__exit__(None, None, None)


@OPTIM_WRAPPERS.register_module()
class CpuAmpOptimWrapper(OptimWrapper):
    """bfloat16 mixed precision on the CPU for top-down pose models.

    ``optim_wrapper = dict(type='CpuAmpOptimWrapper', optimizer=...)``, or
    ``AmpOptimWrapper`` with the package's
    ``CpuAmpOptimWrapperConstructor`` (every config of the package selects
    it), which turns it into this wrapper when there is no GPU. The
    backbone and neck run under bfloat16 autocast, the head and its loss in
    float32 (see the module docstring); parameters, gradients and the
    optimizer state stay float32.

    Args:
        loss_scale (float | str | dict): Accepted so that configs written
            for ``AmpOptimWrapper`` build, and ignored: bfloat16 needs no
            loss scaling. Defaults to ``'dynamic'``.
        dtype (str | torch.dtype, optional): Autocast dtype. The CPU
            autocast supports ``bfloat16`` here; ``None`` and ``'float16'``
            (a GPU config) become bfloat16 with a warning for the latter.
            Defaults to ``'bfloat16'``.
        use_fsdp (bool): Must be ``False`` (FSDP needs GPUs). Defaults to
            ``False``.
        **kwargs: The arguments of ``OptimWrapper`` (``optimizer``,
            ``accumulative_counts``, ``clip_grad``).
    """

    def __init__(self,
                 loss_scale: Union[float, str, dict] = 'dynamic',
                 dtype: Optional[Union[str, torch.dtype]] = 'bfloat16',
                 use_fsdp: bool = False,
                 **kwargs):
        if use_fsdp:
            raise ValueError('CpuAmpOptimWrapper: use_fsdp=True needs GPUs.')
        super().__init__(**kwargs)
        if isinstance(dtype, torch.dtype):
            dtype = str(dtype).replace('torch.', '')
        if dtype not in (None, 'bfloat16', 'float16'):
            raise ValueError(f'CpuAmpOptimWrapper: dtype must be bfloat16 '
                             f'(or float16 / None, read as bfloat16), got '
                             f'{dtype!r}')
        if dtype == 'float16':
            print_log(
                "CpuAmpOptimWrapper: autocast dtype 'float16' replaced by "
                "'bfloat16', which needs no loss scaling.",
                logger='current', level=logging.WARNING)
        self.cast_dtype = torch.bfloat16
        print_log('Mixed precision on the CPU: bfloat16 autocast of the '
                  'backbone and neck, head and loss in float32, no loss '
                  'scaling (CpuAmpOptimWrapper).', logger='current')

    def load_state_dict(self, state_dict: dict) -> None:
        """Load the optimizer state; an ``AmpOptimWrapper`` checkpoint's
        loss scaler state (written on a GPU) is dropped."""
        state_dict = dict(state_dict)
        state_dict.pop('loss_scaler', None)
        super().load_state_dict(state_dict)

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """Gradient accumulation as ``OptimWrapper``, plus bfloat16
        autocast of the backbone and neck."""
        with super().optim_context(model), _autocast_feature_extractor(
                model, self.cast_dtype):
            yield
