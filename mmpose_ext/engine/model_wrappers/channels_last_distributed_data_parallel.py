"""MMEngine's DDP wrapper over a network stored channels-last first."""
from typing import Optional, Sequence

from mmengine.model import MMDistributedDataParallel
from mmpose.registry import MODEL_WRAPPERS
from torch import nn

from ..fast_path import to_channels_last

__all__ = ['ChannelsLastDistributedDataParallel']


@MODEL_WRAPPERS.register_module()
class ChannelsLastDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` whose module is channels-last before
    DDP lays out its gradient buckets.

    DDP fixes the memory layout of its gradient buckets when it is built
    (MMEngine builds it in ``Runner.__init__``, before any hook runs). A
    network made channels-last afterwards (by
    :class:`~mmpose_ext.engine.FastPathHook`) produces gradients whose
    strides no longer match the buckets: PyTorch warns "Grad strides do
    not match bucket view strides" and copies every gradient on every
    step. Selected by the package's runtime base
    (``configs/_base_/mmpose_ext_runtime.py``)::

        model_wrapper_cfg = dict(
            type='mmpose.ChannelsLastDistributedDataParallel',
            broadcast_buffers=False, find_unused_parameters=False)

    (the type with its scope: MMEngine 0.10.7's runner looks it up with
    ``MODEL_WRAPPERS.get`` in MMEngine's root registry, which finds
    MMPose's children only by scope; the arguments are those MMEngine's
    runner gives its default wrapper; a config that needs unused
    parameters sets
    ``model_wrapper_cfg.find_unused_parameters=True``: with a wrapper
    config MMEngine no longer reads the top-level
    ``find_unused_parameters``, and ``FastPathHook`` refuses a run whose
    two settings disagree). Used only when a run is launched with several
    processes; a single-process run is unchanged.

    Args:
        module (nn.Module): The pose estimator (on its device).
        channels_last (bool): Store the module's weights channels-last
            before wrapping. Defaults to ``True``; keep it equal to
            ``default_hooks.fast_path.channels_last``.
        device_ids (Sequence[int], optional): DDP's ``device_ids``; dropped
            for a module on the CPU (DDP refuses them there; MMEngine's
            runner passes ``[LOCAL_RANK]`` to every DDP wrapper).
        **kwargs: The other arguments of ``MMDistributedDataParallel``
            (``broadcast_buffers``, ``find_unused_parameters``, ...).
    """

    def __init__(self,
                 module: nn.Module,
                 channels_last: bool = True,
                 device_ids: Optional[Sequence[int]] = None,
                 **kwargs) -> None:
        if not isinstance(channels_last, bool):
            raise TypeError(
                f'channels_last must be a bool, got {channels_last!r}')
        if channels_last:
            to_channels_last(module)
        param = next(module.parameters(), None)
        if param is None or param.device.type == 'cpu':
            device_ids = None
        super().__init__(module=module, device_ids=device_ids, **kwargs)
        self.channels_last = channels_last
