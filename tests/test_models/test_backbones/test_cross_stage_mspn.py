"""Tests of CrossStageMSPN: shapes, cross-stage aggregation, coarse-to-fine
supervision, training in MMPose's TopdownPoseEstimator, equivalence with
MMPose's MSPN."""
import copy
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmpose.models.backbones import ResNet
from mmpose.registry import MODELS

from mmpose_ext.models.backbones import CrossStageMSPN
from mmpose_ext.models.backbones.cross_stage_mspn import (
    convert_mmpose_mspn_state_dict,
)

ROOT = Path(__file__).resolve().parents[3]
SYNTHETIC_CONFIG = ROOT / 'configs/mspn/mspn50-2stage_synthetic-coco-128x96.py'
KERNELS = (15, 11, 9, 7, 5)
# 64x48 input: units at 1/32 (rounded up) .. 1/4 of the input
UNIT_SIZES = [(2, 2), (4, 3), (8, 6), (16, 12)]
CODEC = dict(type='MultiLevelHeatmap', input_size=(48, 64),
             heatmap_size=(12, 16), kernel_sizes=KERNELS)


def build(**kwargs):
    cfg = dict(type='CrossStageMSPN', depth=18, num_stages=2,
               unit_channels=32, stem_channels=16, base_channels=16)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def randomize_bn(module, seed=0):
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(0.1 * torch.randn(n, generator=g))
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(0.1 * torch.randn(n, generator=g))


@pytest.mark.parametrize('num_stages,num_keypoints', [(1, None), (2, 17),
                                                       (3, None), (4, 17)])
def test_output_shapes(num_stages, num_keypoints):
    model = build(num_stages=num_stages, num_keypoints=num_keypoints)
    assert len(model.aggregations) == num_stages - 1
    outs = model(torch.rand(2, 3, 64, 48))
    channels = 32 if num_keypoints is None else 17
    assert isinstance(outs, tuple) and len(outs) == num_stages
    for stage in outs:
        assert [tuple(u.shape) for u in stage] == [
            (2, channels, *s) for s in UNIT_SIZES]  # coarse to fine


def count(module):
    return sum(p.numel() for p in module.parameters())


def mmpose_mspn(num_stages, num_blocks, unit_channels=256):
    """MMPose's MSPN and MSPNHead (without PRM) at the given settings."""
    mspn = MODELS.build(dict(type='MSPN', num_stages=num_stages,
                             num_blocks=list(num_blocks),
                             unit_channels=unit_channels))
    head = MODELS.build(
        dict(type='MSPNHead', num_stages=num_stages, num_units=4,
             unit_channels=unit_channels, out_shape=(16, 12),
             out_channels=17, level_indices=[0] * 4 * num_stages))
    return mspn, head


def mapped_weights(mspn, head):
    state = {f'backbone.{k}': v for k, v in mspn.state_dict().items()}
    state.update({f'head.{k}': v for k, v in head.state_dict().items()})
    converted = convert_mmpose_mspn_state_dict(state)
    assert len(converted) == len(state)
    return {k[len('backbone.'):]: v for k, v in converted.items()}


@pytest.mark.slow
def test_default_layout_matches_mmpose_mspn50():
    """ResNet-50 channels, and the parameters of MMPose's 2xMSPN-50 config
    (MSPN + MSPNHead) mapped one to one."""
    model = CrossStageMSPN(num_stages=2, num_keypoints=17)
    stage = model.stages[0]
    assert stage.down_channels == [256, 512, 1024, 2048]
    assert [len(layer) for layer in stage.down] == [3, 4, 6, 3]
    # up units coarse to fine read layer4 .. layer1, 256 channels each
    assert [u.in_skip.conv.in_channels for u in stage.up] == [
        2048, 1024, 512, 256]
    assert {u.in_skip.conv.out_channels for u in stage.up} == {256}
    assert [u.up_conv is None for u in stage.up] == [True, False, False,
                                                     False]
    agg = model.aggregations[0]
    assert agg.in_channels == (256, 512, 1024, 2048)
    assert (agg.cross_conv.conv.in_channels,
            agg.cross_conv.conv.out_channels) == (256, 64)
    assert model.stem.conv.out_channels == 64
    assert model.stages[1].down[0][0].conv1.in_channels == 64

    mspn, head = mmpose_mspn(2, (3, 4, 6, 3))
    predictors = sum(count(s.predictors) for s in model.stages)
    assert count(model) - predictors == count(mspn) == 55_958_464
    assert predictors == count(head) == 842_000
    model.load_state_dict(mapped_weights(mspn, head), strict=True)


