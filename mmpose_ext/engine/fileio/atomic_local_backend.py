"""A local file backend whose writes are atomic.

MMEngine's ``LocalBackend.put`` opens the final file name with ``'wb'`` and
writes into it, so a process killed during the write (SIGKILL, the OOM
killer, a pre-empted cluster job) leaves a truncated file under the final
name; for a checkpoint, that is the file ``--resume`` then tries to load.
MMEngine's backends are storage-agnostic (local disk, Ceph, S3, ...) and
have no rename; on a local POSIX file system a rename is atomic.
:class:`AtomicLocalBackend` writes to a temporary name in the same
directory, fsyncs it and ``os.replace``-s it onto the final name, so a file
under its final name is always complete.

It is registered in MMEngine's file backend registry as ``'atomic_local'``
(``backend_args=dict(backend='atomic_local')``), the public way to choose
how MMEngine writes files; :class:`~mmpose_ext.engine.hooks.
AtomicCheckpointHook` selects it for local checkpoint directories.
"""
import os
import os.path as osp
import re
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend

__all__ = ['AtomicLocalBackend', 'TEMP_NAME', 'write_atomically']

#: Temporary names, ``.{final name}.{pid}.tmp``: hidden, and never matching
#: a checkpoint template such as ``epoch_{}.pth``.
TEMP_NAME = re.compile(r'^\..+\.\d+\.tmp$')


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


def write_atomically(data: bytes, filepath: Union[str, Path]) -> None:
    """Write ``data`` to ``filepath`` so that it is complete or absent.

    The bytes go to ``.{name}.{pid}.tmp`` beside ``filepath``, are fsynced
    and renamed onto ``filepath`` (``os.replace``); on any error the
    temporary file is removed and an earlier ``filepath`` is untouched.

    Args:
        data (bytes): The file's content.
        filepath (str | Path): The final path; its directory is created.
    """
    filepath = str(filepath)
    directory = osp.dirname(filepath) or '.'
    os.makedirs(directory, exist_ok=True)
    temp = osp.join(directory,
                    f'.{osp.basename(filepath)}.{os.getpid()}.tmp')
    try:
        with open(temp, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, filepath)
        _fsync_dir(directory)
    finally:
        if osp.exists(temp):
            os.remove(temp)


@register_backend('atomic_local')
class AtomicLocalBackend(LocalBackend):
    """``LocalBackend`` whose ``put`` and ``put_text`` are atomic.

    Reading, listing, removing and joining paths are ``LocalBackend``'s.

    Args:
        None: it takes no arguments, like ``LocalBackend``.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write bytes to ``filepath`` atomically (see
        :func:`write_atomically`)."""
        write_atomically(obj, filepath)

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        """Write text to ``filepath`` atomically."""
        write_atomically(obj.encode(encoding), filepath)
