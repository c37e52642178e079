"""Tests of CoarseToFineLoss: level mapping, unit losses and weights."""
import pytest
import torch
from mmpose.registry import MODELS

from mmpose_ext.models.losses import (
    CoarseToFineLoss,
    OHKMLoss,
    WeightedHeatmapMSELoss,
)

B, K, H, W = 2, 3, 4, 4


def _targets(num_levels):
    """Level ``l`` is a distinct constant ``l + 1`` per pixel."""
    levels = torch.arange(1, num_levels + 1, dtype=torch.float32)
    targets = levels.view(1, num_levels, 1, 1, 1).expand(
        B, num_levels, K, H, W).clone()
    weights = torch.ones(B, num_levels, K)
    return targets, weights


def _mspn_rule(num_stages, num_units):
    return [[j + 1 if s == num_stages - 1 else j for j in range(num_units)]
            for s in range(num_stages)]


def test_registered_and_default_units():
    assert MODELS.get('CoarseToFineLoss') is CoarseToFineLoss
    loss = MODELS.build(dict(type='CoarseToFineLoss', num_stages=2))
    assert len(loss.unit_losses) == 4
    for unit in loss.unit_losses[:3]:
        assert isinstance(unit, WeightedHeatmapMSELoss)
        assert unit.average == 'valid'
    assert isinstance(loss.unit_losses[3], OHKMLoss)
    assert loss.unit_losses[3].topk == 8
    assert loss.unit_weights == [0.25, 0.25, 0.25, 1.0]


@pytest.mark.parametrize('num_stages', [1, 2, 4])
@pytest.mark.parametrize('num_units', [1, 4])
def test_default_mapping_is_mspn(num_stages, num_units):
    loss = CoarseToFineLoss(num_stages, num_units)
    expected = _mspn_rule(num_stages, num_units)
    assert loss.level_map == expected
    assert loss.get_level_map(num_units + 1) == expected


def test_named_mappings():
    assert CoarseToFineLoss(2, 3, level_map='same').level_map == [
        [0, 1, 2], [0, 1, 2]
    ]
    last = CoarseToFineLoss(2, 3, level_map='last')
    assert last.level_map == [[-1] * 3] * 2
    assert last.get_level_map(5) == [[4] * 3] * 2


@pytest.mark.parametrize('level_map,num_levels', [
    ('mspn', 5),
    ('same', 4),
    ('last', 3),
    ([[2, 0, 3, 1], [4, 4, 0, 2]], 5),
])
def test_each_unit_sees_its_mapped_level(level_map, num_levels):
    """pred == targets[:, level] zeroes exactly that unit's loss."""
    num_stages, num_units = 2, 4
    targets, weights = _targets(num_levels)
    # one unit loss per (stage, unit) is isolated by zero unit weights
    for s in range(num_stages):
        for j in range(num_units):
            unit_weights = [0.0] * num_units
            unit_weights[j] = 1.0
            loss_fn = CoarseToFineLoss(
                num_stages, num_units, level_map=level_map,
                unit_weights=unit_weights)
            level = loss_fn.get_level_map(num_levels)[s][j]
            for candidate in range(num_levels):
                preds = [[torch.zeros(B, K, H, W)] * num_units
                         for _ in range(num_stages)]
                preds[s][j] = targets[:, candidate].clone()
                out = loss_fn(preds, targets, weights)
                if candidate == level:
                    assert out[f'loss_stage{s}'].item() == 0.0
                else:
                    assert out[f'loss_stage{s}'].item() > 0.0


def test_explicit_mapping_levels_are_used():
    """Check the explicit map directly, not through get_level_map."""
    level_map = [[2, 0], [1, 1]]
    targets, weights = _targets(3)
    loss_fn = CoarseToFineLoss(2, 2, level_map=level_map)
    preds = [[targets[:, 2], targets[:, 0]], [targets[:, 1], targets[:, 1]]]
    out = loss_fn(preds, targets, weights)
    assert {k: v.item() for k, v in out.items()} == {
        'loss_stage0': 0.0,
        'loss_stage1': 0.0
    }
    preds[1][0] = targets[:, 2]
    out = loss_fn(preds, targets, weights)
    assert out['loss_stage0'].item() == 0.0
    assert out['loss_stage1'].item() > 0.0


def test_keys_and_weighted_sum():
    num_stages, num_units, num_levels = 3, 4, 5
    g = torch.Generator().manual_seed(0)
    targets = torch.rand(B, num_levels, K, H, W, generator=g)
    weights = (torch.rand(B, num_levels, K, generator=g) > 0.2).float()
    weights[0, :, 0] = 1.5
    preds = [[torch.rand(B, K, H, W, generator=g) for _ in range(num_units)]
             for _ in range(num_stages)]
    unit_weights = [0.1, 0.2, 0.3, 1.7]
    loss_fn = CoarseToFineLoss(
        num_stages, num_units, unit_weights=unit_weights,
        loss_name='loss_hm_stage')
    out = loss_fn(preds, targets, weights)
    assert sorted(out) == [f'loss_hm_stage{s}' for s in range(num_stages)]
    assert all('loss' in key for key in out)

    mse = WeightedHeatmapMSELoss(average='valid')
    ohkm = OHKMLoss(topk=8)
    for s, levels in enumerate(_mspn_rule(num_stages, num_units)):
        expected = 0.0
        for j, level in enumerate(levels):
            unit = ohkm if j == num_units - 1 else mse
            expected += unit_weights[j] * unit(
                preds[s][j], targets[:, level], weights[:, level])
        torch.testing.assert_close(out[f'loss_hm_stage{s}'], expected)