def test_same_heatmaps_as_mmpose_mspn():
    """MMPose's weights (random BN statistics) mapped onto ours give the
    same heatmaps; small settings for speed."""
    mspn, head = mmpose_mspn(2, (1, 1, 1, 1), unit_channels=32)
    randomize_bn(mspn, seed=0)
    randomize_bn(head, seed=1)
    ours = CrossStageMSPN(num_stages=2, stage_blocks=(1, 1, 1, 1),
                          unit_channels=32, num_keypoints=17)
    ours.load_state_dict(mapped_weights(mspn, head), strict=True)
    for m in (ours, mspn, head):
        m.eval()
    x = torch.rand(1, 3, 64, 48)
    with torch.no_grad():
        a = [u for s in ours(x) for u in s]
        b = head(mspn(x))
    for i, (u, v) in enumerate(zip(a, b)):
        # MSPNHead upsamples every unit to out_shape (align_corners=True)
        u = F.interpolate(u, size=v.shape[-2:], mode='bilinear',
                          align_corners=True)
        # float rounding only: skips are summed before being added
        scale = v.abs().max().item()
        torch.testing.assert_close(u, v, rtol=1e-5, atol=1e-5 * scale,
                                   msg=f'output {i}')

    with pytest.raises(ValueError, match='prm'):
        convert_mmpose_mspn_state_dict(
            {'head.predict_layers.0.prm.middle_path.0.weight': None})


def test_aggregation_is_added_after_each_resnet_layer():
    """Zeroing the previous stage's features: with all of them zero the
    stage equals its no-aggregation path; a single non-zero feature at
    scale i leaves the finer scales alone and changes the ResNet layer i
    output by exactly the aggregation's skip."""
    model = build()
    model.eval()
    randomize_bn(model.stages)  # aggregation BN keeps 0 -> 0
    agg, stage = model.aggregations[0], model.stages[1]
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 16, 16, 12, generator=g)
    down = [torch.randn(1, c, *s, generator=g)
            for c, s in zip(stage.down_channels, UNIT_SIZES[::-1])]
    up = [torch.randn(1, 32, *s, generator=g) for s in UNIT_SIZES[::-1]]

    def zeros(feats):
        return [torch.zeros_like(t) for t in feats]

    with torch.no_grad():
        ref_down, _, ref_out = stage(x)
        skips, _ = agg(zeros(down), zeros(up))
        zero_down, _, zero_out = stage(x, skips)
        for a, b in zip(zero_down + zero_out, ref_down + ref_out):
            torch.testing.assert_close(a, b)

        for i in range(4):
            for kind in ('down', 'up'):
                d, u = zeros(down), zeros(up)
                (d if kind == 'down' else u)[i] = (down if kind == 'down'
                                                   else up)[i]
                skips, _ = agg(d, u)
                new_down, _, new_out = stage(x, skips)
                for j in range(i):
                    torch.testing.assert_close(new_down[j], ref_down[j])
                torch.testing.assert_close(new_down[i] - ref_down[i],
                                           skips[i], rtol=1e-4, atol=1e-5)
                assert skips[i].abs().sum() > 0, (i, kind)
                assert not torch.allclose(new_out[-1], ref_out[-1]), (i,
                                                                       kind)


def test_stages_are_wired_through_the_aggregation():
    """The aggregation gets stage s's ResNet outputs and its up units (both
    finest first); stage s + 1 gets its skips and next input."""
    model = build(num_stages=3)
    seen = {}

    def keep(name):

        def hook(module, args, output):
            seen[name] = (args, output)

        return hook

    for s, stage in enumerate(model.stages):
        stage.register_forward_hook(keep(f'stage{s}'))
    for s, agg in enumerate(model.aggregations):
        agg.register_forward_hook(keep(f'agg{s}'))
    outs = model(torch.rand(2, 3, 64, 48))
    for s in range(2):
        (down_in, up_in), (skips, next_input) = seen[f'agg{s}']
        _, (down, up, _) = seen[f'stage{s}']
        assert all(a is b for a, b in zip(down_in, down))
        assert all(a is b for a, b in zip(up_in, up[::-1]))
        (x, skips_in), _ = seen[f'stage{s + 1}']
        assert x is next_input and skips_in is skips
    assert seen['stage0'][0][1] is None  # first stage: no aggregation
    assert all(a is b for a, b in zip(outs[-1], seen['stage2'][1][2]))


