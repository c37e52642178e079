"""Crash-safe checkpoints and a ``--resume`` that survives a bad one.

MMEngine 0.10.7 writes checkpoints in place and in an order that can lose
work when the process is killed (SIGKILL, OOM killer, pre-empted cluster
job):

* ``Runner.save_checkpoint`` -> ``mmengine.runner.checkpoint.save_checkpoint``
  -> ``LocalBackend.put`` opens the final file name with ``'wb'`` and writes
  into it: a kill during the write leaves a truncated ``epoch_N.pth``.
* ``CheckpointHook._save_checkpoint_with_step`` deletes the checkpoint that
  falls out of ``max_keep_ckpts`` *before* writing the new one (and
  ``_save_best_checkpoint`` does the same with the previous best): with
  ``max_keep_ckpts=1``, a kill during the write leaves no complete
  checkpoint at all.
* ``find_latest_checkpoint`` returns whatever ``last_checkpoint`` names,
  without checking that the file exists or is complete, so ``--resume``
  then crashes inside ``torch.load``.

MMEngine lacks the fix because its writes go through a storage-agnostic
file backend (local disk, Ceph, S3, ...) whose ``put`` has no rename; a
rename is only atomic on a local (POSIX) file system. This module adds it
where that holds, at the runner and hook level (no MMEngine function is
patched):

* :func:`atomic_checkpoint_name` gives ``Runner.save_checkpoint`` a
  temporary name in the same directory; the file is fsynced and
  ``os.replace``-d onto the final name once complete, so a checkpoint file
  under its final name is always complete;
* :class:`SafeCheckpointHook` (a ``CheckpointHook``) defers every removal
  of an outdated checkpoint until the new checkpoint and ``last_checkpoint``
  are written, and cleans up temporary files an interrupted save left;
* :func:`find_resumable_checkpoint` checks the file ``last_checkpoint``
  names and, if it is missing or incomplete, falls back to the newest
  complete checkpoint with a warning naming the bad file.

``last_checkpoint`` itself is still written by MMEngine after the
checkpoint is complete, so it never names a partial file; a kill inside
that tiny write leaves it empty or truncated, which
:func:`find_resumable_checkpoint` treats like a missing file.
"""
import contextlib
import logging
import os
import os.path as osp
import re
import zipfile
from typing import Iterator, List, Optional, Tuple

import torch
from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log

__all__ = [
    'SafeCheckpointHook', 'atomic_checkpoint_name', 'checkpoint_problem',
    'find_resumable_checkpoint', 'is_local_dir'
]

# ``.{final name}.{pid}.tmp``: hidden, and never matches a checkpoint
# template such as ``epoch_{}.pth``.
_TEMP_NAME = re.compile(r'^\..+\.\d+\.tmp$')
_ZIP_MAGIC = b'PK\x03\x04'


def is_local_dir(path: str, backend_args: Optional[dict] = None) -> bool:
    """Whether ``path`` is on the local file system (rename is atomic)."""
    return isinstance(
        get_file_backend(path, backend_args=backend_args), LocalBackend)


