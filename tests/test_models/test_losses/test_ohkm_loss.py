"""Tests of OHKMLoss against a brute-force per-sample loop."""
import pytest
import torch
import torch.nn.functional as F
from mmpose.registry import MODELS

from mmpose_ext.models.losses import OHKMLoss

_CRITERIA = {
    'mse': lambda p, g: (p - g)**2,
    'l1': lambda p, g: (p - g).abs(),
    'smooth_l1':
    lambda p, g: F.smooth_l1_loss(p, g, reduction='none', beta=1.0),
}


def _brute_force(pred, target, weights, topk, criterion, use_target_weight):
    """Per-sample Python loop: sort valid losses, average the top k."""
    B, K = pred.shape[:2]
    sample_losses = []
    for b in range(B):
        valid = []
        for k in range(K):
            w = float(weights[b, k])
            if w == 0:
                continue
            err = float(_CRITERIA[criterion](pred[b, k], target[b, k]).mean())
            valid.append(err * w if use_target_weight else err)
        if not valid:
            continue
        hardest = sorted(valid, reverse=True)[:topk]
        sample_losses.append(sum(hardest) / len(hardest))
    if not sample_losses:
        return 0.0
    return sum(sample_losses) / len(sample_losses)


def _inputs(seed=0, B=5, K=10, H=4, W=4):
    g = torch.Generator().manual_seed(seed)
    pred = torch.rand(B, K, H, W, generator=g, dtype=torch.float64) * 3
    target = torch.rand(B, K, H, W, generator=g, dtype=torch.float64)
    weights = (torch.rand(B, K, generator=g) > 0.3).double()
    weights[0] = 1.0  # all valid: more than k
    weights[1] = 0.0
    weights[1, [2, 7, 9]] = 1.0  # fewer than k valid
    weights[2] = 0.0  # none valid
    weights[3, 4] = 1.5  # dataset weight
    weights[3, 5] = 1.5
    return pred, target, weights


def test_registered():
    assert MODELS.get('OHKMLoss') is OHKMLoss
    loss = MODELS.build(dict(type='OHKMLoss', topk=3, criterion='l1'))
    assert loss.topk == 3 and loss.criterion == 'l1'


@pytest.mark.parametrize('criterion', ['mse', 'l1', 'smooth_l1'])
@pytest.mark.parametrize('use_target_weight', [True, False])
@pytest.mark.parametrize('topk', [1, 4, 8, 12])
def test_matches_brute_force(criterion, use_target_weight, topk):
    for seed in range(3):
        pred, target, weights = _inputs(seed)
        loss_fn = OHKMLoss(
            topk=topk,
            criterion=criterion,
            use_target_weight=use_target_weight,
            loss_weight=0.7)
        loss = loss_fn(pred, target, weights)
        expected = 0.7 * _brute_force(pred, target, weights, topk,
                                      criterion, use_target_weight)
        assert loss.dim() == 0
        assert loss.item() == pytest.approx(expected, rel=1e-10)


def test_without_weights_equals_all_valid():
    pred, target, _ = _inputs()
    loss_fn = OHKMLoss(topk=4)
    torch.testing.assert_close(
        loss_fn(pred, target),
        loss_fn(pred, target, torch.ones(pred.shape[:2], dtype=pred.dtype)))


def test_no_valid_keypoint_is_zero_and_differentiable():
    pred, target, _ = _inputs()
    pred.requires_grad_(True)
    weights = torch.zeros(pred.shape[:2], dtype=pred.dtype)
    loss = OHKMLoss()(pred, target, weights)
    assert torch.isfinite(loss) and loss.item() == 0.0
    loss.backward()
    assert torch.count_nonzero(pred.grad) == 0


def test_gradient_only_on_selected_hardest_keypoints():
    topk = 4
    pred, target, weights = _inputs(seed=1)
    pred.requires_grad_(True)
    OHKMLoss(topk=topk)(pred, target, weights).backward()
    has_grad = pred.grad.abs().sum(dim=(2, 3)) > 0  # [B, K]

    per_kpt = ((pred - target)**2).mean(dim=(2, 3)).detach() * weights
    for b in range(pred.shape[0]):
        valid = (weights[b] != 0).nonzero().flatten().tolist()
        ranked = sorted(valid, key=lambda k: -per_kpt[b, k].item())
        expected = torch.zeros(pred.shape[1], dtype=torch.bool)
        expected[ranked[:topk]] = True
        assert torch.equal(has_grad[b], expected), b
    assert has_grad[2].sum() == 0  # sample without valid keypoints
    assert has_grad[1].sum() == 3  # fewer valid keypoints than topk


def test_padding_never_mined():
    """Huge errors on unlabelled keypoints must not change the loss."""
    pred, target, weights = _inputs()
    loss_fn = OHKMLoss(topk=3)
    loss = loss_fn(pred, target, weights)
    pred2 = pred.clone()
    pred2[weights == 0] = 1e6
    torch.testing.assert_close(loss_fn(pred2, target, weights), loss)


@pytest.mark.parametrize('topk', [0, -1, 2.0, True, '8'])
def test_invalid_topk(topk):
    with pytest.raises(ValueError, match=f'topk.*{topk!r}'):
        OHKMLoss(topk=topk)


def test_invalid_criterion_and_shapes():
    with pytest.raises(ValueError, match="mse.*l1.*smooth_l1"):
        OHKMLoss(criterion='l2')
    pred, target, weights = _inputs()
    with pytest.raises(ValueError, match='keypoint_weights'):
        OHKMLoss()(pred, target, weights[:, :3])
    with pytest.raises(ValueError, match='pred and target'):
        OHKMLoss()(pred, target[..., :2], weights)


def smoke():
    """Registry smoke test (run by tests/test_registry.py)."""
    loss = MODELS.build(dict(type='OHKMLoss'))
    pred = torch.rand(2, 17, 16, 12, requires_grad=True)
    value = loss(pred, torch.rand(2, 17, 16, 12), torch.ones(2, 17))
    assert value.dim() == 0 and torch.isfinite(value)
    value.backward()
    assert pred.grad.abs().sum() > 0
