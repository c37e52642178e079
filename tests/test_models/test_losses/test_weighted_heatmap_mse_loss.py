"""Tests of WeightedHeatmapMSELoss against an independent numpy loop."""
import numpy as np
import pytest
import torch
from mmpose.registry import MODELS

from mmpose_ext.models.losses import WeightedHeatmapMSELoss


def _reference(pred, target, weights, use_target_weight, average, half):
    """Loop over (b, k) in numpy, float64."""
    pred, target = pred.double().numpy(), target.double().numpy()
    weights = weights.double().numpy()
    B, K, H, W = pred.shape
    total, num_valid = 0.0, 0
    for b in range(B):
        for k in range(K):
            w = weights[b, k]
            if average == 'valid' and w == 0:
                continue
            num_valid += 1
            sq = (pred[b, k] - target[b, k]) ** 2
            total += (w if use_target_weight else 1.0) * sq.sum()
    denom = B * K * H * W if average == 'all' else num_valid * H * W
    loss = total / denom if denom else 0.0
    return 0.5 * loss if half else loss


def _inputs(seed=0, B=3, K=5, H=4, W=6):
    g = torch.Generator().manual_seed(seed)
    pred = torch.rand(B, K, H, W, generator=g)
    target = torch.rand(B, K, H, W, generator=g)
    weights = torch.tensor([[1.0, 0.0, 1.5, 1.0, 0.0],
                            [0.0, 0.0, 0.0, 0.0, 0.0],
                            [2.0, 1.0, 1.0, 0.0, 0.5]])[:B, :K]
    return pred, target, weights


def test_registered_and_not_an_mmpose_name():
    assert MODELS.get('WeightedHeatmapMSELoss') is WeightedHeatmapMSELoss
    loss = MODELS.build(dict(type='WeightedHeatmapMSELoss', average='valid'))
    assert isinstance(loss, WeightedHeatmapMSELoss)
    assert loss.average == 'valid'


@pytest.mark.parametrize('average', ['all', 'valid'])
@pytest.mark.parametrize('use_target_weight', [True, False])
@pytest.mark.parametrize('half', [True, False])
def test_matches_reference(average, use_target_weight, half):
    pred, target, weights = _inputs()
    loss_fn = WeightedHeatmapMSELoss(
        use_target_weight=use_target_weight,
        average=average,
        half=half,
        loss_weight=2.0)
    loss = loss_fn(pred, target, weights)
    expected = 2.0 * _reference(pred, target, weights, use_target_weight,
                                average, half)
    assert loss.dim() == 0
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-5)


def test_all_with_unit_weights_is_plain_mse():
    pred, target, _ = _inputs()
    ones = torch.ones(pred.shape[:2])
    loss = WeightedHeatmapMSELoss(half=True)(pred, target, ones)
    torch.testing.assert_close(
        loss, 0.5 * torch.nn.functional.mse_loss(pred, target))
    # no weights at all: every keypoint valid with weight 1
    torch.testing.assert_close(
        WeightedHeatmapMSELoss(average='valid')(pred, target),
        torch.nn.functional.mse_loss(pred, target))


def test_weight_enters_linearly():
    pred, target = torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2)
    w = torch.tensor([[1.5]])
    # w * (p - g)^2 = 1.5, not (w p - w g)^2 = 2.25
    assert WeightedHeatmapMSELoss()(pred, target, w).item() == 1.5


def test_use_target_weight_false_ignores_weight_values():
    pred, target, weights = _inputs()
    loss_fn = WeightedHeatmapMSELoss(use_target_weight=False)
    scaled = weights * 7.0
    torch.testing.assert_close(
        loss_fn(pred, target, weights), loss_fn(pred, target, scaled))
    torch.testing.assert_close(
        loss_fn(pred, target, weights),
        torch.nn.functional.mse_loss(pred, target))


@pytest.mark.parametrize('use_target_weight', [True, False])
def test_zero_valid_keypoints(use_target_weight):
    pred, target, _ = _inputs()
    pred.requires_grad_(True)
    weights = torch.zeros(pred.shape[:2])
    loss = WeightedHeatmapMSELoss(
        use_target_weight=use_target_weight, average='valid')(pred, target,
                                                              weights)
    assert torch.isfinite(loss) and loss.item() == 0.0
    assert loss.requires_grad
    loss.backward()
    assert pred.grad is not None
    assert torch.count_nonzero(pred.grad) == 0


@pytest.mark.parametrize('average', ['all', 'valid'])
@pytest.mark.parametrize('use_target_weight', [True, False])
def test_zero_weight_keypoint_gets_zero_gradient(average, use_target_weight):
    pred, target, weights = _inputs()
    pred.requires_grad_(True)
    loss_fn = WeightedHeatmapMSELoss(
        use_target_weight=use_target_weight, average=average)
    loss_fn(pred, target, weights).backward()
    per_kpt_grad = pred.grad.abs().sum(dim=(2, 3))
    if average == 'all' and not use_target_weight:
        # weights unused: every keypoint is supervised
        assert (per_kpt_grad > 0).all()
    else:
        assert (per_kpt_grad[weights == 0] == 0).all()
        assert (per_kpt_grad[weights != 0] > 0).all()


@pytest.mark.parametrize('k', [0, 2, 4])
def test_one_labelled_keypoint_gives_its_heatmap_mse(k):
    """With only keypoint ``k`` labelled (weight 1) in every sample, the
    'valid' average is the mean over samples of that keypoint's heatmap
    MSE, and the 'all' average is that divided by ``K``."""
    pred, target, _ = _inputs()
    B, K = pred.shape[:2]
    weights = torch.zeros(B, K)
    weights[:, k] = 1.
    mse_k = np.mean((pred[:, k].double().numpy() -
                     target[:, k].double().numpy())**2)
    valid = WeightedHeatmapMSELoss(average='valid')(pred, target, weights)
    np.testing.assert_allclose(valid.item(), mse_k, rtol=1e-6)
    every = WeightedHeatmapMSELoss(average='all')(pred, target, weights)
    np.testing.assert_allclose(every.item(), mse_k / K, rtol=1e-6)


def test_invalid_arguments():
    with pytest.raises(ValueError, match='average'):
        WeightedHeatmapMSELoss(average='mean')
    pred, target, weights = _inputs()
    loss_fn = WeightedHeatmapMSELoss()
    with pytest.raises(ValueError, match='pred and target'):
        loss_fn(pred, target[:, :-1], weights)
    with pytest.raises(ValueError, match='keypoint_weights'):
        loss_fn(pred, target, weights[:, :-1])


def smoke():
    """Registry smoke test (run by tests/test_registry.py)."""
    loss = MODELS.build(dict(type='WeightedHeatmapMSELoss'))
    pred = torch.rand(2, 17, 16, 12, requires_grad=True)
    value = loss(pred, torch.rand(2, 17, 16, 12), torch.ones(2, 17))
    assert value.dim() == 0 and torch.isfinite(value)
    value.backward()
    assert pred.grad.abs().sum() > 0
