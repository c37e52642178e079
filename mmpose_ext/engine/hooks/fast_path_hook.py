"""Channels-last weights and a compiled network in any runner."""
from mmengine.hooks import Hook
from mmpose.registry import HOOKS

from ..fast_path import (
    apply_fast_path,
    compile_options,
    network_modules,
    undo_mmengine_train_step_compile,
)

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
        """Undo MMEngine's ``train_step`` compile; apply the fast path."""
        if compile_options(runner.cfg.get('compile')) is not None:
            undo_mmengine_train_step_compile(runner)
        self._apply(runner)

    def before_val(self, runner) -> None:
        self._apply(runner)

    def before_test(self, runner) -> None:
        self._apply(runner)
