import numpy as np
import pytest
import torch
from mmpose.models.utils.tta import flip_heatmaps
from mmpose.registry import MODELS

from mmpose_ext.models.heads.heatmap_head_utils import level_targets

MSRA = dict(type='MSRAHeatmap', input_size=(48, 64), heatmap_size=(12, 16),
            sigma=2)
MULTI = dict(type='MultiLevelHeatmap', input_size=(48, 64),
             heatmap_size=(12, 16), kernel_sizes=(15, 11, 9, 7, 5))


def build_head(**kwargs):
    cfg = dict(type='MultiStageHeatmapHead', in_channels=8, out_channels=17,
               decoder=MSRA)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def stage_feats(num_stages, num_units=1, batch=2, channels=8, size=(16, 12)):
    if num_units == 1:
        return [torch.rand(batch, channels, *size) for _ in range(num_stages)]
    # coarse-to-fine units: 1/8, 1/4, 1/2, 1 of the heatmap size
    return [[
        torch.rand(batch, channels, size[0] >> (num_units - 1 - j),
                   size[1] >> (num_units - 1 - j)) for j in range(num_units)
    ] for _ in range(num_stages)]


@pytest.mark.parametrize('num_stages', [1, 2, 4])
@pytest.mark.parametrize('num_units', [1, 4])
def test_forward_shapes(num_stages, num_units):
    head = build_head(num_stages=num_stages, num_units=num_units)
    # an extra leading stage output is ignored: the last S are used
    feats = stage_feats(num_stages + 1, num_units)
    out = head(feats)
    assert len(out) == num_stages
    for s in range(num_stages):
        assert len(out[s]) == num_units
        for j in range(num_units):
            x = feats[s + 1] if num_units == 1 else feats[s + 1][j]
            assert out[s][j].shape == (2, 17, *x.shape[-2:])
            # the 1x1 conv of (stage s, unit j), stage-major, on its input
            layer = head.final_layers[s * num_units + j]
            expected = torch.einsum('bchw,kc->bkhw', x,
                                    layer.weight[:, :, 0, 0])
            torch.testing.assert_close(
                out[s][j], expected + layer.bias[None, :, None, None])


@pytest.mark.parametrize('num_stages', [1, 2, 4])
def test_loss_on_pipeline_packed_batch(num_stages, topdown_batch):
    batch = topdown_batch(MSRA)
    head = build_head(num_stages=num_stages)
    losses = head.loss(stage_feats(num_stages), batch['data_samples'])
    assert set(losses) == {f'loss_stage{s}' for s in range(num_stages)} | {
        'acc_pose'}
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total) and total > 0
    total.backward()
    for conv in head.final_layers:
        assert conv.weight.grad is not None
        assert conv.weight.grad.abs().sum() > 0

    # each stage's loss is the same criterion applied to its own output
    # against the packed target, recomputed here independently
    gt = torch.stack([d.gt_fields.heatmaps for d in batch['data_samples']])
    w = torch.cat([
        d.gt_instance_labels.keypoint_weights for d in batch['data_samples']
    ])
    torch.manual_seed(0)
    feats = stage_feats(num_stages)
    losses = head.loss(feats, batch['data_samples'])
    for s, out in enumerate(head(feats)):
        # the default single-unit criterion is OHKM: the mean of the 8
        # largest weighted per-keypoint MSEs among the labelled keypoints
        err = ((out[0] - gt)**2).mean(dim=(2, 3)) * w
        per = torch.where(w > 0, err, torch.full_like(err, -1.))
        top = per.topk(8, dim=1).values
        top = torch.where(top >= 0, top, torch.zeros_like(top))
        counts = (per.topk(8, dim=1).values >= 0).sum(1).clamp(min=1)
        expected = (top.sum(1) / counts).mean()
        torch.testing.assert_close(losses[f'loss_stage{s}'], expected)


def test_multilevel_targets_and_units(topdown_batch):
    batch = topdown_batch(MULTI, use_dataset_keypoint_weights=True)
    head = build_head(num_stages=2, num_units=4, decoder=MULTI)
    losses = head.loss(stage_feats(2, 4), batch['data_samples'])
    assert {'loss_stage0', 'loss_stage1', 'acc_pose'} <= set(losses)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert all(c.weight.grad is not None for c in head.final_layers)


