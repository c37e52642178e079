"""Refuse a checkpoint that does not fit the model, or codecs that do not
fit the model and the crops, in any runner.

MMEngine's runner loads ``load_from`` (``tools/test.py CONFIG CHECKPOINT``
sets it) and resumed checkpoints leniently: missing weights keep their
random initialisation and weights of other shapes are skipped with a
warning, so the wrong checkpoint silently scores a random model.
:class:`CheckpointFitHook` checks every checkpoint the runner loads
(``after_load_checkpoint``), MMPose's stock ``tools/test.py`` and
``tools/train.py`` included, and raises
:class:`~mmpose_ext.engine.checkpoint_fit.CheckpointMismatchError`.
Before training and testing it also checks the config's input and heatmap
sizes (:func:`~mmpose_ext.engine.size_check.check_sizes`): a decoder whose
sizes disagree with the crops or the model scores AP 0 without an error.
"""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import find_latest_checkpoint
from mmpose.registry import HOOKS

from ..checkpoint_fit import check_checkpoint
from ..size_check import check_sizes

__all__ = ['CheckpointFitHook']


@HOOKS.register_module()
class CheckpointFitHook(Hook):
    """Raise when a loaded checkpoint leaves model weights uninitialised,
    holds weights the model has no place for, or has weights of other
    shapes.

    Switched on with ``default_hooks = dict(checkpoint_fit=dict(type=
    'CheckpointFitHook'))`` (every config of the package does, see
    ``configs/_base_/mmpose_ext_runtime.py``). The error names how many
    keys are missing, unexpected and of other shapes, the first few of
    each, and the configs of the package that probably fit the checkpoint
    (the one its training run recorded, else those whose model has exactly
    its weights). The same rule applies to fine-tuning from ``load_from``:
    a deliberate partial load (another head, another keypoint count) sets
    ``allow_partial``.

    Before the training and the test loop it raises
    :class:`~mmpose_ext.engine.size_check.SizeMismatchError` when the
    config's crops, codecs and model output disagree on their sizes, so
    MMPose's stock tools stop too.

    Args:
        allow_partial (bool): Only log a partial fit, as MMEngine does.
            Defaults to ``False``; ``--allow-partial`` of the package's
            tools sets it.
    """

    priority = 'VERY_HIGH'

    def __init__(self, allow_partial: bool = False):
        if not isinstance(allow_partial, bool):
            raise TypeError(
                f'allow_partial must be a bool, got {allow_partial!r}')
        self.allow_partial = allow_partial

    def before_train(self, runner) -> None:
        """Check the sizes of the training and validation data."""
        check_sizes(runner.cfg, ('train', 'val'))

    def before_test(self, runner) -> None:
        """Check the sizes of the test data."""
        check_sizes(runner.cfg, ('test', ))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Check the checkpoint the runner has just loaded.

        Args:
            runner (Runner): The runner.
            checkpoint (dict): The loaded checkpoint.
        """
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        filename = runner.cfg.get('load_from')
        if filename is None and runner.cfg.get('resume', False):
            # what MMEngine 0.10's auto-resume loads (it sets no key)
            filename = find_latest_checkpoint(runner.work_dir)
        filename = filename or '(loaded by the runner)'
        check_checkpoint(model, checkpoint, str(filename),
                         allow_partial=self.allow_partial,
                         config=runner.cfg.filename, logger=runner.logger)
