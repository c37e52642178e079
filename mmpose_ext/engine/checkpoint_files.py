"""Is a checkpoint file complete, and which one can ``--resume`` use?

``torch.save`` writes a zip archive whose central directory comes last, so
a file cut short by a kill has none and a damaged one fails the members'
CRC-32 check: :func:`checkpoint_problem` tells both apart from a complete
file without unpickling anything. :func:`find_resumable_checkpoint` is
MMEngine's ``find_latest_checkpoint`` (follow ``work_dir/last_checkpoint``)
with that check and a fallback to the newest complete checkpoint.
"""
import logging
import os
import os.path as osp
import re
import zipfile
from typing import List, Optional, Tuple

import torch
from mmengine.logging import print_log

__all__ = ['checkpoint_problem', 'find_resumable_checkpoint']

_ZIP_MAGIC = b'PK\x03\x04'


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
