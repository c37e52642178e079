"""Stop training at the first NaN or infinite loss, before it is saved.

MMEngine keeps training when a loss turns NaN: the optimizer step spreads
NaN into the weights, the logger prints ``loss: nan`` and the checkpoint
hook then saves the poisoned weights over a good checkpoint (with
``max_keep_ckpts=1`` the good one is deleted). :class:`NonFiniteLossHook`
checks every loss term a training iteration returns and raises
:class:`NonFiniteLossError`, naming the iteration and the term, before any
lower-priority hook (the checkpoint hook runs last) sees that iteration.
In a multi-process run every rank raises at that iteration, naming the
ranks whose loss was not finite.

A run can also diverge without a NaN: with a learning rate far too high the
demo config's loss rose from 0.009 to 1.2e5 within 40 iterations, stayed
finite, and the run trained on and saved checkpoints. The hook therefore
also raises :class:`DivergedLossError` (a :class:`NonFiniteLossError`) when
the mean total loss of the last ``window`` iterations (fewer at the start)
exceeds ``divergence_factor`` times the lowest such mean of the run.
"""
import math
import os.path as osp
from collections import deque
from typing import Any, Dict, List, Optional, Tuple

import torch
from mmengine.dist import (
    all_gather_object,
    all_reduce,
    get_world_size,
)
from mmengine.hooks import Hook
from mmpose.registry import HOOKS

from ...utils import check_positive_int

__all__ = ['DivergedLossError', 'NonFiniteLossError', 'NonFiniteLossHook']


class NonFiniteLossError(RuntimeError):
    """A training loss became NaN or infinite."""


class DivergedLossError(NonFiniteLossError):
    """A training loss rose far above its best level (diverged)."""


