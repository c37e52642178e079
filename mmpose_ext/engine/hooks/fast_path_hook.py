"""Channels-last weights and a compiled network in any runner."""
import logging

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmpose.registry import HOOKS
from torch.nn.parallel import DistributedDataParallel

from ..fast_path import (
    apply_fast_path,
    compile_options,
    network_modules,
    undo_mmengine_train_step_compile,
)
from ..model_wrappers import ChannelsLastDistributedDataParallel

__all__ = ['FastPathHook']


@HOOKS.register_module()
class FastPathHook(Hook):
    """Run the network channels-last and/or compiled (``torch.compile``).

    Switched on with ``default_hooks = dict(fast_path=dict(type=
    'FastPathHook', channels_last=True))`` (the package's runtime base
    does: channels-last was faster for every model family, see
    ``docs/fast_path.md``) and MMEngine's own ``compile=True`` (or a dict
    of ``torch.compile`` options), e.g. ``tools/train.py CONFIG
    --cfg-options compile=True``. Before the training, validation and test
    loops the runner's model gets the fast path
    (:mod:`mmpose_ext.engine.fast_path`): its weights channels-last, and
    the backbone, neck and head compiled in place (logged) instead of
    MMEngine's whole ``train_step``, which
    :func:`~mmpose_ext.engine.fast_path.undo_mmengine_train_step_compile`
    removes, so MMEngine's data structures and the optimizer stay eager.

    Args:
        channels_last (bool): Store the network's weights channels-last.
            Defaults to ``False``.
    """

    priority = 'VERY_HIGH'

    def __init__(self, channels_last: bool = False):
        if not isinstance(channels_last, bool):
            raise TypeError(
                f'channels_last must be a bool, got {channels_last!r}')
        self.channels_last = channels_last
        self._logged = False

    def _apply(self, runner) -> None:
        options = compile_options(runner.cfg.get('compile'))
        apply_fast_path(runner.model, self.channels_last, options)
        if self._logged:
            return
        self._logged = True
        if options is not None:
            names = ', '.join(
                type(m).__name__ for m in network_modules(runner.model))
            runner.logger.info(
                f'FastPathHook: compiled {names} with torch.compile'
                f'({options}); the first iterations include the compilation')
        if self.channels_last:
            runner.logger.info('FastPathHook: channels-last weights')

    def before_train(self, runner) -> None:
        """Check the DDP wrapper; undo MMEngine's ``train_step`` compile;
        apply the fast path."""
        check_ddp_wrapper(runner.model, self.channels_last,
                          runner.cfg.get('find_unused_parameters'))
        if compile_options(runner.cfg.get('compile')) is not None:
            undo_mmengine_train_step_compile(runner)
        self._apply(runner)

    def before_val(self, runner) -> None:
        self._apply(runner)

    def before_test(self, runner) -> None:
        self._apply(runner)


def check_ddp_wrapper(model, channels_last: bool,
                      find_unused_parameters=None) -> None:
    """Check a DDP-wrapped model against the fast path's settings.

    Args:
        model (nn.Module): The runner's model.
        channels_last (bool): The hook's ``channels_last``.
        find_unused_parameters (bool, optional): The config's top-level
            ``find_unused_parameters`` (MMEngine reads it only for its
            default wrapper).

    Raises:
        ValueError: the config asks for ``find_unused_parameters`` but the
            wrapper the config selects was built without it.
    """
    if not isinstance(model, DistributedDataParallel):
        return
    if find_unused_parameters and not model.find_unused_parameters:
        raise ValueError(
            'find_unused_parameters=True is set at the top of the config, '
            f'but model_wrapper_cfg selects {type(model).__name__}, which '
            'MMEngine builds from model_wrapper_cfg alone: set '
            'model_wrapper_cfg.find_unused_parameters=True')
    if channels_last and not getattr(model, 'channels_last', False):
        print_log(
            f'FastPathHook: channels-last weights under {type(model).__name__}'
            ', whose gradient buckets were laid out before: every step '
            "copies the gradients. Use model_wrapper_cfg=dict(type='mmpose."
            f"{ChannelsLastDistributedDataParallel.__name__}') (the "
            "package's runtime base does).", logger='current',
            level=logging.WARNING)
