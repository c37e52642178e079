"""Training stops at a NaN/inf loss, naming it, and keeps the good state."""
import pytest
import torch
from toy_runner import ToyRegressor

from mmpose_ext.utils import NonFiniteLossError


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