def test_without_cross_stage_aggregation():
    """cross_stage_aggregation=False: later stages get no skips, only the
    previous stage's finest unit as input (same result as the full model
    with its skips forced to zero), and the skip convs are gone."""
    full = build(num_stages=3, num_keypoints=17).eval()
    bare = build(num_stages=3, num_keypoints=17,
                 cross_stage_aggregation=False).eval()
    randomize_bn(full)
    missing, unexpected = bare.load_state_dict(full.state_dict(),
                                               strict=False)
    assert missing == [] and unexpected and all(
        '.down_convs.' in k or '.up_convs.' in k for k in unexpected)
    seen = []
    for stage in bare.stages:
        stage.register_forward_pre_hook(
            lambda m, args: seen.append(args[1]))
    x = torch.rand(2, 3, 64, 48)
    for agg in full.aggregations:  # zero skips, same next input
        agg.register_forward_hook(
            lambda m, args, out: ([torch.zeros_like(t) for t in out[0]],
                                  out[1]))
    with torch.no_grad():
        outs, ref = bare(x), full(x)
    assert seen == [None, None, None]
    for stage_out, stage_ref in zip(outs, ref):
        for unit, unit_ref in zip(stage_out, stage_ref):
            torch.testing.assert_close(unit, unit_ref)
    with pytest.raises(ValueError, match='cross_stage_aggregation must be'):
        build(cross_stage_aggregation=1)


@pytest.mark.parametrize('num_stages', [1, 3])
def test_units_supervised_by_mapped_levels(num_stages, topdown_batch):
    """Each (stage, unit) loss term is recomputed against the level of the
    MSPN mapping: unit j against level j, in the last stage level j + 1."""
    batch = topdown_batch(CODEC, use_dataset_keypoint_weights=True)
    samples = batch['data_samples']
    model = build(num_stages=num_stages, num_keypoints=17)
    head = MODELS.build(
        dict(type='MultiStageHeatmapHead', in_channels=17, out_channels=17,
             num_stages=num_stages, num_units=4, heatmap_inputs=True))
    level_map = head.loss_module.get_level_map(len(KERNELS))
    assert level_map == [[j + (s == num_stages - 1) for j in range(4)]
                         for s in range(num_stages)]

    feats = model(batch['inputs'])
    losses = head.loss(feats, samples)
    gt = torch.stack([d.gt_fields.heatmaps for d in samples]).view(
        2, len(KERNELS), 17, 16, 12)
    w = torch.cat([d.gt_instance_labels.keypoint_weights for d in samples])
    assert w.shape == (2, len(KERNELS), 17)
    for s in range(num_stages):
        expected = 0.
        for j in range(4):
            level = level_map[s][j]
            pred = F.interpolate(feats[s][j], size=(16, 12),
                                 mode='bilinear', align_corners=False)
            err = ((pred - gt[:, level])**2).mean(dim=(2, 3)) * w[:, level]
            valid = w[:, level] > 0
            if j < 3:  # MSE over labelled keypoints, weight 0.25
                expected = expected + 0.25 * err[valid].sum() / valid.sum()
            else:  # OHKM: mean of the 8 hardest labelled keypoints
                per = torch.where(valid, err, torch.full_like(err, -1.))
                top = per.topk(8, dim=1).values
                expected = expected + (top.clamp(min=0).sum(1) / (
                    top >= 0).sum(1)).mean()
        torch.testing.assert_close(losses[f'loss_stage{s}'], expected)


def _train_steps(model, batch, steps, lr):
    optim = torch.optim.Adam(model.parameters(), lr=lr)
    data = model.data_preprocessor(batch, training=True)
    history = []
    for _ in range(steps):
        losses = model(**data, mode='loss')
        loss = sum(v for k, v in losses.items() if k.startswith('loss'))
        history.append(loss.item())
        optim.zero_grad()
        loss.backward()
        optim.step()
    return history, losses


def test_trains_in_topdown_pose_estimator(topdown_batch):
    """Unit features + the head's 1x1 convs, on pipeline-packed
    MultiLevelHeatmap targets with COCO's keypoint weights."""
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='TopdownPoseEstimator',
        data_preprocessor=dict(type='PoseDataPreprocessor'),
        backbone=dict(type='CrossStageMSPN', depth=18, num_stages=2,
                      unit_channels=32, stem_channels=16, base_channels=16),
        head=dict(type='MultiStageHeatmapHead', in_channels=32,
                  out_channels=17, num_stages=2, num_units=4,
                  decoder=CODEC),
        test_cfg=dict(flip_test=True)))
    model.init_weights()
    batch = topdown_batch(CODEC, batch_size=4,
                          use_dataset_keypoint_weights=True)
    for d in batch['data_samples']:  # as PackPoseInputs packs them
        assert d.gt_fields.heatmaps.shape == (len(KERNELS) * 17, 16, 12)
        assert d.gt_instance_labels.keypoint_weights.shape == (
            1, len(KERNELS), 17)
    history, losses = _train_steps(model, batch, steps=5, lr=1e-3)
    assert set(losses) == {'loss_stage0', 'loss_stage1', 'acc_pose'}
    assert history[-1] < 0.9 * history[0], history

    model.eval()
    with torch.no_grad():
        results = model(**model.data_preprocessor(batch), mode='predict')
    assert results[0].pred_instances.keypoints.shape == (1, 17, 2)


