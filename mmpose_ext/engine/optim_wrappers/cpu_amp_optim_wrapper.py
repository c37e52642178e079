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
its loss run in float32 as MMPose's heads need (``autocast_head=True``
runs the head's network, i.e. its ``forward``, under autocast too and
hands its outputs to the loss in float32). bfloat16 has float32's
exponent range, so gradients do not underflow the way float16's do and no
loss scaling is needed. :class:`~.CpuAmpOptimWrapperConstructor` builds it
wherever a config or ``tools/train.py --amp`` asks for ``AmpOptimWrapper``
on a machine without a GPU.
"""
import functools
import logging
import os
import platform
from contextlib import contextmanager
from typing import Any, Callable, Iterator, MutableMapping, Optional, Union

import torch
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper
from mmpose.registry import OPTIM_WRAPPERS
from torch import nn

__all__ = ['FORCE_ENV', 'CpuAmpOptimWrapper', 'native_bfloat16']

#: Set to 1 to autocast on any CPU (as ``native_only=False`` everywhere).
FORCE_ENV = 'MMPOSE_EXT_CPU_BF16'
#: CPU feature flags (``/proc/cpuinfo``) of native bfloat16 arithmetic:
#: x86 AVX-512 BF16 / AMX, Arm's BF16 extension.
BFLOAT16_FLAGS = ('avx512_bf16', 'amx_bf16', 'bf16')


@functools.lru_cache(maxsize=None)
def native_bfloat16(cpuinfo: str = '/proc/cpuinfo') -> bool:
    """Whether this CPU has native bfloat16 instructions.

    Without them (most x86 CPUs before Intel's Cooper Lake / Sapphire
    Rapids and AMD's Zen 4) PyTorch emulates bfloat16 and mixed precision
    is slower than float32. Read from the feature flags of ``cpuinfo``
    (Linux); ``False`` where they cannot be read.
    """
    try:
        with open(cpuinfo) as f:
            text = f.read()
    except OSError:
        return False
    for line in text.splitlines():
        key, _, value = line.partition(':')
        if key.strip() in ('flags', 'Features'):
            return bool(set(value.split()) & set(BFLOAT16_FLAGS))
    return False


def _to_float32(data: Any) -> Any:
    if isinstance(data, torch.Tensor):
        return data.float() if data.is_floating_point() else data
    if isinstance(data, (list, tuple)):
        return type(data)(_to_float32(d) for d in data)
    if isinstance(data, dict):
        return {k: _to_float32(v) for k, v in data.items()}
    return data


def _autocast_forward(forward: Callable, dtype: torch.dtype,
                      device_type: str = 'cpu') -> Callable:
    """``forward`` under autocast, its outputs returned as float32."""

    def run(*args, **kwargs):
        with torch.autocast(device_type, dtype=dtype):
            out = forward(*args, **kwargs)
        return _to_float32(out)

    return run


@contextmanager
def _autocast_feature_extractor(model: nn.Module, dtype: torch.dtype,
                                wrapped: MutableMapping,
                                head: bool = False) -> Iterator[None]:
    """bfloat16 autocast around ``model.backbone`` and ``model.neck`` calls
    (and ``model.head``'s ``forward`` with ``head=True``: the head's
    network in bfloat16, its float32 outputs to its loss and accuracy).

    Each part's ``forward`` is shadowed, for the duration of the context,
    by an instance attribute that runs the part's ``forward`` inside a
    ``torch.autocast`` block and returns float32 outputs (an instance
    ``forward`` set by someone else is wrapped the same way and restored
    afterwards). A part the fast path compiled (``compile=True``: its
    ``forward`` is the compiled instance attribute) runs its compiled
    forward inside the block, which dynamo traces under the autocast
    state it is called in; autocast entered in a forward pre-hook and left
    in a forward hook of a compiled module call could not be traced
    (dynamo: ``NotImplementedError: AutocastModeVariable``). The
    shadowing functions are kept in
    ``wrapped``, by part, with the ``forward`` they wrap, so that a
    compiled part sees the same function at every step and is not
    recompiled. A model without a backbone runs entirely under autocast.
    Autocast is that of the device the model's parameters are on (the CPU
    for a model without parameters).
    """
    module = model.module if is_model_wrapper(model) else model
    device_type = next((p.device.type for p in module.parameters()), 'cpu')
    parts = [
        part for part in (getattr(module, 'backbone', None),
                          getattr(module, 'neck', None),
                          getattr(module, 'head', None) if head else None)
        if isinstance(part, nn.Module)
    ]
    if not parts:
        with torch.autocast(device_type, dtype=dtype):
            yield
        return
    before = {}  # each part's own instance ``forward``, if it had one
    try:
        for part in parts:
            inner = part.forward
            if part not in wrapped or wrapped[part][0] != inner:
                wrapped[part] = (inner, _autocast_forward(
                    inner, dtype, device_type))
            before[part] = vars(part).get('forward')
            part.forward = wrapped[part][1]
        yield
    finally:
        for part, forward in before.items():
            if forward is None:
                del part.forward
            else:
                part.forward = forward


@OPTIM_WRAPPERS.register_module()
class CpuAmpOptimWrapper(OptimWrapper):
    """bfloat16 mixed precision on the CPU for top-down pose models.

    ``optim_wrapper = dict(type='CpuAmpOptimWrapper', optimizer=...)``, or
    ``AmpOptimWrapper`` with the package's
    ``CpuAmpOptimWrapperConstructor`` (every config of the package selects
    it), which turns it into this wrapper when there is no GPU. The
    backbone and neck run under bfloat16 autocast, the head and its loss in
    float32 (see the module docstring); parameters, gradients and the
    optimizer state stay float32. Autocast follows the model's device: on
    CUDA (with ``native_only=False``, a CPU check) this is bfloat16 for
    MMPose's heads, whose loss fails under MMEngine's ``AmpOptimWrapper``
    with ``dtype='bfloat16'`` (numpy has no bfloat16).

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
        native_only (bool): Train in float32, with one warning, on a CPU
            without native bfloat16 instructions
            (:func:`native_bfloat16`), where emulated bfloat16 is slower
            than float32. ``False`` (or the environment variable
            ``MMPOSE_EXT_CPU_BF16=1``) autocasts anyway. Defaults to
            ``True``.
        autocast_head (bool): Also run the head's ``forward`` (its
            network) under autocast; its outputs are handed to the loss
            and MMPose's numpy accuracy in float32. For heads with much of
            the model's compute (CPN's GlobalNet and RefineNet). Defaults
            to ``False``: the head in float32.
        **kwargs: The arguments of ``OptimWrapper`` (``optimizer``,
            ``accumulative_counts``, ``clip_grad``).
    """

    def __init__(self,
                 loss_scale: Union[float, str, dict] = 'dynamic',
                 dtype: Optional[Union[str, torch.dtype]] = 'bfloat16',
                 use_fsdp: bool = False,
                 native_only: bool = True,
                 autocast_head: bool = False,
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
        self.cast_dtype: Optional[torch.dtype] = torch.bfloat16
        self.autocast_head = bool(autocast_head)
        # the autocast forward of each backbone / neck, made once
        self._autocast_forwards: MutableMapping = {}
        if (native_only and os.environ.get(FORCE_ENV) != '1'
                and not native_bfloat16()):
            self.cast_dtype = None
            print_log(
                f'CpuAmpOptimWrapper: this CPU ({platform.machine()}) has no '
                f'native bfloat16 instructions (none of the flags '
                f'{", ".join(BFLOAT16_FLAGS)}), where bfloat16 is emulated '
                'and slower than float32: training in float32. Set '
                'optim_wrapper.native_only=False to autocast anyway.',
                logger='current', level=logging.WARNING)
            return
        head = ('head network under autocast, its outputs, loss and '
                'accuracy in float32' if self.autocast_head else
                'head and loss in float32')
        print_log('Mixed precision on the CPU: bfloat16 autocast of the '
                  f'backbone and neck, {head}, no loss scaling '
                  '(CpuAmpOptimWrapper).', logger='current')

    def load_state_dict(self, state_dict: dict) -> None:
        """Load the optimizer state; an ``AmpOptimWrapper`` checkpoint's
        loss scaler state (written on a GPU) is dropped."""
        state_dict = dict(state_dict)
        state_dict.pop('loss_scaler', None)
        super().load_state_dict(state_dict)

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """Gradient accumulation as ``OptimWrapper``, plus bfloat16
        autocast of the backbone and neck (and the head's network with
        ``autocast_head``)."""
        if self.cast_dtype is None:  # no native bfloat16: float32
            with super().optim_context(model):
                yield
            return
        with super().optim_context(model), _autocast_feature_extractor(
                model, self.cast_dtype, self._autocast_forwards,
                self.autocast_head):
            yield
