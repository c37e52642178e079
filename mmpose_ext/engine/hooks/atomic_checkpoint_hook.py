"""Crash-safe checkpoints: a drop-in for ``default_hooks.checkpoint``.

MMEngine 0.10.7 can lose a run's work when the process is killed (SIGKILL,
the OOM killer, a pre-empted cluster job) while it saves:

* ``LocalBackend.put`` writes the checkpoint in place: a kill leaves a
  truncated ``epoch_N.pth``, and ``last_checkpoint`` may name it;
* ``CheckpointHook`` deletes the checkpoint that falls out of
  ``max_keep_ckpts`` (and the previous best one) *before* writing the new
  one: with ``max_keep_ckpts=1`` a kill during the write leaves no complete
  checkpoint at all;
* ``find_latest_checkpoint`` returns whatever ``last_checkpoint`` names, so
  ``--resume`` then crashes inside ``torch.load``.

:class:`AtomicCheckpointHook` fixes all three through public extension
points: the ``'atomic_local'`` file backend (:mod:`..fileio`) for the
writes, the hook's own hook points for the removals and ``before_run``
(which MMEngine calls before ``load_or_resume``) for the resume record.
"""
import contextlib
import logging
import os
import os.path as osp
from typing import Iterator, List, Optional, Tuple

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log
from mmpose.registry import HOOKS

from ...private_state import set_checkpoint_hook_file_backend
from ..checkpoint_files import checkpoint_problem, find_resumable_checkpoint
from ..fail_together import fail_together
from ..fileio import AtomicLocalBackend, write_atomically
from ..fileio.atomic_local_backend import TEMP_NAME

__all__ = ['AtomicCheckpointHook']


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


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` whose saves a kill cannot turn into lost work.

    Use it as ``default_hooks = dict(checkpoint=dict(
    type='AtomicCheckpointHook', ...))``; every configuration of MMEngine's
    hook works unchanged. Three additions:

    * **atomic files**: for a local ``out_dir`` the checkpoints are written
      through the ``'atomic_local'`` file backend (temporary name, fsync,
      rename), so a file under its final name is always complete. Remote
      ``out_dir`` (``s3://``...) and ``file_client_args`` are left to
      MMEngine's backends.
    * **removal after saving**: outdated checkpoints (``max_keep_ckpts``,
      the previous best) are removed only once the new checkpoint and
      ``last_checkpoint`` are written. Written against MMEngine 0.10.7,
      whose ``CheckpointHook`` removes files through ``self.file_backend``
      and saves through its private ``_save_checkpoint_with_step`` and
      ``_save_best_checkpoint``, overridden here (both listed in
      :mod:`mmpose_ext.private_state`, whose test fails if that
      changes). Temporary files left by an interrupted save
      are deleted before training.
    * **a resume record that names a complete file**: before the runner
      loads or resumes, a ``work_dir/last_checkpoint`` naming a missing,
      empty or truncated file (a work dir written without this hook, or
      killed while writing the record itself) is pointed at the newest
      complete checkpoint, with a warning naming the bad file. If
      checkpoints exist but none is complete, a run whose config asks to
      resume stops with an error listing them; any other run removes the
      record.

    Args:
        **kwargs: The arguments of MMEngine's ``CheckpointHook``
            (``interval``, ``by_epoch``, ``max_keep_ckpts``, ``save_best``,
            ``out_dir``, ``backend_args``, ...), unchanged.
    """

    def before_run(self, runner) -> None:
        """Point ``last_checkpoint`` at a complete checkpoint (rank 0; a
        failure there stops every rank, :func:`~..fail_together`)."""
        error = None
        if is_main_process():
            try:
                self._repair_resume_record(runner)
            except Exception as err:  # noqa: BLE001 - raised on all ranks
                error = err
        fail_together(error, 'repairing the resume record')

    def _repair_resume_record(self, runner) -> None:
        record = osp.join(runner.work_dir, 'last_checkpoint')
        if not osp.isfile(record):
            return
        with open(record) as f:
            recorded = f.read().strip() or None
        if recorded is not None and checkpoint_problem(recorded) is None:
            return
        try:
            found = find_resumable_checkpoint(runner.work_dir,
                                              self.filename_tmpl)
        except RuntimeError:
            cfg = runner.cfg
            if cfg.get('resume', False) and cfg.get('load_from') is None:
                raise
            found = None
        if found is None:
            os.remove(record)
            print_log(f'Removed {record}: it named no complete checkpoint.',
                      logger='current', level=logging.WARNING)
        else:
            write_atomically(found.encode(), record)

    def before_train(self, runner) -> None:
        """Select atomic writes and remove leftovers of interrupted saves.
        """
        super().before_train(runner)
        if self.file_client_args is None and type(
                self.file_backend) is LocalBackend:
            self.backend_args = dict(self.backend_args or {},
                                     backend='atomic_local')
            set_checkpoint_hook_file_backend(
                self, get_file_backend(self.out_dir,
                                       backend_args=self.backend_args))
        if not is_main_process() or not isinstance(
                self.file_backend, AtomicLocalBackend) or not osp.isdir(
                    self.out_dir):
            return
        for name in os.listdir(self.out_dir):
            if TEMP_NAME.match(name):
                os.remove(osp.join(self.out_dir, name))
                runner.logger.warning(
                    f'Removed {osp.join(self.out_dir, name)}: an incomplete '
                    'checkpoint left by an interrupted save.')

    def _save_checkpoint_with_step(self, runner, step, meta):
        self._saving = True  # every rank: the save points are the same
        super()._save_checkpoint_with_step(runner, step, meta)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        self._saving = bool(self.save_best)
        super()._save_best_checkpoint(runner, metrics)

    @contextlib.contextmanager
    def _removals_after_saving(self) -> Iterator[None]:
        """Defer the removals of the block until its saves completed; at a
        save point, a failure on one rank (rank 0 writes the files) stops
        every rank (:func:`~..fail_together`) instead of leaving the others
        waiting in the next collective."""
        self._saving = False
        backend = getattr(self, 'file_backend', None)
        if backend is None:  # set in before_train: not a training run
            yield
            return
        proxy = _DeferredRemovals(backend)
        set_checkpoint_hook_file_backend(self, proxy)
        error = None
        try:
            yield
        except Exception as err:  # noqa: BLE001 - raised on all ranks
            error = err
        finally:
            set_checkpoint_hook_file_backend(self, backend)
        if error is None:  # only once the saves in the block completed
            written = {self.last_ckpt, getattr(self, 'best_ckpt_path', None)}
            written.update(getattr(self, 'best_ckpt_path_dict', {}).values())
            try:
                for operation, path in proxy.pending:
                    if path not in written:
                        getattr(backend, operation)(path)
            except Exception as err:  # noqa: BLE001 - raised on all ranks
                error = err
        if self._saving:
            fail_together(error, 'saving a checkpoint')
        elif error is not None:
            raise error

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        with self._removals_after_saving():
            super().after_train_iter(runner, batch_idx, data_batch, outputs)

    def after_train_epoch(self, runner) -> None:
        with self._removals_after_saving():
            super().after_train_epoch(runner)

    def after_val_epoch(self, runner, metrics) -> None:
        with self._removals_after_saving():
            super().after_val_epoch(runner, metrics)
