import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmpose.models.backbones.resnet import Bottleneck
from mmpose.models.utils.tta import flip_heatmaps
from mmpose.registry import MODELS

# CPN's kernel-mode targets at a 64x48 input: level 0 = kernel 15 (widest),
# level 3 = kernel 7 (finest)
CODEC = dict(type='MultiLevelHeatmap', input_size=(48, 64),
             heatmap_size=(12, 16), kernel_sizes=(15, 11, 9, 7),
             blur_kernel_size=5, refine='shift')
SMALL = (8, 16, 32, 64)
RES50 = (256, 512, 1024, 2048)
HRNET_W32 = (32, 64, 128, 256)
# the feature ladder of a 64x48 input at strides 4, 8, 16, 32 (as ResNet
# and HRNet produce it: 48 / 32 rounds up to 2)
SIZES = ((16, 12), (8, 6), (4, 3), (2, 2))
SYNTHETIC = 'configs/cpn/cpn_res18_synthetic-coco-128x96.py'


def build_head(in_channels=SMALL, **kwargs):
    cfg = dict(type='CPNHead', in_channels=in_channels, out_channels=17,
               feat_channels=16, decoder=CODEC)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def level_feats(in_channels=SMALL, batch=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [
        torch.rand(batch, c, *size, generator=gen)
        for c, size in zip(in_channels, SIZES)
    ]


def packed_targets(batch):
    """Targets ``[B, L, K, H, W]`` and weights ``[B, L, K]`` as packed."""
    samples = batch['data_samples']
    heatmaps = torch.stack([d.gt_fields.heatmaps for d in samples])
    weights = torch.cat(
        [d.gt_instance_labels.keypoint_weights for d in samples])
    B, C, H, W = heatmaps.shape
    return heatmaps.view(B, C // 17, 17, H, W), weights


@pytest.mark.parametrize('in_channels', [RES50, HRNET_W32],
                         ids=['resnet50', 'hrnet-w32'])
def test_forward_shapes(in_channels):
    head = build_head(in_channels, feat_channels=256)
    global_outs, refine_out = head(level_feats(in_channels))
    assert len(global_outs) == 4
    assert all(o.shape == (2, 17, 16, 12) for o in global_outs)
    assert refine_out.shape == (2, 17, 16, 12)
    # out_shape overrides the highest-resolution size
    head = build_head(in_channels, out_shape=(32, 24))
    global_outs, refine_out = head(level_feats(in_channels))
    assert refine_out.shape == (2, 17, 32, 24)
    assert all(o.shape == (2, 17, 32, 24) for o in global_outs)


def test_refine_branches_have_0_to_3_bottlenecks():
    head = build_head(RES50, feat_channels=256)
    assert [len(b) for b in head.refine_blocks] == [0, 1, 2, 3]
    for branch in head.refine_blocks:
        for block in branch:
            assert isinstance(block, Bottleneck)
            assert (block.in_channels, block.mid_channels,
                    block.out_channels) == (256, 128, 256)
            assert block.downsample is None  # identity shortcut
    final = head.refine_final[0]
    assert isinstance(final, Bottleneck)
    assert (final.in_channels, final.mid_channels,
            final.out_channels) == (1024, 128, 256)
    assert final.downsample is not None  # projection shortcut
    assert head.refine_final[1].conv.out_channels == 17
    # the GlobalNet: 4 laterals to 256, 3 top-down merges, 4 predictors
    assert [m.conv.in_channels for m in head.laterals] == list(RES50)
    assert len(head.merges) == 3 and len(head.global_predictors) == 4


def test_ohkm_backpropagates_through_topk_keypoints(topdown_batch):
    batch = topdown_batch(CODEC)
    targets, weights = packed_targets(batch)
    head = build_head()
    captured = {}

    def keep_output(module, args, output):
        output.retain_grad()
        captured['refine'] = output

    head.refine_final.register_forward_hook(keep_output)
    losses = head.loss(level_feats(), batch['data_samples'])
    losses['loss_refine'].backward()
    refine = captured['refine']
    hit = refine.grad.abs().sum(dim=(2, 3)) > 0  # [B, K]

    # independently: the 8 largest weighted MSEs among labelled keypoints
    # of the finest target level (kernel 7)
    w = weights[:, -1]
    err = ((refine.detach() - targets[:, -1])**2).mean(dim=(2, 3)) * w
    err = err.masked_fill(w == 0, -1)
    expected = torch.zeros_like(hit)
    expected.scatter_(1, err.topk(8, dim=1).indices, True)
    assert ((w > 0).sum(1) > 8).all()  # so that top-k is a real choice
    assert hit.sum(1).tolist() == [8, 8]
    assert torch.equal(hit, expected)
    # the GlobalNet does not feed the RefineNet loss's predictor
    assert all(p.grad is None
               for p in head.global_predictors.parameters())


@pytest.mark.parametrize('global_levels', [None, (3, 2, 1, 0)])
def test_global_level_pairing_follows_config(global_levels, topdown_batch):
    """GlobalNet outputs equal to their paired target levels give zero
    loss; the released pairing (default) puts the widest kernel (level 0)
    on the highest-resolution output."""
    batch = topdown_batch(CODEC)
    targets, _ = packed_targets(batch)
    head = build_head(global_levels=global_levels)
    pairing = global_levels or (0, 1, 2, 3)
    assert head.global_levels == pairing

    def fake_forward(levels, refine_level=3):
        return lambda feats: ([targets[:, lv] for lv in levels],
                              targets[:, refine_level])

    head.forward = fake_forward(pairing)
    losses = head.loss(None, batch['data_samples'])
    assert losses['loss_global'] == 0 and losses['loss_refine'] == 0
    head.forward = fake_forward(pairing[::-1], refine_level=0)
    losses = head.loss(None, batch['data_samples'])
    assert losses['loss_global'] > 0 and losses['loss_refine'] > 0


def test_loss_values_and_weight_layouts(topdown_batch):
    batch = topdown_batch(CODEC, use_dataset_keypoint_weights=True)
    targets, weights = packed_targets(batch)
    assert weights.shape == (2, 4, 17)
    head = build_head()
    feats = level_feats()
    losses = head.loss(feats, batch['data_samples'])
    assert set(losses) == {'loss_global', 'loss_refine', 'acc_pose'}
    global_outs, _ = head(feats)
    # mean over levels of the MSE over labelled keypoints, weighted w * err
    expected = 0.
    for lv, out in enumerate(global_outs):
        w = weights[:, lv]
        err = ((out - targets[:, lv])**2).mean(dim=(2, 3)) * w
        expected = expected + err[w > 0].sum() / (w > 0).sum()
    torch.testing.assert_close(losses['loss_global'], expected / 4)

    # a single-level codec packs [B, K] weights: every output against it
    msra = dict(type='MSRAHeatmap', input_size=(48, 64),
                heatmap_size=(12, 16), sigma=2)
    batch = topdown_batch(msra)
    head = build_head(global_levels=(0, 0, 0, 0), decoder=msra)
    losses = head.loss(feats, batch['data_samples'])
    assert torch.isfinite(losses['loss_global'] + losses['loss_refine'])
    with pytest.raises(ValueError, match='out of range for the 1 levels'):
        build_head(decoder=msra).loss(feats, batch['data_samples'])


def test_predict_flip_test(topdown_batch):
    batch = topdown_batch(None)
    head = build_head().eval()
    feats, feats_flip = level_feats(seed=0), level_feats(seed=1)
    with torch.no_grad():
        preds, heatmaps = head.predict(
            [feats, feats_flip], batch['data_samples'],
            dict(flip_test=True, output_heatmaps=True))
        flip_indices = batch['data_samples'][0].metainfo['flip_indices']
        expected = 0.5 * (head(feats)[1] + flip_heatmaps(
            head(feats_flip)[1], flip_indices=flip_indices,
            shift_heatmap=False))
        no_flip = head.predict(feats, batch['data_samples'], {})
    assert len(preds) == 2
    assert preds[0].keypoints.shape == (1, 17, 2)
    assert preds[0].keypoint_scores.shape == (1, 17)
    torch.testing.assert_close(
        torch.stack([h.heatmaps for h in heatmaps]), expected)
    assert not np.allclose(no_flip[0].keypoints, preds[0].keypoints)


@pytest.mark.parametrize('flip_test', [False, True])
def test_predict_runs_no_global_predictor(flip_test, topdown_batch):
    """predict decodes the RefineNet output only: the GlobalNet predictors
    are never called, and the result is the RefineNet output of forward,
    flip-averaged and decoded."""
    batch = topdown_batch(None)
    samples = batch['data_samples']
    head = build_head().eval()
    feats, feats_flip = level_feats(seed=0), level_feats(seed=1)
    calls = []
    hooks = [p.register_forward_hook(lambda *_: calls.append(1))
             for p in head.global_predictors]
    test_cfg = dict(flip_test=flip_test, output_heatmaps=True)
    with torch.no_grad():
        preds, heatmaps = head.predict(
            [feats, feats_flip] if flip_test else feats, samples, test_cfg)
        assert calls == []
        refine = head(feats)[1]
        if flip_test:
            flip_indices = samples[0].metainfo['flip_indices']
            refine = 0.5 * (refine + flip_heatmaps(
                head(feats_flip)[1], flip_indices=flip_indices,
                shift_heatmap=False))
    assert len(calls) == len(head.global_predictors) * (1 + flip_test)
    for hook in hooks:
        hook.remove()
    torch.testing.assert_close(
        torch.stack([h.heatmaps for h in heatmaps]), refine)
    for pred, expected in zip(preds, head.decode(refine)):
        np.testing.assert_allclose(pred.keypoints, expected.keypoints,
                                   atol=1e-5)
        np.testing.assert_allclose(pred.keypoint_scores,
                                   expected.keypoint_scores, atol=1e-5)


@pytest.mark.parametrize('flip_test', [False, True])
def test_globalnet_alone(flip_test, topdown_batch):
    """refine_net=False: no RefineNet layers or loss; the loss is the
    GlobalNet loss of the full head with the same weights, and predict
    decodes GlobalNet output 0 (flip-averaged)."""
    batch = topdown_batch(CODEC)
    samples = batch['data_samples']
    full = build_head()
    alone = build_head(refine_net=False, loss_refine=None)
    assert alone.refine_blocks is None and alone.refine_final is None
    missing, unexpected = alone.load_state_dict(full.state_dict(),
                                                strict=False)
    assert missing == [] and all(k.startswith('refine_')
                                 for k in unexpected)
    feats = level_feats()
    losses = alone.loss(feats, samples)
    assert set(losses) == {'loss_global', 'acc_pose'}
    torch.testing.assert_close(losses['loss_global'],
                               full.loss(feats, samples)['loss_global'])
    global_outs, refine = alone(feats)
    assert refine is None and len(global_outs) == 4
    assert alone.output_names() == ['global0', 'global1', 'global2',
                                    'global3']
    alone.eval()
    feats_flip = level_feats(seed=1)
    with torch.no_grad():
        _, heatmaps = alone.predict(
            [feats, feats_flip] if flip_test else feats, samples,
            dict(flip_test=flip_test, output_heatmaps=True))
        expected = alone(feats)[0][0]
        if flip_test:
            expected = 0.5 * (expected + flip_heatmaps(
                alone(feats_flip)[0][0],
                flip_indices=samples[0].metainfo['flip_indices'],
                shift_heatmap=False))
    torch.testing.assert_close(
        torch.stack([h.heatmaps for h in heatmaps]), expected)
    with pytest.raises(ValueError, match='set loss_refine=None'):
        build_head(refine_net=False, loss_refine=dict(type='OHKMLoss'))
    with pytest.raises(ValueError, match='refine_net must be a bool'):
        build_head(refine_net=0)


def flatten(outputs):
    if isinstance(outputs, torch.Tensor):
        return [outputs]
    return [t for item in outputs for t in flatten(item)]


@pytest.mark.parametrize('num_levels', [1, 2, 4])
def test_output_names_name_every_forward_output(num_levels):
    in_channels = SMALL[:num_levels]
    head = build_head(in_channels)
    outputs = flatten(head(level_feats(in_channels)))
    names = head.output_names()
    assert len(names) == len(outputs) == num_levels + 1
    assert names == [f'global{i}' for i in range(num_levels)] + ['refine']


def test_in_topdown_pose_estimator(topdown_batch):
    """Loss and flip-test prediction inside MMPose's TopdownPoseEstimator,
    on MMPose's ResNet-18 (C2..C5) and pipeline-packed inputs."""
    model = MODELS.build(dict(
        type='TopdownPoseEstimator',
        data_preprocessor=dict(type='PoseDataPreprocessor'),
        backbone=dict(type='ResNet', depth=18, out_indices=(0, 1, 2, 3)),
        head=dict(type='CPNHead', in_channels=(64, 128, 256, 512),
                  out_channels=17, feat_channels=32, decoder=CODEC),
        test_cfg=dict(flip_test=True, shift_heatmap=False,
                      output_heatmaps=True)))
    batch = topdown_batch(CODEC, use_dataset_keypoint_weights=True)
    losses = model(**model.data_preprocessor(batch, training=True),
                   mode='loss')
    assert set(losses) == {'loss_global', 'loss_refine', 'acc_pose'}
    total = losses['loss_global'] + losses['loss_refine']
    assert torch.isfinite(total) and total > 0
    total.backward()
    assert all(p.grad is not None for p in model.head.parameters())
    assert model.backbone.conv1.weight.grad.abs().sum() > 0

    model.eval()
    with torch.no_grad():
        results = model(**model.data_preprocessor(batch), mode='predict')
    assert len(results) == 2
    pred = results[0].pred_instances
    assert pred.keypoints.shape == (1, 17, 2)
    assert np.isfinite(pred.keypoints).all()
    assert results[0].pred_fields.heatmaps.shape == (17, 16, 12)


def test_synthetic_config_builds():
    cfg = Config.fromfile(SYNTHETIC)
    assert cfg.model.backbone.init_cfg is None
    model = MODELS.build(cfg.model)
    assert type(model.head).__name__ == 'CPNHead'
    assert model.head.in_channels == (32, 64, 128, 256)  # ResNet-18 / 2
    assert model.head.global_levels == (0, 1, 2, 3)
    assert model.head.decoder.kernel_sizes == (9, 7, 5, 3)
    assert model.head.decoder.peak == 255.


@pytest.mark.slow
def test_synthetic_config_localises_a_fixed_batch(fit_config_on_batch):
    """Regression test of a training failure: the head's output convs end
    in BN (as CPN's), so unit-peak targets (mean square ~1e-3) are dwarfed
    by the BN's unit output variance and the model barely localises; with
    the released peak 255 it fits a fixed batch within a few steps."""
    accs = fit_config_on_batch(SYNTHETIC, steps=12)
    assert accs[0] < 0.2  # chance level at the start
    assert max(accs[-3:]) > 0.8
    unit_peak = fit_config_on_batch(
        SYNTHETIC, steps=12, codec_overrides=dict(peak=1.))
    assert max(unit_peak[-3:]) < 0.5


def test_errors_name_the_problem(topdown_batch):
    with pytest.raises(ValueError, match='one int target level per'):
        build_head(global_levels=(0, 1, 2))
    with pytest.raises(ValueError, match='in_channels'):
        build_head(in_channels=256)
    with pytest.raises(ValueError, match='feat_channels must be even'):
        build_head(feat_channels=15)
    with pytest.raises(ValueError, match='expects 4 feature levels'):
        build_head()(level_feats()[-1:])
    batch = topdown_batch(CODEC)
    with pytest.raises(ValueError, match='out_shape'):
        build_head(out_shape=(8, 6)).loss(level_feats(),
                                          batch['data_samples'])


def smoke():
    """Registry smoke test (run by tests/test_registry.py)."""
    head = build_head()
    global_outs, refine_out = head(level_feats())
    assert [o.shape for o in global_outs] == [(2, 17, 16, 12)] * 4
    assert refine_out.shape == (2, 17, 16, 12)
    (sum(o.sum() for o in global_outs) + refine_out.sum()).backward()
    assert all(p.grad is not None for p in head.parameters())


def test_compute_acc_false_skips_the_host_copy(topdown_batch, monkeypatch):
    """``train_cfg.compute_acc=False`` (MMPose's key) drops ``acc_pose``
    and its copy of the heatmaps to numpy; by default the accuracy is
    MMPose's PCK of the RefineNet output against its level."""
    from mmpose.evaluation.functional import pose_pck_accuracy

    from mmpose_ext.models.heads import heatmap_head_utils
    batch = topdown_batch(CODEC, use_dataset_keypoint_weights=True)
    head = build_head()
    feats = level_feats()
    copies = []
    to_numpy = heatmap_head_utils.to_numpy
    monkeypatch.setattr(heatmap_head_utils, 'to_numpy',
                        lambda x: copies.append(x) or to_numpy(x))
    losses = head.loss(feats, batch['data_samples'],
                       train_cfg=dict(compute_acc=False))
    assert set(losses) == {'loss_global', 'loss_refine'} and not copies
    losses = head.loss(feats, batch['data_samples'])
    assert len(copies) == 3
    targets, weights = packed_targets(batch)
    _, refined = head(feats)
    _, expected, _ = pose_pck_accuracy(
        refined.detach().numpy(), targets[:, 3].numpy(),
        weights[:, 3].numpy() > 0)
    assert losses['acc_pose'].item() == pytest.approx(expected)


def test_predict_refuses_heatmaps_of_another_size(topdown_batch):
    """A decoder whose heatmap_size is not the output's would scale the
    keypoints by the wrong ratio (AP 0 in MMPose's stock tools)."""
    batch = topdown_batch(None)
    head = build_head(decoder=dict(CODEC, heatmap_size=(16, 16))).eval()
    with pytest.raises(ValueError, match=r"outputs 12x16 \(w x h\) heatmaps "
                       r"but its decoder's heatmap_size is \(16, 16\)"):
        with torch.no_grad():
            head.predict(level_feats(), batch['data_samples'], {})
