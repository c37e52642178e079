"""Errors that stop every rank of a multi-process run together.

When one rank raises while the others wait in a collective (a barrier, the
next all-reduce), the others hang: with ``torchrun`` until the launcher
tears the job down, with slurm or mpirun until the process group's timeout.
:func:`fail_together` takes the place of such a synchronisation point:
every rank passes the error it met (or ``None``), and every rank raises if
any rank failed.
"""
from typing import Optional

from mmengine.dist import all_gather_object, get_world_size

__all__ = ['RankFailedError', 'fail_together']


class RankFailedError(RuntimeError):
    """Another rank of the run failed; this one stops with it."""


def fail_together(error: Optional[BaseException], what: str) -> None:
    """Synchronise the ranks and raise on all of them if one failed.

    Args:
        error (BaseException, optional): What this rank met, ``None`` if
            it succeeded.
        what (str): The step, for the message (e.g. ``'repairing the
            resume record'``).

    Raises:
        BaseException: ``error`` on the rank that met it;
            :class:`RankFailedError` naming the failed ranks and their
            errors on the others.
    """
    if get_world_size() == 1:
        if error is not None:
            raise error
        return
    messages = all_gather_object(
        None if error is None else f'{type(error).__name__}: {error}')
    failed = {rank: m for rank, m in enumerate(messages) if m is not None}
    if error is not None:
        raise error
    if failed:
        listing = '; '.join(f'rank {r}: {m}' for r, m in failed.items())
        raise RankFailedError(f'stopped because another rank failed while '
                              f'{what}: {listing}')