def test_multilevel_stage_losses_by_hand(topdown_batch):
    """Each unit output is its mapped target level plus a constant c_j, so
    every labelled keypoint's MSE is c_j**2: a stage's loss is then
    0.25 * (c_0**2 + c_1**2 + c_2**2) (MSE over the labelled keypoints)
    + 1.0 * c_3**2 (OHKM, per sample with a labelled keypoint, averaged
    over the batch), MSPN's unit weights and criteria."""
    batch = topdown_batch(MULTI)
    head = build_head(num_stages=2, num_units=4, heatmap_inputs=True,
                      decoder=MULTI)
    targets, weights = level_targets(batch['data_samples'], 17)
    assert set(weights.unique().tolist()) <= {0.0, 1.0}
    level_map = head.loss_module.get_level_map(targets.shape[1])
    offsets = [[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]]
    feats = [[targets[:, level_map[s][j]] + offsets[s][j] for j in range(4)]
             for s in range(2)]
    losses = head.loss(feats, batch['data_samples'])
    labelled = (weights[:, 0] > 0).any(dim=1).float()
    assert labelled.any()
    for s in range(2):
        c = offsets[s]
        expected = 0.25 * (c[0]**2 + c[1]**2 + c[2]**2) + \
            c[3]**2 * labelled.mean().item()
        assert losses[f'loss_stage{s}'].item() == pytest.approx(expected,
                                                               rel=1e-5)


def test_predict_decodes_a_known_peak(topdown_batch):
    """Gaussian heatmaps peaked at pixel (x, y) with height h decode to
    input-image keypoints (4x, 4y) (48x64 input, 12x16 heatmaps; no
    quarter shift on a symmetric peak) with score h."""
    batch = topdown_batch(None)
    head = build_head(heatmap_inputs=True)
    K, H, W = 17, 16, 12
    xs = torch.arange(K) % (W - 2) + 1
    ys = torch.arange(K) % (H - 2) + 1
    heights = torch.linspace(0.5, 1.0, K)
    yy, xx = torch.meshgrid(torch.arange(H), torch.arange(W), indexing='ij')
    heatmaps = heights[:, None, None] * torch.exp(
        -((xx - xs[:, None, None])**2 + (yy - ys[:, None, None])**2) / 8.)
    feats = [heatmaps[None].repeat(2, 1, 1, 1)]
    preds = head.predict(feats, batch['data_samples'], {})
    expected = torch.stack([xs, ys], dim=1).float().numpy() * 4
    for pred in preds:
        np.testing.assert_allclose(pred.keypoints[0], expected)
        np.testing.assert_allclose(pred.keypoint_scores[0], heights.numpy(),
                                   rtol=1e-6)


def test_supervision_follows_level_map(topdown_batch):
    """A unit equal to its mapped target level has zero loss."""
    batch = topdown_batch(MULTI)
    head = build_head(num_stages=2, num_units=4, heatmap_inputs=True,
                      decoder=MULTI)
    targets, _ = level_targets(batch['data_samples'], 17)
    level_map = head.loss_module.get_level_map(targets.shape[1])
    assert level_map == [[0, 1, 2, 3], [1, 2, 3, 4]]  # MSPN's rule
    feats = [[targets[:, level_map[s][j]] for j in range(4)]
             for s in range(2)]
    losses = head.loss(feats, batch['data_samples'])
    assert losses['loss_stage0'] == 0 and losses['loss_stage1'] == 0
    feats[1][3] = targets[:, 3]  # the finest unit against a wrong level
    assert head.loss(feats, batch['data_samples'])['loss_stage1'] > 0


@pytest.mark.parametrize('num_stages', [1, 2, 4])
def test_predict_flip_test(num_stages, topdown_batch):
    batch = topdown_batch(None)
    head = build_head(num_stages=num_stages)
    feats, feats_flip = stage_feats(num_stages), stage_feats(num_stages)
    preds, heatmaps = head.predict([feats, feats_flip],
                                   batch['data_samples'],
                                   dict(flip_test=True, shift_heatmap=True,
                                        output_heatmaps=True))
    assert len(preds) == 2
    assert preds[0].keypoints.shape == (1, 17, 2)
    assert preds[0].keypoint_scores.shape == (1, 17)
    # independent flip-test average of the last stage
    flip_indices = batch['data_samples'][0].metainfo['flip_indices']
    expected = 0.5 * (head(feats)[-1][-1] + flip_heatmaps(
        head(feats_flip)[-1][-1], flip_indices=flip_indices,
        shift_heatmap=True))
    torch.testing.assert_close(
        torch.stack([h.heatmaps for h in heatmaps]), expected)
    no_flip = head.predict(feats, batch['data_samples'], {})
    assert not np.allclose(no_flip[0].keypoints, preds[0].keypoints)


def flatten(outputs):
    if isinstance(outputs, torch.Tensor):
        return [outputs]
    return [t for item in outputs for t in flatten(item)]


@pytest.mark.parametrize('num_stages,num_units,expected', [
    (1, 1, ['stage0']),
    (3, 1, ['stage0', 'stage1', 'stage2']),
    (2, 4, [f'stage{s}_unit{u}' for s in range(2) for u in range(4)]),
])
@pytest.mark.parametrize('heatmap_inputs', [False, True])
def test_output_names_name_every_forward_output(num_stages, num_units,
                                                expected, heatmap_inputs):
    head = build_head(num_stages=num_stages, num_units=num_units,
                      heatmap_inputs=heatmap_inputs)
    outputs = flatten(head(stage_feats(num_stages, num_units)))
    assert len(head.output_names()) == len(outputs)
    assert head.output_names() == expected