def _fsync_dir(path: str) -> None:
    """Persist a rename in ``path`` (best effort: not every OS allows it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_checkpoint_name(out_dir: str, filename: str) -> Iterator[str]:
    """Write a file under a temporary name, then rename it into place.

    Args:
        out_dir (str): Local directory of the file.
        filename (str): Final file name inside ``out_dir``.

    Yields:
        str: The temporary file name (inside ``out_dir``) to write. When the
        block ends without an exception the file is fsynced and
        ``os.replace``-d onto ``filename``; otherwise it is removed and
        the previous ``filename`` (if any) is left untouched.
    """
    temp_name = f'.{filename}.{os.getpid()}.tmp'
    temp_path = osp.join(out_dir, temp_name)
    final_path = osp.join(out_dir, filename)
    try:
        yield temp_name
        if osp.isfile(temp_path):  # not written on non-main ranks
            with open(temp_path, 'rb') as f:
                os.fsync(f.fileno())
            os.replace(temp_path, final_path)
            _fsync_dir(out_dir)
    finally:
        if osp.exists(temp_path):
            os.remove(temp_path)


def checkpoint_problem(path: str) -> Optional[str]:
    """Say why ``path`` is not a complete checkpoint, or ``None`` if it is.

    ``torch.save`` writes a zip archive whose central directory comes last:
    a truncated file has none, and a damaged one fails the members' CRC-32
    check. Both are detected without unpickling anything. Files in the
    pre-1.6 (non-zip) format are checked by loading them.

    Args:
        path (str): Checkpoint file.

    Returns:
        str | None: a short reason (``'does not exist'``, ``'is empty'``,
        ``'is truncated or corrupt (...)'``) or ``None``.
    """
    if not osp.isfile(path):
        return 'does not exist'
    if osp.getsize(path) == 0:
        return 'is empty'
    with open(path, 'rb') as f:
        magic = f.read(4)
    if magic == _ZIP_MAGIC:
        try:
            with zipfile.ZipFile(path) as archive:
                bad = archive.testzip()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
            return f'is truncated or corrupt ({err})'
        return None if bad is None else (
            f'is corrupt (CRC mismatch in {bad!r})')
    try:
        torch.load(path, map_location='cpu')
    except Exception as err:  # noqa: BLE001 - any failure means unusable
        return f'cannot be loaded ({type(err).__name__}: {err})'
    return None


def _template_regex(filename_tmpl: Optional[str]) -> 're.Pattern':
    if filename_tmpl is None:
        return re.compile(r'^(?:epoch|iter)_(\d+)\.pth$')
    head, _, tail = filename_tmpl.partition('{}')
    return re.compile(f'^{re.escape(head)}(\\d+){re.escape(tail)}$')


def _numbered_checkpoints(dirs: List[str],
                          filename_tmpl: Optional[str]) -> List[str]:
    """Checkpoints named after the template, highest number first."""
    pattern = _template_regex(filename_tmpl)
    found: List[Tuple[int, float, str]] = []
    for directory in dict.fromkeys(dirs):
        if not osp.isdir(directory):
            continue
        for name in os.listdir(directory):
            match = pattern.match(name)
            if match:
                path = osp.join(directory, name)
                found.append((int(match.group(1)), osp.getmtime(path), path))
    return [path for *_, path in sorted(found, reverse=True)]


def find_resumable_checkpoint(work_dir: str,
                              filename_tmpl: Optional[str] = None,
                              logger: str = 'current') -> Optional[str]:
    """The checkpoint ``--resume`` should continue from.

    Like MMEngine's ``find_latest_checkpoint`` it follows
    ``work_dir/last_checkpoint``, but it checks the file with
    :func:`checkpoint_problem`. If the recorded file is missing, empty or
    truncated (or ``last_checkpoint`` itself is), it warns naming the bad
    file and returns the newest complete checkpoint named after
    ``filename_tmpl`` in ``work_dir`` (and in the recorded file's
    directory).

    Args:
        work_dir (str): The runner's work directory.
        filename_tmpl (str, optional): The checkpoint hook's file name
            template, e.g. ``'epoch_{}.pth'``. Defaults to ``None``: both
            ``epoch_{}.pth`` and ``iter_{}.pth``.
        logger (str): Logger for the warnings. Defaults to ``'current'``.

    Returns:
        str | None: path of a complete checkpoint, or ``None`` if the work
        directory holds no checkpoint at all (training starts afresh, as
        with MMEngine).

    Raises:
        RuntimeError: checkpoints exist but none of them is complete.
    """
    record = osp.join(work_dir, 'last_checkpoint')
    recorded = None
    if osp.isfile(record):
        with open(record) as f:
            recorded = f.read().strip() or None
        if recorded is None:
            print_log(f'{record} is empty (interrupted while being written);'
                      ' looking for the newest complete checkpoint.',
                      logger=logger, level=logging.WARNING)
    if recorded is not None:
        problem = checkpoint_problem(recorded)
        if problem is None:
            return recorded
        print_log(f'The last checkpoint {recorded} (named by {record}) '
                  f'{problem}, probably because training was killed while '
                  'writing it; looking for the newest complete checkpoint.',
                  logger=logger, level=logging.WARNING)

    dirs = [work_dir] + ([osp.dirname(recorded)] if recorded else [])
    rejected = [(recorded, problem)] if recorded is not None else []
    for path in _numbered_checkpoints(dirs, filename_tmpl):
        if path == recorded:
            continue
        problem = checkpoint_problem(path)
        if problem is None:
            if recorded is not None:
                print_log(f'Resuming from {path} instead of {recorded}.',
                          logger=logger, level=logging.WARNING)
            return path
        rejected.append((path, problem))
        print_log(f'Skipping checkpoint {path}: it {problem}.',
                  logger=logger, level=logging.WARNING)
    if rejected:
        listing = '; '.join(f'{p} {why}' for p, why in rejected)
        raise RuntimeError(
            f'--resume found no complete checkpoint in {work_dir}: '
            f'{listing}. Remove the work directory (or pass --resume '
            'CHECKPOINT) to start from a file you choose.')
    return None


class _DeferredRemovals:
    """A file backend proxy that records ``remove``/``rmtree`` calls."""

    def __init__(self, backend):
        self._backend = backend
        self.pending: List[Tuple[str, str]] = []

    def remove(self, path: str) -> None:
        self.pending.append(('remove', path))

    def rmtree(self, path: str) -> None:
        self.pending.append(('rmtree', path))

    def __getattr__(self, name: str):
        return getattr(self._backend, name)


class SafeCheckpointHook(CheckpointHook):
    """``CheckpointHook`` that never deletes the last good checkpoint early.

    MMEngine's hook removes the checkpoint that falls out of
    ``max_keep_ckpts`` (and the previous best checkpoint) before writing
    the new one; this subclass runs MMEngine's own saving logic with those
    removals deferred until the new checkpoint and ``last_checkpoint`` are
    complete. Before training it also deletes temporary files
    (``.NAME.PID.tmp``) that a save interrupted by a kill left behind.
    Together with a runner that writes checkpoints through
    :func:`atomic_checkpoint_name` (``mmpose_ext``'s tools do), a kill at
    any moment leaves the previous complete checkpoint on disk.

    Args:
        **kwargs: The arguments of MMEngine's ``CheckpointHook``
            (``interval``, ``by_epoch``, ``max_keep_ckpts``, ``save_best``,
            ...), unchanged.
    """

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if not is_main_process() or not is_local_dir(
                self.out_dir, self.backend_args) or not osp.isdir(
                    self.out_dir):
            return
        for name in os.listdir(self.out_dir):
            if _TEMP_NAME.match(name):
                os.remove(osp.join(self.out_dir, name))
                runner.logger.warning(
                    f'Removed {osp.join(self.out_dir, name)}: an incomplete '
                    'checkpoint left by an interrupted save.')

    @contextlib.contextmanager
    def _deferred_removals(self) -> Iterator[None]:
        backend = self.file_backend
        proxy = _DeferredRemovals(backend)
        self.file_backend = proxy
        try:
            yield
        finally:
            self.file_backend = backend
        for operation, path in proxy.pending:  # only after a full save
            getattr(backend, operation)(path)

    def _save_checkpoint_with_step(self, runner, step, meta):
        with self._deferred_removals():
            super()._save_checkpoint_with_step(runner, step, meta)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        with self._deferred_removals():
            super()._save_best_checkpoint(runner, metrics)
