"""Build ``AmpOptimWrapper`` configs as bfloat16 AMP on a machine without a
GPU (see :mod:`.cpu_amp_optim_wrapper`)."""
import logging
from typing import Optional

from mmengine.device import get_device
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper, DefaultOptimWrapperConstructor
from mmpose.registry import OPTIM_WRAPPER_CONSTRUCTORS

from .cpu_amp_optim_wrapper import CpuAmpOptimWrapper

__all__ = ['CpuAmpOptimWrapperConstructor']


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class CpuAmpOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """MMEngine's default constructor, with AMP that also runs on the CPU.

    ``optim_wrapper = dict(constructor='CpuAmpOptimWrapperConstructor',
    optimizer=...)`` (every config of the package sets it, see
    ``configs/_base_/``). Optimizers and ``paramwise_cfg`` are built exactly
    as by ``DefaultOptimWrapperConstructor``; only an ``AmpOptimWrapper``
    (what MMPose's stock ``tools/train.py --amp`` selects) becomes a
    :class:`CpuAmpOptimWrapper` when MMEngine finds no accelerator
    (``mmengine.device.get_device() == 'cpu'``). On a GPU nothing changes,
    except that ``autocast_head`` (a :class:`CpuAmpOptimWrapper` argument)
    is dropped: MMEngine's ``AmpOptimWrapper`` autocasts the whole model,
    head included, so ``--amp --cfg-options optim_wrapper.autocast_head=True``
    builds on both.

    Args:
        optim_wrapper_cfg (dict): The ``optim_wrapper`` config without
            ``constructor`` and ``paramwise_cfg``.
        paramwise_cfg (dict, optional): Parameter-wise options, as for
            ``DefaultOptimWrapperConstructor``. Defaults to ``None``.
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None):
        if optim_wrapper_cfg.get('type') in ('AmpOptimWrapper',
                                             AmpOptimWrapper):
            if get_device() == 'cpu':
                print_log('No GPU: AmpOptimWrapper is built as '
                          'CpuAmpOptimWrapper (bfloat16 autocast without '
                          'loss scaling).', logger='current',
                          level=logging.INFO)
                optim_wrapper_cfg = dict(optim_wrapper_cfg,
                                         type=CpuAmpOptimWrapper)
            else:  # the whole model is autocast there
                optim_wrapper_cfg = {k: v for k, v in optim_wrapper_cfg.items()
                                     if k != 'autocast_head'}
        super().__init__(optim_wrapper_cfg, paramwise_cfg)
