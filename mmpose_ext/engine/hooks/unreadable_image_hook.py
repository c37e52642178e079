"""One documented policy for images that cannot be read.

MMPose's ``LoadImage`` turns a bad image into an opaque error: an empty
file gives OpenCV's ``(-215:Assertion failed) !buf.empty() in function
'imdecode_'``, a corrupt one an ``AssertionError``, both with the advice to
"check whether the file exists". :class:`UnreadableImageHook` (switched on
by every config of the package, see ``configs/_base_/``) wraps the image
loading transforms of the run's datasets in :class:`GuardedImageLoading`
(:func:`guard_dataset`), which applies one policy:

* **training** (``test_mode=False``): the image is *skipped* with a warning
  that names it (once per file). The transform returns ``None``, and
  MMEngine's ``BaseDataset`` then draws another random sample, as it does
  for any sample its pipeline drops; the epoch keeps its length. A
  half-downloaded data set thus costs a few samples, not a multi-day run.
* **validation and testing** (``test_mode=True``): the run *fails* with an
  :class:`UnreadableImageError` naming the file, because a metric computed
  without some images of the annotation file would be silently wrong.
  Under several ranks, every rank stops at that batch
  (:class:`~..fail_together.FailTogetherLoader`), not only the one that
  met the image.

The hook wraps a dataset before its loop iterates it (``before_train``,
``before_val``, ``before_test``), so the wrapped pipeline reaches the
dataloader workers. MMEngine's iteration-based training loop starts its
workers when it is built, before ``before_train``, with the unguarded
pipeline: the hook then restarts its iterator (the workers are shut down
and forked again from the guarded dataset; nothing was consumed yet).
"""
import logging
import os.path as osp
from typing import Any, Iterator, Optional

from mmcv.transforms import LoadImageFromFile
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmpose.registry import HOOKS

from ...private_state import restart_iteration_loop_workers
from ..fail_together import FailTogetherLoader

__all__ = [
    'GuardedImageLoading', 'UnreadableImageError', 'UnreadableImageHook',
    'guard_dataset'
]


class UnreadableImageError(ValueError):
    """An image of an evaluation data set is missing or cannot be decoded."""


def _describe(path: Optional[str], err: Optional[BaseException]) -> str:
    detail = f' ({type(err).__name__}: {err})' if err is not None else ''
    if path is None or '://' in str(path):
        return f'could not be loaded{detail}'
    if not osp.exists(path):
        return 'does not exist'
    size = osp.getsize(path)
    if size == 0:
        return 'is empty (0 bytes)'
    return (f'cannot be decoded as an image ({size} bytes: a truncated '
            'download or not an image file)')


class GuardedImageLoading:
    """Wrap an image loading transform with the skip/fail policy.

    Args:
        transform (callable): The dataset's ``LoadImage`` (any
            ``LoadImageFromFile``) instance.
        skip (bool): ``True`` to skip unreadable images with a warning
            (training), ``False`` to raise :class:`UnreadableImageError`.
    """

    def __init__(self, transform: Any, skip: bool):
        self.transform = transform
        self.skip = skip
        self._reported = set()

    def __call__(self, results: dict) -> Optional[dict]:
        path = results.get('img_path')
        error = None
        try:
            out = self.transform(results)
        except Exception as err:  # noqa: BLE001 - re-raised with context
            out, error = None, err
        if out is not None and out.get('img') is not None:
            return out
        problem = _describe(path, error)
        if self.skip:
            if path not in self._reported:
                self._reported.add(path)
                print_log(f'Skipping training image {path}: it {problem}.',
                          logger='current', level=logging.WARNING)
            return None
        raise UnreadableImageError(
            f'Cannot load image {path}: it {problem}. Evaluation needs '
            'every image its annotation file lists: restore the file or '
            'remove its entries from the annotation file. (Training skips '
            'such images with a warning.)') from error

    def __repr__(self) -> str:
        return (f'{type(self).__name__}({self.transform!r}, '
                f'skip={self.skip})')


def _datasets(dataset: Any) -> Iterator[Any]:
    """``dataset`` and every dataset it wraps."""
    yield dataset
    for child in getattr(dataset, 'datasets', None) or []:
        yield from _datasets(child)
    child = getattr(dataset, 'dataset', None)
    if child is not None:
        yield from _datasets(child)


def guard_dataset(dataset: Any, skip_in_training: bool = True) -> None:
    """Guard the image loading of a built dataset (idempotent).

    Args:
        dataset (Dataset): A built dataset, possibly a wrapper
            (``ConcatDataset``, ``RepeatDataset``, MMPose's
            ``CombinedDataset``).
        skip_in_training (bool): Skip unreadable images of datasets with
            ``test_mode=False``; ``False`` makes them fatal too. Defaults
            to ``True``.
    """
    for ds in _datasets(dataset):
        transforms = getattr(getattr(ds, 'pipeline', None), 'transforms',
                             None)
        if not isinstance(transforms, list):
            continue
        skip = skip_in_training and not getattr(ds, 'test_mode', False)
        for i, transform in enumerate(transforms):
            if isinstance(transform, LoadImageFromFile):
                transforms[i] = GuardedImageLoading(transform, skip)


@HOOKS.register_module()
class UnreadableImageHook(Hook):
    """Skip unreadable training images, fail on unreadable evaluation ones.

    ``default_hooks = dict(unreadable_image=dict(type=
    'UnreadableImageHook'))``: guards the
    datasets of the training, validation and test loops with
    :func:`guard_dataset` before each loop runs (see the module docstring
    for the policy and its one limitation).

    Args:
        skip_in_training (bool): ``True`` skips an unreadable training image
            with a warning naming it; ``False`` stops training with
            :class:`UnreadableImageError` instead. Evaluation always stops.
            Defaults to ``True``.
    """

    priority = 'VERY_HIGH'

    def __init__(self, skip_in_training: bool = True):
        self.skip_in_training = bool(skip_in_training)

    def before_train(self, runner) -> None:
        loader = runner.train_dataloader
        guard_dataset(loader.dataset, self.skip_in_training)
        loop = runner.train_loop
        if getattr(loop, 'dataloader_iterator', None) is not None and (
                loader.num_workers > 0):
            # IterBasedTrainLoop forked its workers when it was built
            restart_iteration_loop_workers(loop)

    def before_val(self, runner) -> None:
        guard_dataset(runner.val_dataloader.dataset, self.skip_in_training)
        _fail_together(runner.val_loop, 'validation')

    def before_test(self, runner) -> None:
        guard_dataset(runner.test_dataloader.dataset, self.skip_in_training)
        _fail_together(runner.test_loop, 'testing')


def _fail_together(loop: Any, what: str) -> None:
    """Under several ranks, an evaluation batch that fails to load on one
    rank stops every rank (:class:`~..fail_together.FailTogetherLoader`)."""
    if get_world_size() > 1 and not isinstance(loop.dataloader,
                                               FailTogetherLoader):
        loop.dataloader = FailTogetherLoader(loop.dataloader, what)
