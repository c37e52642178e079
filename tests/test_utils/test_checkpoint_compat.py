"""Checkpoints written by MMEngine's runner load weights-only and resume."""
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

from mmpose_ext.utils import trust_checkpoint_pickles


class _Regressor(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 1)

    def forward(self, x, y, mode='loss'):
        return dict(loss=((self.linear(torch.stack(x)) -
                           torch.stack(y))**2).mean())


class _Data(Dataset):
    # numpy meta information ends up in the checkpoint, as MMPose's does
    metainfo = dict(sigmas=np.linspace(0.2, 1.0, 5, dtype=np.float32),
                    flip_indices=np.arange(5), dataset_name='toy')

    def __len__(self):
        return 32

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        x = torch.randn(4, generator=g)
        return dict(x=x, y=x.sum(0, keepdim=True))


def _runner(work_dir, max_iters, resume=False):
    return Runner(
        model=_Regressor(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=_Data(), batch_size=8, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True)),
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=0.01)),
        param_scheduler=dict(
            type='MultiStepLR', milestones=[3], by_epoch=False),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=4,
                            by_epoch=False),
            logger=dict(type='LoggerHook', interval=1)),
        randomness=dict(seed=0),
        resume=resume,
        experiment_name=f'resume_{max_iters}_{int(resume)}')


def test_runner_checkpoint_loads_weights_only(tmp_path):
    _runner(tmp_path, max_iters=4).train()
    ckpt = torch.load(tmp_path / 'iter_4.pth', weights_only=True)
    assert ckpt['meta']['iter'] == 4
    assert isinstance(ckpt['message_hub']['log_scalars']['train/loss'],
                      HistoryBuffer)
    assert ckpt['message_hub']['log_scalars']['train/loss'].mean() > 0
    np.testing.assert_array_equal(ckpt['meta']['dataset_meta']['flip_indices'],
                                  np.arange(5))


def test_resume_continues_iteration_and_optimizer_state(tmp_path):
    _runner(tmp_path, max_iters=4).train()
    saved = torch.load(tmp_path / 'iter_4.pth')
    runner = _runner(tmp_path, max_iters=8, resume=True)
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
    from mmpose_ext.utils.run_tool import _AdaptingRunner

    model = _Regressor()
    path = tmp_path / 'old_tool.pth'
    torch.save({'state_dict': model.state_dict(), 'cfg': PickledConfig()},
               path)
    runner = _AdaptingRunner(model=model, work_dir=str(tmp_path / 'work'),
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