def test_default_unit_weights_and_shared_config():
    targets, weights = _targets(5)
    preds = [[torch.zeros(B, K, H, W)] * 4]
    out = CoarseToFineLoss(1)(preds, targets, weights)
    # MSPN rule on a 1-stage model: levels 1..4 with values 2..5;
    # squared error per unit = value ** 2 (all keypoints valid)
    expected = 0.25 * (2**2 + 3**2 + 4**2) + 1.0 * 5**2
    assert out['loss_stage0'].item() == pytest.approx(expected)

    shared = CoarseToFineLoss(
        1, unit_losses=dict(type='WeightedHeatmapMSELoss', half=True),
        unit_weights=[1, 1, 1, 1])
    assert len({id(m) for m in shared.unit_losses}) == 4
    assert all(m.half for m in shared.unit_losses)
    out = shared(preds, targets, weights)
    assert out['loss_stage0'].item() == pytest.approx(
        0.5 * (4 + 9 + 16 + 25))


def test_backward_reaches_every_unit():
    targets, weights = _targets(5)
    preds = [[torch.zeros(B, K, H, W, requires_grad=True) for _ in range(4)]
             for _ in range(2)]
    out = CoarseToFineLoss(2)(preds, targets, weights)
    sum(out.values()).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0
               for stage in preds for p in stage)


def test_init_validation():
    with pytest.raises(ValueError, match='rows'):
        CoarseToFineLoss(2, 2, level_map=[[0, 1]])
    with pytest.raises(ValueError, match=r'level_map\[1\]'):
        CoarseToFineLoss(2, 2, level_map=[[0, 1], [0, 1, 2]])
    with pytest.raises(TypeError, match=r'level_map\[0\]\[1\]'):
        CoarseToFineLoss(2, 2, level_map=[[0, 1.0], [0, 1]])
    with pytest.raises(ValueError, match='mspn'):
        CoarseToFineLoss(2, 2, level_map='hourglass')
    with pytest.raises(ValueError, match='unit_losses'):
        CoarseToFineLoss(2, 2, unit_losses=[dict(type='OHKMLoss')])
    with pytest.raises(ValueError, match='unit_weights'):
        CoarseToFineLoss(2, 2, unit_weights=[1.0])
    with pytest.raises(ValueError, match='num_stages'):
        CoarseToFineLoss(0)
    with pytest.raises(ValueError, match='loss_name'):
        CoarseToFineLoss(1, loss_name='stage')


def test_forward_validation():
    targets, weights = _targets(4)
    preds = [[torch.zeros(B, K, H, W)] * 4 for _ in range(2)]
    # MSPN's last stage needs level 4 but only levels 0..3 exist
    with pytest.raises(ValueError, match=r'stage 1, unit 3.*level 4'):
        CoarseToFineLoss(2)(preds, targets, weights)
    explicit = CoarseToFineLoss(
        2, level_map=[[0, 1, 2, 3], [0, -5, 2, 3]])
    with pytest.raises(ValueError, match=r'stage 1, unit 1.*level -5'):
        explicit(preds, targets, weights)
    loss_fn = CoarseToFineLoss(2, level_map='same')
    with pytest.raises(ValueError, match='stages'):
        loss_fn(preds[:1], targets, weights)
    with pytest.raises(ValueError, match='stage 1 has 3'):
        loss_fn([preds[0], preds[1][:3]], targets, weights)
    bad = [list(preds[0]), list(preds[1])]
    bad[1][2] = torch.zeros(B, K, H * 2, W * 2)
    with pytest.raises(ValueError, match=r'stage 1, unit 2'):
        loss_fn(bad, targets, weights)
    with pytest.raises(ValueError, match='keypoint_weights'):
        loss_fn(preds, targets, weights[:, 0])
    with pytest.raises(ValueError, match='targets'):
        loss_fn(preds, targets[:, 0], weights)


def smoke():
    """Registry smoke test (run by tests/test_registry.py)."""
    loss = MODELS.build(dict(type='CoarseToFineLoss', num_stages=2,
                             num_units=2))
    preds = [[torch.rand(2, 17, 16, 12, requires_grad=True)
              for _ in range(2)] for _ in range(2)]
    losses = loss(preds, torch.rand(2, 3, 17, 16, 12), torch.ones(2, 3, 17))
    assert set(losses) == {'loss_stage0', 'loss_stage1'}
    sum(losses.values()).backward()
    assert all(p.grad.abs().sum() > 0 for s in preds for p in s)