def test_predict_runs_only_the_final_layer(topdown_batch):
    """predict applies the last (stage, unit) layer alone; its heatmaps are
    those of forward's last output."""
    batch = topdown_batch(None)
    head = build_head(num_stages=2, num_units=4)
    feats = stage_feats(2, 4)
    calls = []
    for i, layer in enumerate(head.final_layers):
        layer.register_forward_hook(lambda *_, i=i: calls.append(i))
    _, heatmaps = head.predict(feats, batch['data_samples'],
                               dict(output_heatmaps=True))
    assert calls == [len(head.final_layers) - 1]
    torch.testing.assert_close(
        torch.stack([h.heatmaps for h in heatmaps]), head(feats)[-1][-1])


@pytest.mark.parametrize('num_stacks', [1, 2])
def test_in_topdown_pose_estimator(num_stacks, topdown_batch):
    """Loss and flip-test prediction inside MMPose's TopdownPoseEstimator,
    on MMPose's own stacked HourglassNet."""
    codec = dict(type='MSRAHeatmap', input_size=(64, 64),
                 heatmap_size=(16, 16), sigma=2)
    model = MODELS.build(dict(
        type='TopdownPoseEstimator',
        data_preprocessor=dict(type='PoseDataPreprocessor'),
        backbone=dict(type='HourglassNet', num_stacks=num_stacks,
                      stage_channels=(256, 32, 32, 32, 32, 32),
                      stage_blocks=(1, 1, 1, 1, 1, 1), feat_channel=16,
                      downsample_times=2),
        head=dict(type='MultiStageHeatmapHead', in_channels=16,
                  out_channels=17, num_stages=num_stacks, decoder=codec),
        test_cfg=dict(flip_test=True, shift_heatmap=True)))
    batch = topdown_batch(codec, input_size=(64, 64))
    data = model.data_preprocessor(batch, training=True)
    losses = model(**data, mode='loss')
    assert len([k for k in losses if k.startswith('loss')]) == num_stacks
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    model.eval()
    with torch.no_grad():
        results = model(**model.data_preprocessor(batch), mode='predict')
    assert results[0].pred_instances.keypoints.shape == (1, 17, 2)


def test_errors_name_the_problem(topdown_batch):
    batch = topdown_batch(MSRA)
    head = build_head(num_stages=2, out_channels=16)
    with pytest.raises(ValueError, match='out_channels=16'):
        head.loss(stage_feats(2), batch['data_samples'])
    with pytest.raises(ValueError, match='num_stages=3'):
        build_head(num_stages=3)(stage_feats(2))
    with pytest.raises(ValueError, match='num_stages'):
        build_head(num_stages=0)
    with pytest.raises(ValueError, match='one value per unit'):
        build_head(num_units=4, in_channels=[8, 8])


def smoke():
    """Registry smoke test (run by tests/test_registry.py)."""
    head = build_head(num_stages=2)
    out = head(stage_feats(2))
    assert [[o.shape for o in s] for s in out] == [[(2, 17, 16, 12)]] * 2
    sum(o.sum() for s in out for o in s).backward()
    assert all(p.grad is not None for p in head.parameters())


def test_compute_acc_false_skips_the_host_copy(topdown_batch, monkeypatch):
    """``train_cfg.compute_acc=False`` (MMPose's key) drops ``acc_pose``
    and its copy of the heatmaps to numpy; by default the accuracy is
    MMPose's PCK of the last output."""
    from mmpose.evaluation.functional import pose_pck_accuracy

    from mmpose_ext.models.heads import heatmap_head_utils
    batch = topdown_batch(MSRA)
    head = build_head(num_stages=2)
    feats = stage_feats(2)
    copies = []
    to_numpy = heatmap_head_utils.to_numpy
    monkeypatch.setattr(heatmap_head_utils, 'to_numpy',
                        lambda x: copies.append(x) or to_numpy(x))
    losses = head.loss(feats, batch['data_samples'],
                       train_cfg=dict(compute_acc=False))
    assert set(losses) == {'loss_stage0', 'loss_stage1'} and not copies
    losses = head.loss(feats, batch['data_samples'])
    assert len(copies) == 3
    targets, weights = level_targets(batch['data_samples'], 17)
    _, expected, _ = pose_pck_accuracy(
        head(feats)[-1][-1].detach().numpy(), targets[:, 0].numpy(),
        weights[:, 0].numpy() > 0)
    assert losses['acc_pose'].item() == pytest.approx(expected)


def test_predict_refuses_heatmaps_of_another_size(topdown_batch):
    """A decoder whose heatmap_size is not the output's would scale the
    keypoints by the wrong ratio (AP 0 in MMPose's stock tools)."""
    batch = topdown_batch(None)
    head = build_head(decoder=dict(MSRA, heatmap_size=(12, 12)))
    with pytest.raises(ValueError, match=r"outputs 12x16 \(w x h\) heatmaps "
                       r"but its decoder's heatmap_size is \(12, 12\)"):
        head.predict(stage_feats(1), batch['data_samples'], {})
