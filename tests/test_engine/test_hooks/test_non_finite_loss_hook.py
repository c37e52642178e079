"""Training stops at a NaN/inf loss, naming it, and keeps the good state."""
import pytest
import torch
from mmpose.registry import HOOKS

from mmpose_ext.engine import NonFiniteLossError, NonFiniteLossHook

from ..toy_runner import ToyRegressor


def smoke():
    """Built from its registered name, it passes finite losses and stops at
    a NaN."""
    hook = HOOKS.build(dict(type='NonFiniteLossHook'))
    assert isinstance(hook, NonFiniteLossHook)

    class _Runner:
        iter, epoch, work_dir = 0, 0, '.'

        class message_hub:  # noqa: N801
            get_info = staticmethod(lambda key: None)

    hook.after_train_iter(_Runner, 0, outputs=dict(loss=torch.tensor(1.)))
    with pytest.raises(NonFiniteLossError, match='loss_x=nan'):
        hook.after_train_iter(
            _Runner, 0, outputs=dict(loss_x=torch.tensor(float('nan')),
                                     acc=torch.tensor(float('nan'))))


def test_smoke():
    smoke()


def test_loss_key_selects_the_checked_outputs():
    hook = NonFiniteLossHook(loss_key='kpt')
    hook.after_train_iter(None, 0, outputs=dict(
        loss_other=torch.tensor(float('inf'))))  # not checked
    with pytest.raises(ValueError, match='loss_key'):
        NonFiniteLossHook(loss_key='')


@pytest.mark.parametrize('bad_value', [float('nan'), float('inf')])
def test_stops_at_bad_loss_and_keeps_last_checkpoint(bad_value, toy_runner,
                                                     tmp_path):
    runner = toy_runner(tmp_path, max_iters=8, max_keep_ckpts=1,
                        model=ToyRegressor(bad_at=6, bad_value=bad_value))
    with pytest.raises(NonFiniteLossError) as err:
        runner.train()
    message = str(err.value)
    assert f'iteration 6 (epoch 1): loss_b={bad_value}' in message
    assert 'loss_a=' not in message  # only the term that went bad
    kept = tmp_path / 'iter_4.pth'
    assert str(kept) in message
    # iteration 6 would have been saved: no checkpoint of the bad state
    assert not (tmp_path / 'iter_6.pth').exists()
    assert (tmp_path / 'last_checkpoint').read_text() == str(kept)
    weights = torch.load(kept)['state_dict']
    assert all(torch.isfinite(w).all() for w in weights.values())
