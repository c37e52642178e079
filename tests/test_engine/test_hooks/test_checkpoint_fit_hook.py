"""CheckpointFitHook: the runner refuses a checkpoint that does not fit."""
import pytest
import torch
from torch import nn

from mmpose_ext.engine import (
    CheckpointFitHook,
    CheckpointMismatchError,
    checkpoint_fit,
)

from ..toy_runner import ToyRegressor


class WiderRegressor(ToyRegressor):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 2)


def save(model, path):
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    return str(path)


@pytest.mark.parametrize('allow_partial', [False, True])
def test_runner_load_is_checked(toy_runner, tmp_path, allow_partial,
                                monkeypatch):
    # no package config fits the toy model: skip the scan of configs/
    monkeypatch.setattr(checkpoint_fit, 'suggest_configs', lambda c: [])
    runner = toy_runner(tmp_path / 'work', max_iters=1)
    runner.register_hook(CheckpointFitHook(allow_partial=allow_partial))
    # a checkpoint that fits loads
    torch.manual_seed(1)
    source = ToyRegressor()
    runner.load_checkpoint(save(source, tmp_path / 'fits.pth'))
    torch.testing.assert_close(runner.model.linear.weight,
                               source.linear.weight)
    # one with another shape does not, unless allowed
    wide = save(WiderRegressor(), tmp_path / 'wide.pth')
    if allow_partial:
        runner.load_checkpoint(wide)
    else:
        with pytest.raises(CheckpointMismatchError,
                           match=r'2 have other shapes: linear.weight '
                           r'\[2, 4\] in the checkpoint, \[1, 4\]'):
            runner.load_checkpoint(wide)


def test_allow_partial_must_be_a_bool():
    with pytest.raises(TypeError, match='allow_partial'):
        CheckpointFitHook(allow_partial='yes')


def smoke():
    assert CheckpointFitHook().allow_partial is False


def test_auto_resume_error_names_the_file(toy_runner, tmp_path,
                                          monkeypatch):
    """``--resume`` without a file: MMEngine resumes from the work dir's
    ``last_checkpoint`` and sets no config key naming it; the error names
    that file."""
    monkeypatch.setattr(checkpoint_fit, 'suggest_configs', lambda c: [])
    toy_runner(tmp_path, max_iters=2).train()
    runner = toy_runner(tmp_path, max_iters=4, resume=True,
                        model=WiderRegressor(), cfg=dict(resume=True))
    runner.register_hook(CheckpointFitHook())
    with pytest.raises(CheckpointMismatchError,
                       match=f'checkpoint {tmp_path / "iter_2.pth"} does '
                       'not fit'):
        runner.train()
