"""Mixed-precision training on the CPU through MMEngine's AmpOptimWrapper.

``tools/train.py --amp`` switches the config to MMEngine's
``AmpOptimWrapper`` (``loss_scale='dynamic'``). In MMEngine 0.10.7 that
wrapper cannot run without a GPU:

* its ``__init__`` asserts that CUDA (or NPU/MLU/MUSA) is available;
* its loss scaler is ``torch.cuda.amp.GradScaler``, which disables itself
  without CUDA;
* ``mmengine.runner.amp.autocast`` on the CPU only accepts ``bfloat16``.

And under a CPU ``bfloat16`` autocast MMPose's heads fail: their ``loss``
computes the logged accuracy with ``to_numpy(pred_fields)``, and numpy has
no bfloat16 (``TypeError: Got unsupported ScalarType BFloat16``).

:class:`CpuAmpOptimWrapper` is ``AmpOptimWrapper`` for the CPU: bfloat16
autocast around the forward pass and no loss scaling (bfloat16 has
float32's exponent range, so gradients do not underflow the way float16's
do), and the model's ``head.loss`` runs in float32 on float32 features
(the backbone and neck, where the time goes, stay in bfloat16). On CUDA
nothing changes: MMEngine's wrapper runs float16 with dynamic loss scaling.
"""
import functools
import logging
from contextlib import contextmanager
from typing import Any, Iterator, Union

import torch
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from torch import nn

__all__ = ['CpuAmpOptimWrapper', 'run_head_in_float32']


def _to_float32(data: Any) -> Any:
    if isinstance(data, torch.Tensor):
        return data.float() if data.is_floating_point() else data
    if isinstance(data, (list, tuple)):
        return type(data)(_to_float32(d) for d in data)
    if isinstance(data, dict):
        return {k: _to_float32(v) for k, v in data.items()}
    return data


def run_head_in_float32(model: nn.Module) -> None:
    """Make ``model.head.loss`` run without autocast on float32 inputs.

    Idempotent. Models without a ``head`` are left alone.

    Args:
        model (nn.Module): A pose estimator, possibly wrapped (DDP).
    """
    module = model.module if is_model_wrapper(model) else model
    head = getattr(module, 'head', None)
    if head is None or getattr(head, '_loss_in_float32', False):
        return
    original = head.loss

    @functools.wraps(original)
    def loss_in_float32(feats, *args, **kwargs):
        with torch.autocast('cpu', enabled=False):
            return original(_to_float32(feats), *args, **kwargs)

    head.loss = loss_in_float32
    head._loss_in_float32 = True


class CpuAmpOptimWrapper(AmpOptimWrapper):
    """``AmpOptimWrapper`` that runs on the CPU with bfloat16 autocast.

    Args:
        loss_scale (float | str | dict): Accepted for config compatibility
            and ignored: bfloat16 needs no loss scaling. Defaults to
            ``'dynamic'``.
        dtype (str | torch.dtype, optional): Autocast dtype. The CPU
            autocast only supports ``bfloat16``; ``None`` and ``'float16'``
            (a GPU config) become bfloat16. Defaults to ``'bfloat16'``.
        use_fsdp (bool): Must be ``False`` (FSDP needs GPUs). Defaults to
            ``False``.
        **kwargs: Arguments of ``OptimWrapper`` (``optimizer``,
            ``clip_grad``, ``accumulative_counts``).
    """

    def __init__(self,
                 loss_scale: Union[float, str, dict] = 'dynamic',
                 dtype: Union[str, torch.dtype, None] = 'bfloat16',
                 use_fsdp: bool = False,
                 **kwargs):
        if use_fsdp:
            raise ValueError('CpuAmpOptimWrapper: use_fsdp=True needs GPUs.')
        # Skip AmpOptimWrapper.__init__: it asserts that CUDA is available.
        OptimWrapper.__init__(self, **kwargs)
        if isinstance(dtype, torch.dtype):
            dtype = str(dtype).replace('torch.', '')
        if dtype not in (None, 'bfloat16'):
            print_log(
                f'AMP on the CPU: autocast dtype {dtype!r} replaced by '
                "'bfloat16', the only dtype MMEngine's CPU autocast "
                'supports.', logger='current', level=logging.WARNING)
        self.cast_dtype = torch.bfloat16
        self._scale_update_param = None
        # A disabled scaler passes the loss and the step through unchanged.
        self.loss_scaler = torch.amp.GradScaler('cpu', enabled=False)
        print_log('Mixed precision on the CPU: bfloat16 autocast without '
                  'loss scaling (CpuAmpOptimWrapper).', logger='current')

    def state_dict(self) -> dict:
        """Optimizer state without the (disabled) loss scaler's."""
        state_dict = super().state_dict()
        state_dict.pop('loss_scaler', None)
        return state_dict

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """bfloat16 autocast, with the head's loss in float32."""
        run_head_in_float32(model)
        with super().optim_context(model):
            yield
