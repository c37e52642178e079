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


@pytest.mark.slow
def test_nan_on_one_rank_stops_every_rank_before_saving(tmp_path):
    """Two-process DDP (gloo): rank 1's loss turns NaN at iteration 4, a
    save point. Both ranks stop there with the package's error naming rank
    1, and rank 0, whose own loss was finite, saves nothing of that
    state (the averaged NaN gradient already reached its weights)."""
    from ..toy_ddp import run_two_ranks
    outcomes = run_two_ranks(tmp_path, bad_rank=1, bad_at=4, max_iters=6,
                             interval=2)
    for rank, outcome in outcomes.items():
        assert outcome.startswith('NonFiniteLossError: Non-finite loss at '
                                  'iteration 4'), (rank, outcome)
        assert 'rank 1: loss_b=nan' in outcome and 'rank 0' not in outcome
        assert 'iter_2.pth, is kept' in outcome
    assert not (tmp_path / 'iter_4.pth').exists()
    assert (tmp_path / 'iter_2.pth').exists()


class _Runner:
    """What the hook reads of a runner."""

    def __init__(self):
        self.iter, self.epoch, self.work_dir = 0, 0, '.'

    class message_hub:  # noqa: N801
        get_info = staticmethod(lambda key: 'work/iter_40.pth')


def feed(hook, losses):
    """Run the hook over total losses; the 1-based iteration it stopped
    at, or ``None``."""
    runner = _Runner()
    for i, loss in enumerate(losses):
        runner.iter = i
        try:
            hook.after_train_iter(runner, i, outputs=dict(
                loss=torch.tensor(loss), loss_kpt=torch.tensor(loss)))
        except NonFiniteLossError as err:
            feed.error = err
            return i + 1
    return None


def test_divergence_stops_at_the_rise_not_at_noise():
    from mmpose_ext.engine.hooks import DivergedLossError
    gen = torch.Generator().manual_seed(0)
    # a decaying loss with 50 % noise and a warm-up bump: never stops
    noisy = (0.01 * (1 + torch.linspace(0, 3, 300).neg().exp()) *
             (1 + 0.5 * torch.rand(300, generator=gen))).tolist()
    noisy[30:40] = [0.03] * 10
    assert feed(NonFiniteLossHook(), noisy) is None
    # the demo config at lr=1e4: 0.009 rising to 1.2e5 within 40 iterations
    rising = [0.009] * 60 + [0.009 * 1.5**k for k in range(1, 41)]
    stop = feed(NonFiniteLossHook(), rising)
    assert stop is not None and 60 < stop < 100
    err = feed.error
    assert isinstance(err, DivergedLossError)
    message = str(err)
    assert message.startswith(f'Diverging loss at iteration {stop} (epoch '
                              f'1): mean loss of the last 20 iterations ')
    assert '> 100 x its best 0.009 (loss=' in message and 'loss_kpt=' in (
        message)
    assert 'The last good checkpoint, work/iter_40.pth, is kept' in message
    # off with one key; a smaller factor stops earlier
    assert feed(NonFiniteLossHook(divergence_factor=None), rising) is None
    assert feed(NonFiniteLossHook(divergence_factor=10), rising) < stop
    with pytest.raises(ValueError, match='divergence_factor'):
        NonFiniteLossHook(divergence_factor=0.5)
    with pytest.raises(ValueError, match='window'):
        NonFiniteLossHook(window=0)


@pytest.mark.slow
def test_diverging_run_stops_before_saving(toy_runner, tmp_path):
    """A finite spike of 1e6 x the loss at iteration 26 stops the run
    there; the checkpoint of iteration 24 is the last one."""
    from mmpose_ext.engine.hooks import DivergedLossError
    runner = toy_runner(tmp_path, max_iters=30,
                        model=ToyRegressor(bad_at=26, bad_value=1e6))
    with pytest.raises(DivergedLossError, match='iteration 26 '):
        runner.train()
    assert (tmp_path / 'iter_24.pth').exists()
    assert not (tmp_path / 'iter_26.pth').exists()