def _as_float(value: Any) -> Optional[float]:
    if isinstance(value, torch.Tensor):
        if value.numel() == 0:
            return None
        value = value.detach()
        return float(value.float().sum()) if value.numel() > 1 else float(
            value)
    if isinstance(value, (int, float)):
        return float(value)
    return None


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raise :class:`NonFiniteLossError` when a loss term is not finite.

    Switched on with ``default_hooks = dict(non_finite_loss=dict(type=
    'NonFiniteLossHook'))`` (every config of the package does, see
    ``configs/_base_/``). Every
    entry of the iteration's outputs whose name contains ``loss_key`` is
    checked after the iteration. The error names the iteration (1-based,
    as the logs count), the epoch, the bad terms (the total ``loss`` only
    if no single term is to blame) and the last checkpoint written before
    it, which is kept: the hook has ``VERY_HIGH`` priority, so the
    checkpoint hook (``VERY_LOW``) never runs for the bad iteration.

    It also stops a diverging run (:class:`DivergedLossError`, the same
    message): it keeps the mean of the total ``loss`` over the last
    ``window`` iterations (fewer at the start of the run) and raises when
    that mean exceeds ``divergence_factor`` times the lowest such mean of
    the run so far (of this process: a resumed run starts afresh). The
    default factor, 100, is far above what the package's training runs
    show (their mean loss never rose more than 1.5 % above its best; see
    ``docs/reliability.md``), and far below a divergence.

    Args:
        loss_key (str): Outputs whose name contains it are checked.
            Defaults to ``'loss'``: MMEngine's ``parse_losses`` sums exactly
            those into the total ``loss``.
        divergence_factor (float, optional): The multiple of the best mean
            loss that stops the run; ``None`` switches the divergence stop
            off (``default_hooks.non_finite_loss.divergence_factor=None``).
            Defaults to ``100.``.
        window (int): Iterations averaged. Defaults to ``20``.
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 loss_key: str = 'loss',
                 divergence_factor: Optional[float] = 100.,
                 window: int = 20):
        if not isinstance(loss_key, str) or not loss_key:
            raise ValueError(
                f'loss_key must be a non-empty string, got {loss_key!r}')
        if divergence_factor is not None and not (
                isinstance(divergence_factor, (int, float))
                and divergence_factor > 1):
            raise ValueError(f'divergence_factor must be a number > 1 or '
                             f'None, got {divergence_factor!r}')
        window = check_positive_int('window', window)
        self.loss_key = loss_key
        self.divergence_factor = divergence_factor
        self.window = window
        self._recent: deque = deque(maxlen=window)
        self._best: Optional[float] = None

    def _divergence(self, outputs: Dict[str, Any]) -> str:
        """The diverged terms (``''`` while the loss is within bounds)."""
        if self.divergence_factor is None:
            return ''
        total = _as_float(outputs.get('loss'))
        if total is None:
            total = sum(v for v in (_as_float(value) for name, value in
                                    outputs.items() if self.loss_key in name)
                        if v is not None)
        self._recent.append(total)
        # the mean of up to ``window`` iterations, from the first one on: a
        # run that diverges within its first ``window`` iterations (the
        # demo at lr=1e4 did, within 10) is measured against its start
        mean = sum(self._recent) / len(self._recent)
        if self._best is None or mean < self._best:
            self._best = mean
        if self._best <= 0 or mean <= self.divergence_factor * self._best:
            return ''
        terms = ', '.join(
            f'{name}={number:.6g}' for name, value in outputs.items()
            if self.loss_key in name
            for number in [_as_float(value)] if number is not None)
        return (f'mean loss of the last {len(self._recent)} iterations '
                f'{mean:.6g} > {self.divergence_factor:g} x its best '
                f'{self._best:.6g} ({terms})')

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Any = None,
                         outputs: Optional[Dict[str, Any]] = None) -> None:
        outputs = outputs or {}
        bad: List[Tuple[str, float]] = []
        for name, value in outputs.items():
            number = _as_float(value) if self.loss_key in name else None
            if number is not None and not math.isfinite(number):
                bad.append((name, number))
        terms = [(n, v) for n, v in bad if n != 'loss'] or bad
        listing = ', '.join(f'{name}={value}' for name, value in terms)
        error = NonFiniteLossError if listing else None
        if error is None:
            listing = self._divergence(outputs)
            error = DivergedLossError if listing else None
        error, listing = self._on_every_rank(error, listing)
        if error is None:
            return
        last = self._last_checkpoint(runner)
        kept = (f'The last good checkpoint, {last}, is kept: fix the cause '
                '(learning rate, gradient clipping via optim_wrapper.'
                'clip_grad, bad annotations) and continue with --resume.'
                if last else 'No checkpoint had been written yet.')
        kind = 'Diverging' if error is DivergedLossError else 'Non-finite'
        raise error(
            f'{kind} loss at iteration {runner.iter + 1} (epoch '
            f'{runner.epoch + 1}): {listing}. Training stopped before this '
            f'state was saved. {kept}')

    @staticmethod
    def _on_every_rank(error: Optional[type], listing: str
                       ) -> Tuple[Optional[type], str]:
        """In a multi-process run, the gravest error of any rank and every
        rank's bad terms, so that every rank stops at the same iteration.

        MMEngine does not average the logged losses across ranks, so only
        the rank with the NaN would see it: it would stop while the others
        wait in the next collective, and rank 0, whose own loss was
        finite, would save the weights the averaged NaN gradient reached.
        One all-reduce of a scalar each iteration; the terms are gathered
        only when a rank has some.
        """
        if get_world_size() == 1:
            return error, listing
        errors = (None, DivergedLossError, NonFiniteLossError)  # graver last
        worst = torch.tensor([float(errors.index(error))])
        all_reduce(worst, op='max')
        if not worst.item():
            return None, ''
        listings = all_gather_object(listing)
        return errors[int(worst.item())], '; '.join(
            f'rank {rank}: {text}' for rank, text in enumerate(listings)
            if text)

    @staticmethod
    def _last_checkpoint(runner) -> Optional[str]:
        last = runner.message_hub.get_info('last_ckpt')
        record = osp.join(runner.work_dir, 'last_checkpoint')
        if last is None and osp.isfile(record):
            with open(record) as f:
                last = f.read().strip() or None
        return last
