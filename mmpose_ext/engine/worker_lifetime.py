"""Forked worker processes that die with the process that forked them.

A training killed with ``SIGKILL`` (the kernel's out-of-memory killer) gets
no chance to stop its DataLoader workers: they were seen alive ten minutes
later, adopted by PID 1, 0.5 GB resident each, blocked in
``multiprocessing.queues.Queue._finalize_join``. :func:`kill_forked_children
_with_parent` (run by ``import mmpose_ext``, so every runner whose config
imports the package, MMPose's stock tools included, gets it) registers an
``os.register_at_fork`` handler that asks Linux to send ``SIGKILL`` to each
child forked from then on when its parent dies (``prctl(PR_SET_PDEATHSIG)``).
DataLoader workers are forked children on Linux (the ``fork`` start method,
Python's default there up to 3.13); a child whose parent died before the
handler ran exits at once.

The signal follows the *thread* that forked the child: workers are forked
by the thread that iterates the DataLoader. Set
``MMPOSE_EXT_KEEP_ORPHANS=1`` before the import to leave forked children
alone. Elsewhere than on Linux this does nothing.
"""
import ctypes
import os
import signal
import sys

__all__ = ['KEEP_ENV', 'kill_forked_children_with_parent']

#: Set to 1 to keep the default (children outlive their parent).
KEEP_ENV = 'MMPOSE_EXT_KEEP_ORPHANS'
_PR_SET_PDEATHSIG = 1
_registered = False


def _die_with_parent(libc, parent: int) -> None:
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl
        os._exit(1)


def kill_forked_children_with_parent() -> bool:
    """Register the at-fork handler once per process.

    Returns:
        bool: whether the handler is registered (Linux, not switched off).
    """
    global _registered
    if _registered:
        return True
    if not sys.platform.startswith('linux') or os.environ.get(
            KEEP_ENV) == '1':
        return False

    libc = ctypes.CDLL(None, use_errno=True)  # loaded here, not in a child

    def before() -> None:
        before.parent = os.getpid()

    before.parent = os.getpid()
    os.register_at_fork(
        before=before,
        after_in_child=lambda: _die_with_parent(libc, before.parent))
    _registered = True
    return True
