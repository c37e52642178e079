"""Atomic checkpoint writes and a --resume that skips incomplete files."""
import os

import pytest
import torch
from mmengine.fileio import LocalBackend
from mmengine.runner import Runner
from toy_runner import read_logs

from mmpose_ext.utils import checkpoint_problem, find_resumable_checkpoint


class _Killed(BaseException):
    """Stands for the process dying in the middle of a write."""


def _die_halfway(self, obj, filepath):
    with open(filepath, 'wb') as f:
        f.write(obj[:len(obj) // 2])
    raise _Killed(filepath)


def _last_checkpoint(work_dir):
    return (work_dir / 'last_checkpoint').read_text().strip()


@pytest.mark.parametrize('runner_cls', [None, Runner],
                         ids=['mmpose_ext', 'mmengine'])
def test_interrupted_save_keeps_previous_checkpoint(runner_cls, toy_runner,
                                                    tmp_path, monkeypatch):
    toy_runner(tmp_path, max_iters=4, max_keep_ckpts=1,
               runner_cls=runner_cls).train()
    assert not (tmp_path / 'iter_2.pth').exists()  # max_keep_ckpts=1
    runner = toy_runner(tmp_path, max_iters=6, resume=True,
                        max_keep_ckpts=1, runner_cls=runner_cls)
    monkeypatch.setattr(LocalBackend, 'put', _die_halfway)
    with pytest.raises(_Killed):
        runner.train()  # dies while writing iter_6.pth
    monkeypatch.undo()
    if runner_cls is Runner:
        # MMEngine alone: iter_4 deleted first, iter_6 left half-written.
        assert not (tmp_path / 'iter_4.pth').exists()
        assert checkpoint_problem(_last_checkpoint(tmp_path))
        return
    assert not (tmp_path / 'iter_6.pth').exists()
    assert _last_checkpoint(tmp_path) == str(tmp_path / 'iter_4.pth')
    assert checkpoint_problem(str(tmp_path / 'iter_4.pth')) is None
    assert torch.load(tmp_path / 'iter_4.pth')['meta']['iter'] == 4


def test_resume_skips_truncated_checkpoint_and_temp_file(toy_runner,
                                                         tmp_path):
    toy_runner(tmp_path, max_iters=4).train()
    saved = torch.load(tmp_path / 'iter_2.pth')
    # A kill during a write: the newest file is truncated and
    # last_checkpoint names it (MMEngine's in-place write), plus a
    # temporary file of an atomic write that never finished.
    newest = tmp_path / 'iter_4.pth'
    newest.write_bytes(newest.read_bytes()[:1000])
    temp = tmp_path / '.iter_6.pth.12345.tmp'
    temp.write_bytes(b'partial')

    runner = toy_runner(tmp_path, max_iters=6, resume=True)
    runner._train_loop = runner.build_train_loop(runner._train_loop)
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner.param_schedulers = runner.build_param_scheduler(
        runner.param_schedulers)
    runner.call_hook('before_run')
    runner.load_or_resume()
    assert runner.iter == 2
    state = runner.optim_wrapper.optimizer.state_dict()['state'][0]
    torch.testing.assert_close(state['exp_avg'],
                               saved['optimizer']['state'][0]['exp_avg'])
    log = read_logs(tmp_path)
    assert f'{newest} (named by' in log and 'is truncated' in log
    assert f'Resuming from {tmp_path / "iter_2.pth"}' in log

    runner.train()
    assert runner.iter == 6
    assert not temp.exists()  # cleaned up before training
    assert _last_checkpoint(tmp_path) == str(tmp_path / 'iter_6.pth')


def test_find_resumable_checkpoint_cases(tmp_path):
    assert find_resumable_checkpoint(str(tmp_path)) is None  # fresh start
    good = tmp_path / 'epoch_1.pth'
    torch.save({'meta': {'epoch': 1}}, good)
    bad = tmp_path / 'epoch_2.pth'
    bad.write_bytes(good.read_bytes()[:-20])
    (tmp_path / 'last_checkpoint').write_text('')  # killed mid-write
    assert find_resumable_checkpoint(str(tmp_path)) == str(good)
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_3.pth'))
    assert find_resumable_checkpoint(str(tmp_path),
                                     'epoch_{}.pth') == str(good)
    good.write_bytes(b'')
    with pytest.raises(RuntimeError, match='no complete checkpoint') as err:
        find_resumable_checkpoint(str(tmp_path))
    assert 'epoch_2.pth is truncated' in str(err.value)
    assert 'epoch_1.pth is empty' in str(err.value)


def test_checkpoint_problem(tmp_path):
    path = tmp_path / 'a.pth'
    torch.save({'w': torch.arange(1000.)}, path)
    assert checkpoint_problem(str(path)) is None
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert 'CRC' in checkpoint_problem(str(path))
    assert checkpoint_problem(str(tmp_path / 'none.pth')) == 'does not exist'
    os.truncate(path, 0)
    assert checkpoint_problem(str(path)) == 'is empty'
