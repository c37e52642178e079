"""Clear handling of empty datasets and unreadable images.

MMPose's ``LoadImage`` turns a bad image into an opaque error: an empty
file gives OpenCV's ``(-215:Assertion failed) !buf.empty() in function
'imdecode_'``, a corrupt one an ``AssertionError``, both with the advice to
"check whether the file exists". :func:`guard_dataset` wraps the image
loading transforms of a built dataset in :class:`GuardedImageLoading`,
which applies one documented policy:

* **training** (``test_mode=False``): the image is *skipped* with a warning
  that names it (once per file). The transform returns ``None``, and
  MMEngine's ``BaseDataset`` then draws another random sample, as it does
  for any sample its pipeline drops; the epoch keeps its length. A
  half-downloaded data set thus costs a few samples, not a multi-day run.
* **validation and testing** (``test_mode=True``): the run *fails* with an
  :class:`UnreadableImageError` naming the file, because a metric computed
  without some images of the annotation file would be silently wrong.

It also fails early, with the annotation file's name, when a dataset has
no samples at all (MMEngine's own error is ``need at least one array to
concatenate``, see :func:`explain_empty_dataset`).
"""
import contextlib
import logging
import os.path as osp
from typing import Any, Iterator, Optional

from mmcv.transforms import LoadImageFromFile
from mmengine.logging import print_log

__all__ = [
    'GuardedImageLoading', 'UnreadableImageError', 'explain_empty_dataset',
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


def _empty_dataset_message(name: str, ann_file: Any) -> str:
    return (f'{name} built from ann_file={ann_file!r} has no samples: the '
            'annotation file lists no (usable) instances. Check the file '
            'and the data_mode/filter settings.')


@contextlib.contextmanager
def explain_empty_dataset(dataloader_cfg: Any) -> Iterator[None]:
    """Name the annotation file when building an empty dataset fails.

    MMEngine serializes a dataset's annotations with ``np.concatenate``,
    which fails on an empty list with ``ValueError: need at least one
    array to concatenate``.

    Args:
        dataloader_cfg (dict | DataLoader): What ``build_dataloader`` got.
    """
    try:
        yield
    except ValueError as err:
        dataset = dataloader_cfg.get('dataset') if isinstance(
            dataloader_cfg, dict) else None
        if 'need at least one array to concatenate' not in str(
                err) or not isinstance(dataset, dict):
            raise
        ann_file = dataset.get('ann_file')
        if dataset.get('data_root') and ann_file and not osp.isabs(ann_file):
            ann_file = osp.join(dataset['data_root'], ann_file)
        raise ValueError(
            _empty_dataset_message(str(dataset.get('type')),
                                   ann_file)) from err


def _datasets(dataset: Any) -> Iterator[Any]:
    """``dataset`` and every dataset it wraps."""
    yield dataset
    for child in getattr(dataset, 'datasets', None) or []:
        yield from _datasets(child)
    child = getattr(dataset, 'dataset', None)
    if child is not None:
        yield from _datasets(child)


def guard_dataset(dataset: Any) -> None:
    """Check a built dataset and guard its image loading (idempotent).

    Args:
        dataset (Dataset): A built dataset, possibly a wrapper
            (``ConcatDataset``, ``RepeatDataset``, MMPose's
            ``CombinedDataset``).

    Raises:
        ValueError: a concrete dataset has no samples (names its
            ``ann_file``).
    """
    for ds in _datasets(dataset):
        wraps_others = getattr(ds, 'datasets', None) or getattr(
            ds, 'dataset', None) is not None
        if not wraps_others and hasattr(ds, '__len__') and len(ds) == 0:
            raise ValueError(
                _empty_dataset_message(type(ds).__name__,
                                       getattr(ds, 'ann_file', None)))
        transforms = getattr(getattr(ds, 'pipeline', None), 'transforms',
                             None)
        if not isinstance(transforms, list):
            continue
        skip = not getattr(ds, 'test_mode', False)
        for i, transform in enumerate(transforms):
            if isinstance(transform, LoadImageFromFile):
                transforms[i] = GuardedImageLoading(transform, skip)