@pytest.mark.slow
def test_synthetic_config_model_trains(topdown_batch):
    """The synthetic config's 2-stage model (MSPN's predictors in the
    backbone, head on heatmap inputs, peak-255 targets of its codec at
    128x96) trains; only the ResNet widths are shrunk for speed."""
    cfg = Config.fromfile(str(SYNTHETIC_CONFIG))
    assert cfg.model.backbone.num_stages == 2
    cfg.model.backbone.update(depth=18, unit_channels=32, stem_channels=16,
                              base_channels=16)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    codec = cfg.codec
    batch = topdown_batch(codec, input_size=codec['input_size'],
                          batch_size=2)
    # the config's learning rate; the loss falls slowly at first as the
    # BN-ended predictors must scale up to the 255 peak of the targets
    lr = cfg.optim_wrapper.optimizer.lr
    history, losses = _train_steps(model, batch, steps=5, lr=lr)
    assert {'loss_stage0', 'loss_stage1'} <= set(losses)
    assert all(b < a for a, b in zip(history, history[1:])), history
    assert history[-1] < 0.99 * history[0], history


def test_loads_imagenet_resnet_into_every_stage(tmp_path):
    resnet = ResNet(depth=18, base_channels=16, stem_channels=16)
    randomize_bn(resnet)
    path = tmp_path / 'resnet18.pth'
    state = {k: v for k, v in resnet.state_dict().items()
             if 'num_batches_tracked' not in k}  # as torchvision's
    torch.save(state, path)
    model = build(init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    model.init_weights()
    torch.testing.assert_close(model.stem.conv.weight, resnet.conv1.weight)
    torch.testing.assert_close(model.stem.bn.running_var,
                               resnet.bn1.running_var)
    for stage in model.stages:
        for i, layer in enumerate(stage.down):
            theirs = getattr(resnet, f'layer{i + 1}').state_dict()
            for k, v in layer.state_dict().items():
                if 'num_batches_tracked' not in k:
                    torch.testing.assert_close(v, theirs[k])
    # the rest gets the default init (BN weights 1), not PyTorch's
    for stage in model.stages:
        assert all((u.in_skip.bn.weight == 1).all() for u in stage.up)

    fewer = build(stage_blocks=(1, 1, 1, 1),
                  init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    fewer.init_weights()  # the first block of each layer
    torch.testing.assert_close(fewer.stages[1].down[3][0].conv2.weight,
                               resnet.layer4[0].conv2.weight)

    wrong = build(depth=34, init_cfg=dict(type='Pretrained',
                                          checkpoint=str(path)))
    with pytest.raises(RuntimeError, match='size mismatch|Missing|missing'):
        wrong.init_weights()


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match='depth must be one of'):
        build(depth=42)
    with pytest.raises(ValueError, match='num_stages'):
        build(num_stages=0)
    with pytest.raises(ValueError, match='num_keypoints'):
        build(num_keypoints=0)
    with pytest.raises(ValueError, match='stage_blocks'):
        build(stage_blocks=(2, 2, 2))


def smoke():
    """Registry smoke test (run by tests/test_registry.py)."""
    model = build(num_stages=2, num_keypoints=5)
    outs = model(torch.rand(2, 3, 64, 48))
    assert [[tuple(u.shape) for u in s] for s in outs] == [[
        (2, 5, *size) for size in UNIT_SIZES]] * 2
    sum(u.mean() for s in outs for u in s).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, missing


@pytest.mark.slow
def test_compiled_training_matches_eager_with_aten_upsampling():
    """Compiled, the up-sampling units keep ATen's bilinear backward
    (``interpolate``) and forward and gradients equal eager ones."""
    torch.manual_seed(0)
    eager = CrossStageMSPN(depth=18, num_stages=2, stage_blocks=(1, 1, 1, 1),
                           unit_channels=16, stem_channels=8,
                           base_channels=8, num_keypoints=3)
    eager.init_weights()
    compiled = copy.deepcopy(eager)
    compiled.compile()
    x = torch.randn(2, 3, 64, 48)

    def step(model):
        model.zero_grad()
        outs = model(x)
        loss = sum((o * o).mean() for stage in outs for o in stage)
        loss.backward()
        return loss.detach(), {n: p.grad.clone()
                               for n, p in model.named_parameters()}

    loss_e, grads_e = step(eager)
    step(compiled)  # compile outside the profile
    with torch.profiler.profile() as prof:
        loss_c, grads_c = step(compiled)
    assert 'aten::upsample_bilinear2d_backward' in {
        e.name for e in prof.events()}
    torch.testing.assert_close(loss_c, loss_e, rtol=1e-5, atol=1e-6)
    for name, grad in grads_e.items():
        torch.testing.assert_close(grads_c[name], grad, rtol=1e-4,
                                   atol=1e-5, msg=name)
