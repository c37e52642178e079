"""Atomic checkpoint writes and a resume record that names a complete file.

The interrupted-save test also guards what the hook is written against
(MMEngine 0.10.7's ``CheckpointHook`` removes outdated files through
``self.file_backend``): if MMEngine removed them another way, the previous
checkpoint would be gone and the test would fail.
"""
import pytest
import torch
from mmengine.fileio import LocalBackend
from mmpose.registry import HOOKS

from mmpose_ext.engine import AtomicCheckpointHook, checkpoint_problem
from mmpose_ext.engine.fileio import atomic_local_backend

from ..toy_runner import make_toy_runner, read_logs


class _Killed(BaseException):
    """Stands for the process dying in the middle of a write."""


def _die_halfway(self, obj, filepath):
    with open(filepath, 'wb') as f:
        f.write(obj[:len(obj) // 2])
    raise _Killed(filepath)


def _die_before_rename(src, dst):
    raise _Killed(dst)


def _last_checkpoint(work_dir):
    return (work_dir / 'last_checkpoint').read_text().strip()


def smoke():
    """Built from its registered name, it saves a checkpoint."""
    import tempfile
    from pathlib import Path
    hook = HOOKS.build(dict(type='AtomicCheckpointHook', interval=1,
                            by_epoch=False))
    assert isinstance(hook, AtomicCheckpointHook)
    with tempfile.TemporaryDirectory() as tmp:
        make_toy_runner(Path(tmp), max_iters=1, interval=1).train()
        assert checkpoint_problem(str(Path(tmp) / 'iter_1.pth')) is None


def test_smoke():
    smoke()


@pytest.mark.parametrize('hook', ['AtomicCheckpointHook', 'CheckpointHook'])
def test_interrupted_save_keeps_previous_checkpoint(hook, toy_runner,
                                                    tmp_path, monkeypatch):
    toy_runner(tmp_path, max_iters=4, max_keep_ckpts=1,
               checkpoint_hook=hook).train()
    assert not (tmp_path / 'iter_2.pth').exists()  # max_keep_ckpts=1
    runner = toy_runner(tmp_path, max_iters=6, resume=True,
                        max_keep_ckpts=1, checkpoint_hook=hook)
    monkeypatch.setattr(LocalBackend, 'put', _die_halfway)
    monkeypatch.setattr(atomic_local_backend.os, 'replace',
                        _die_before_rename)
    with pytest.raises(_Killed):
        runner.train()  # dies while writing iter_6.pth
    monkeypatch.undo()
    if hook == 'CheckpointHook':
        # MMEngine alone: iter_4 deleted first, iter_6 left half-written.
        assert not (tmp_path / 'iter_4.pth').exists()
        assert checkpoint_problem(_last_checkpoint(tmp_path))
        return
    assert not (tmp_path / 'iter_6.pth').exists()
    assert not list(tmp_path.glob('.*.tmp'))
    assert _last_checkpoint(tmp_path) == str(tmp_path / 'iter_4.pth')
    assert checkpoint_problem(str(tmp_path / 'iter_4.pth')) is None
    assert torch.load(tmp_path / 'iter_4.pth')['meta']['iter'] == 4


def test_resume_skips_truncated_checkpoint_and_temp_file(toy_runner,
                                                         tmp_path):
    toy_runner(tmp_path, max_iters=4).train()
    saved = torch.load(tmp_path / 'iter_2.pth')
    # A kill during an in-place write (MMEngine's): the newest file is
    # truncated and last_checkpoint names it; plus the temporary file of
    # an atomic write that never finished.
    newest = tmp_path / 'iter_4.pth'
    newest.write_bytes(newest.read_bytes()[:1000])
    temp = tmp_path / '.iter_6.pth.12345.tmp'
    temp.write_bytes(b'partial')

    runner = toy_runner(tmp_path, max_iters=6, resume=True)
    runner.train()
    log = read_logs(tmp_path)
    assert f'{newest} (named by' in log and 'is truncated' in log
    assert f'Resuming from {tmp_path / "iter_2.pth"}' in log
    assert 'resumed epoch: 0, iter: 2' in log
    assert runner.iter == 6
    assert not temp.exists()  # cleaned up before training
    assert _last_checkpoint(tmp_path) == str(tmp_path / 'iter_6.pth')
    final = torch.load(tmp_path / 'iter_6.pth')
    assert int(final['optimizer']['state'][0]['step']) == int(
        saved['optimizer']['state'][0]['step']) + 4


def test_record_without_complete_checkpoint(toy_runner, tmp_path):
    toy_runner(tmp_path, max_iters=2).train()
    (tmp_path / 'iter_2.pth').write_bytes(b'')
    # a run that does not resume removes the record and trains afresh
    runner = toy_runner(tmp_path, max_iters=3)
    runner.train()
    assert 'named no complete checkpoint' in read_logs(tmp_path)
    assert checkpoint_problem(str(tmp_path / 'iter_2.pth')) is None


def test_checkpoints_are_written_through_the_atomic_backend(toy_runner,
                                                            tmp_path):
    runner = toy_runner(tmp_path, max_iters=2)
    runner.train()
    hook = next(h for h in runner.hooks
                if isinstance(h, AtomicCheckpointHook))
    assert hook.backend_args == dict(backend='atomic_local')
    assert isinstance(hook.file_backend,
                      atomic_local_backend.AtomicLocalBackend)


@pytest.mark.slow
def test_rank0_failure_stops_every_rank(toy_runner, tmp_path):
    """A resumed two-process run whose only checkpoint is truncated: rank 0
    fails repairing the resume record, and rank 1, which waited for it,
    stops with it instead of hanging."""
    from ..toy_ddp import run_two_ranks
    toy_runner(tmp_path, max_iters=2).train()
    (tmp_path / 'iter_2.pth').write_bytes(b'')
    outcomes = run_two_ranks(tmp_path, max_iters=4, resume=True)
    assert outcomes[0].startswith('RuntimeError: '), outcomes
    assert outcomes[1].startswith(
        'RankFailedError: stopped because another rank failed while '
        'repairing the resume record: rank 0: RuntimeError: '), outcomes


@pytest.mark.slow
def test_rank0_save_failure_stops_every_rank(tmp_path):
    """Rank 0 writes the checkpoints; when that fails (a full disk) during
    training, rank 1 stops with it instead of waiting in the next
    all-reduce, and no checkpoint of that iteration is recorded."""
    from ..toy_ddp import run_two_ranks
    outcomes = run_two_ranks(tmp_path, max_iters=6, save_fails_on=0)
    assert outcomes[0] == 'OSError: [Errno 28] No space left on device', \
        outcomes
    assert outcomes[1].startswith(
        'RankFailedError: stopped because another rank failed while '
        'saving a checkpoint: rank 0: OSError: '), outcomes
    assert not (tmp_path / 'last_checkpoint').exists()
