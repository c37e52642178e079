"""Checkpoints written by MMEngine's runner load weights-only and resume."""
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer

from mmpose_ext.apis import PreflightRunner
from mmpose_ext.engine import trust_checkpoint_pickles

from .toy_runner import ToyRegressor


def test_private_mmengine_state_it_reads_still_exists():
    """Written against MMEngine 0.10.7: ``HistoryBuffer`` keeps its
    statistics methods in the private ``_statistics_methods`` dict (filled
    per instance), which checkpoints pickle and the allow-list resolves."""
    assert isinstance(HistoryBuffer._statistics_methods, dict)
    methods = HistoryBuffer()._statistics_methods
    assert {'min', 'max', 'current', 'mean'} <= set(methods)
    assert all(callable(m) for m in methods.values())


def _runner(toy_runner, work_dir, max_iters, resume=False):
    return toy_runner(work_dir, max_iters, resume=resume, interval=4,
                      checkpoint_hook='CheckpointHook', extra_hooks=False)


def test_runner_checkpoint_loads_weights_only(toy_runner, tmp_path):
    _runner(toy_runner, tmp_path, max_iters=4).train()
    ckpt = torch.load(tmp_path / 'iter_4.pth', weights_only=True)
    assert ckpt['meta']['iter'] == 4
    assert isinstance(ckpt['message_hub']['log_scalars']['train/loss_a'],
                      HistoryBuffer)
    assert ckpt['message_hub']['log_scalars']['train/loss_a'].mean() > 0
    np.testing.assert_array_equal(ckpt['meta']['dataset_meta']['flip_indices'],
                                  np.arange(5))


def test_resume_continues_iteration_and_optimizer_state(toy_runner,
                                                        tmp_path):
    _runner(toy_runner, tmp_path, max_iters=4).train()
    saved = torch.load(tmp_path / 'iter_4.pth')
    runner = _runner(toy_runner, tmp_path, max_iters=8, resume=True)
    runner._train_loop = runner.build_train_loop(runner._train_loop)
    runner.call_hook('before_run')
    runner.load_or_resume()
    assert runner.iter == 4
    state = runner.optim_wrapper.optimizer.state_dict()
    for key in ('exp_avg', 'exp_avg_sq'):
        torch.testing.assert_close(state['state'][0][key],
                                   saved['optimizer']['state'][0][key])
    # the scheduler went past its milestone at iteration 3
    assert runner.optim_wrapper.get_lr()['lr'][0] == pytest.approx(0.001)
    runner.train()
    assert runner.iter == 8
    assert torch.load(tmp_path / 'iter_8.pth')['meta']['iter'] == 8


class _Smuggler:
    """Pickles as ``getattr(HistoryBuffer, 'update')``: not a statistic."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, 'update')


def test_other_getattr_is_refused_unless_trusted(tmp_path):
    path = tmp_path / 'smuggled.pth'
    torch.save({'x': _Smuggler()}, path)
    with pytest.raises(pickle.UnpicklingError,
                       match=r"getattr\(.*HistoryBuffer.*'update'\)"):
        torch.load(path)
    with trust_checkpoint_pickles():
        assert torch.load(path)['x'] is HistoryBuffer.update
    with pytest.raises(pickle.UnpicklingError):  # the opt-in has ended
        torch.load(path)


class PickledConfig:
    """An arbitrary object some old tool pickled into its checkpoints."""

    def __init__(self):
        self.lr = 0.1


def test_arbitrary_pickles_are_refused_with_the_opt_in(tmp_path):
    model = ToyRegressor()
    path = tmp_path / 'old_tool.pth'
    torch.save({'state_dict': model.state_dict(), 'cfg': PickledConfig()},
               path)
    runner = PreflightRunner(model=model, work_dir=str(tmp_path / 'work'),
                             experiment_name='refuse_pickles')
    with pytest.raises(pickle.UnpicklingError) as err:
        runner.load_checkpoint(str(path))
    message = str(err.value)
    assert str(path) in message
    assert f'{__name__}.PickledConfig' in message  # the class it refused
    assert '--trust-checkpoint' in message
    assert 'trust_checkpoint_pickles()' in message
    with trust_checkpoint_pickles():
        assert isinstance(runner.load_checkpoint(str(path))['cfg'],
                          PickledConfig)
