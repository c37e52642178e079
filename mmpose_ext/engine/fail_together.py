"""Errors that stop every rank of a multi-process run together.

When one rank raises while the others wait in a collective (a barrier, the
next all-reduce), the others hang: with ``torchrun`` until the launcher
tears the job down, with slurm or mpirun until the process group's timeout.
:func:`fail_together` takes the place of such a synchronisation point:
every rank passes the error it met (or ``None``), and every rank raises if
any rank failed. :class:`FailTogetherLoader` does the same for every batch
of an evaluation loop's data loader.
"""
from typing import Any, Iterator, Optional

import torch
from mmengine.dist import all_gather_object, all_reduce, get_world_size

__all__ = ['FailTogetherLoader', 'RankFailedError', 'fail_together']


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


class FailTogetherLoader:
    """A data loader whose failure on one rank stops every rank.

    Every rank fetches its next batch, then the ranks agree through one
    all-reduced pair of counts (failed, exhausted): a batch that could not
    be loaded on one rank (an unreadable image, a broken annotation) raises
    on every rank at the same batch (:func:`fail_together`), instead of
    leaving the others waiting in the evaluator's result collection. Ranks
    whose batch counts differ stop with an error too (MMEngine's
    ``DefaultSampler`` pads evaluation data sets to equal counts). Other
    attributes are the wrapped loader's.

    Args:
        loader (Iterable): The data loader (``len`` and ``dataset`` are
            passed through).
        what (str): The loop, for the message (e.g. ``'validating'``).
    """

    def __init__(self, loader: Any, what: str):
        self.loader = loader
        self.what = what

    def __len__(self) -> int:
        return len(self.loader)

    def __getattr__(self, name: str) -> Any:
        if name == 'loader':  # before __init__ (copy, pickle)
            raise AttributeError(name)
        return getattr(self.loader, name)

    def __iter__(self) -> Iterator[Any]:
        batches = iter(self.loader)
        while True:
            error = batch = None
            exhausted = False
            try:
                batch = next(batches)
            except StopIteration:
                exhausted = True
            except Exception as err:  # noqa: BLE001 - raised on all ranks
                error = err
            counts = torch.tensor([error is not None, exhausted],
                                  dtype=torch.int64)
            all_reduce(counts)
            if counts[0]:
                fail_together(error, f'loading data for {self.what}')
            if counts[1]:
                if counts[1] != get_world_size():
                    raise RuntimeError(
                        f'{self.what}: the ranks have different numbers of '
                        f'batches ({int(counts[1])} of {get_world_size()} '
                        'ranks ran out first)')
                return
            yield batch
