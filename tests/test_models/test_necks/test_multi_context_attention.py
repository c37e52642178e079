import time

import pytest
import torch
import torch.nn.functional as F
from mmpose.registry import MODELS
from torch import nn

CODEC = dict(type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(16, 16),
             sigma=2)
# MMPose's HRNet-W32 widths with one block per branch and one module per
# stage, so that it runs in a blink at 64x64.
SMALL_HRNET = dict(
    type='HRNet',
    in_channels=3,
    extra=dict(
        stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK',
                    num_blocks=(1, ), num_channels=(16, )),
        stage2=dict(num_modules=1, num_branches=2, block='BASIC',
                    num_blocks=(1, 1), num_channels=(32, 64)),
        stage3=dict(num_modules=1, num_branches=3, block='BASIC',
                    num_blocks=(1, 1, 1), num_channels=(32, 64, 128)),
        stage4=dict(num_modules=1, num_branches=4, block='BASIC',
                    num_blocks=(1, 1, 1, 1),
                    num_channels=(32, 64, 128, 256))))


def build_neck(**kwargs):
    cfg = dict(type='MultiContextAttention', in_channels=16,
               num_keypoints=5, kernel_size=5)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def crf_reference(x, unary, spatial, num_iters):
    """Q_1 = s(k*U + U), Q_t = s(k*Q_{t-1} + U), with single-map convs."""
    u = unary(x)
    q = torch.sigmoid(spatial(u) + u)
    for _ in range(num_iters - 1):
        q = torch.sigmoid(spatial(q) + u)
    return q


def single_map_convs(crf, k):
    """Map ``k`` of a vectorised CRFAttention as its own two convs."""
    unary = nn.Conv2d(crf.unary.in_channels, 1, 3, padding=1)
    ks = crf.spatial.kernel_size[0]
    spatial = nn.Conv2d(1, 1, ks, padding=ks // 2)
    with torch.no_grad():
        unary.weight.copy_(crf.unary.weight[k:k + 1])
        unary.bias.copy_(crf.unary.bias[k:k + 1])
        spatial.weight.copy_(crf.spatial.weight[k:k + 1])
        spatial.bias.copy_(crf.spatial.bias[k:k + 1])
    return unary, spatial


class LoopPartAttention(nn.Module):
    """The released code's part attention: K separate modules, a loop."""

    def __init__(self, neck):
        super().__init__()
        self.num_iters = neck.num_iters
        K = neck.num_keypoints
        convs = [single_map_convs(neck.parts, k) for k in range(K)]
        self.unary = nn.ModuleList(c[0] for c in convs)
        self.spatial = nn.ModuleList(c[1] for c in convs)
        self.predict = nn.ModuleList(
            nn.Conv2d(neck.predictor.in_channels, 1, 1) for _ in range(K))
        with torch.no_grad():
            for k, conv in enumerate(self.predict):
                conv.weight.copy_(neck.predictor.weight[k:k + 1])
                conv.bias.copy_(neck.predictor.bias[k:k + 1])

    def forward(self, h):
        heatmaps, maps = [], []
        for unary, spatial, predict in zip(self.unary, self.spatial,
                                           self.predict):
            q = crf_reference(h, unary, spatial, self.num_iters)
            heatmaps.append(predict(h * q))  # its own attended features
            maps.append(q)
        return torch.cat(heatmaps, 1), torch.cat(maps, 1)


def test_holistic_crf_attention_matches_formula():
    torch.manual_seed(0)
    neck = build_neck(num_iters=4).eval()
    x = torch.randn(2, 16, 12, 10)
    out = neck.forward_attention((x, ))
    unary, spatial = single_map_convs(neck.holistic[0], 0)
    q = crf_reference(x, unary, spatial, 4)
    torch.testing.assert_close(out['holistic'], q)
    torch.testing.assert_close(out['features'], x * q)
    torch.testing.assert_close(out['heatmaps'], neck.predictor(x * q))
    assert out['parts'] is None and neck.attention_maps['parts'] is None
    # the spatial kernel is one parameter shared by all iterations
    assert neck.holistic[0].spatial.weight.shape == (1, 1, 5, 5)


def test_vectorised_part_attention_equals_loop():
    torch.manual_seed(0)
    neck = build_neck(in_channels=32, num_keypoints=17, kernel_size=11,
                      part_attention=True)
    x = torch.randn(2, 32, 20, 16)
    out = neck.forward_attention((x, ))
    heatmaps, maps = LoopPartAttention(neck)(out['features'])
    torch.testing.assert_close(out['parts'], maps)
    torch.testing.assert_close(out['heatmaps'], heatmaps, rtol=1e-5,
                               atol=1e-5)


def conv_calls(module: nn.Module, fn, *args) -> int:
    """How many convolutions ``fn(*args)`` runs among ``module``'s."""
    calls = []
    handles = [m.register_forward_hook(lambda *_: calls.append(1))
               for m in module.modules() if isinstance(m, nn.Conv2d)]
    try:
        fn(*args)
    finally:
        for handle in handles:
            handle.remove()
    return len(calls)


def test_part_attention_runs_one_convolution_per_step_for_all_keypoints():
    """The vectorised part attention runs each CRF step as one grouped
    convolution for all K keypoints: the released per-keypoint loop runs K
    times as many (the speed-up's cause, counted rather than timed)."""
    neck = build_neck(in_channels=32, num_keypoints=17, kernel_size=5,
                      part_attention=True, num_iters=3).eval()
    loop = LoopPartAttention(neck).eval()
    h = torch.randn(1, 32, 8, 8)
    with torch.no_grad():
        vectorised = conv_calls(neck, neck.forward_parts, h)
        looped = conv_calls(loop, loop, h)
    # the unary conv once, the spatial kernel once per CRF iteration (3),
    # the predictor once
    assert vectorised == 1 + 3 + 1
    assert looped == 17 * vectorised


def test_part_attention_speed_up(one_thread):
    """Wall-clock, with one torch thread (the measured speed-up there is
    10-15x, so the ordering is robust to a busy machine)."""
    torch.manual_seed(0)
    neck = build_neck(in_channels=128, num_keypoints=17, kernel_size=11,
                      part_attention=True).eval()
    loop = LoopPartAttention(neck).eval()
    h = torch.randn(4, 128, 32, 32)

    def vectorised(h):
        return neck.forward_parts(h)[0]

    def best_of(fn, reps=5):
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            fn(h)
            times.append(time.perf_counter() - start)
        return min(times)

    with torch.no_grad():
        torch.testing.assert_close(vectorised(h), loop(h)[0], rtol=1e-4,
                                   atol=1e-4)
        vectorised(h), loop(h)  # warm-up
        t_vec, t_loop = best_of(vectorised), best_of(loop)
    print(f'\npart attention, K=17, [4, 128, 32, 32]: vectorised '
          f'{t_vec * 1e3:.2f} ms, per-keypoint loop {t_loop * 1e3:.2f} ms, '
          f'speed-up {t_loop / t_vec:.1f}x')
    assert t_vec < t_loop


@pytest.mark.parametrize('part_attention', [False, True])
def test_gradients_reach_every_attention_parameter(part_attention):
    neck = build_neck(in_channels=(16, 8, 8), part_attention=part_attention)
    feats = (torch.randn(2, 16, 16, 12), torch.randn(2, 8, 8, 6),
             torch.randn(2, 8, 4, 3))
    heatmaps, = neck(feats)
    assert heatmaps.shape == (2, 5, 16, 12)
    heatmaps.pow(2).sum().backward()
    for name, p in neck.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize('combine', ['mean', 'sum'])
def test_multi_resolution_combination(combine):
    torch.manual_seed(0)
    neck = build_neck(in_channels=(16, 8), combine=combine,
                      part_attention=True)
    feats = (torch.randn(2, 16, 16, 12), torch.randn(2, 8, 8, 6))
    out = neck.forward_attention(feats)
    maps = []
    for crf, x in zip(neck.holistic, feats):
        q = crf_reference(x, *single_map_convs(crf, 0), neck.num_iters)
        maps.append(F.interpolate(q, size=(16, 12), mode='bilinear'))
    expected = sum(maps) / (2 if combine == 'mean' else 1)
    torch.testing.assert_close(out['holistic'], expected)
    assert [tuple(q.shape) for q in out['levels']] == [(2, 1, 16, 12),
                                                      (2, 1, 8, 6)]
    # the part maps are computed from the holistically attended features
    torch.testing.assert_close(out['features'], feats[0] * expected)
    _, parts = LoopPartAttention(neck)(out['features'])
    torch.testing.assert_close(out['parts'], parts)


def test_attention_maps_lie_in_unit_interval():
    neck = build_neck(in_channels=(16, 16), part_attention=True).eval()
    for scale in (1., 100.):  # large inputs saturate the sigmoids
        feats = (scale * torch.randn(2, 16, 16, 16),
                 scale * torch.randn(2, 16, 8, 8))
        out = neck.forward_attention(feats)
        for name in ('holistic', 'parts'):
            q = out[name]
            assert q.min() >= 0 and q.max() <= 1, name
        assert all(0 <= q.min() and q.max() <= 1 for q in out['levels'])
    kept = neck.attention_maps
    assert set(kept) == {'holistic', 'levels', 'parts'}
    assert not kept['holistic'].requires_grad
    assert kept['parts'].shape == (2, 5, 16, 16)
    assert build_neck(keep_attention_maps=False)(
        torch.randn(1, 16, 8, 8))[0].shape == (1, 5, 8, 8)


def test_in_indices_select_resolutions():
    torch.manual_seed(0)
    feats = (torch.randn(1, 8, 32, 32), torch.randn(1, 16, 16, 16),
             torch.randn(1, 32, 8, 8))
    neck = build_neck(in_channels=(16, 32), in_indices=(1, -1))
    heatmaps, = neck(feats)
    assert heatmaps.shape == (1, 5, 16, 16)  # the first selected map
    single = build_neck(in_channels=16, in_indices=1)
    assert len(single.holistic) == 1 and single(feats)[0].shape == (
        1, 5, 16, 16)
    # default: the first len(in_channels) maps
    assert build_neck(in_channels=8)(feats)[0].shape == (1, 5, 32, 32)


@pytest.mark.parametrize('part_attention', [False, True])
def test_neck_after_stock_hrnet_in_topdown_estimator(part_attention,
                                                     topdown_batch):
    """HRNet (one 32-channel map at 1/4) -> attention -> multi-stage head,
    loss and flip-test prediction on pipeline-packed batches."""
    model = MODELS.build(dict(
        type='TopdownPoseEstimator',
        data_preprocessor=dict(type='PoseDataPreprocessor'),
        backbone=SMALL_HRNET,
        neck=dict(type='MultiContextAttention', in_channels=32,
                  num_keypoints=17, part_attention=part_attention),
        head=dict(type='MultiStageHeatmapHead', in_channels=17,
                  out_channels=17, num_stages=1, heatmap_inputs=True,
                  decoder=CODEC),
        test_cfg=dict(flip_test=True, shift_heatmap=True)))
    batch = topdown_batch(CODEC, input_size=(64, 64))
    losses = model(**model.data_preprocessor(batch, training=True),
                   mode='loss')
    assert set(losses) == {'loss_stage0', 'acc_pose'}
    losses['loss_stage0'].backward()
    for name, p in model.neck.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    model.eval()
    with torch.no_grad():
        results = model(**model.data_preprocessor(batch), mode='predict')
    assert results[0].pred_instances.keypoints.shape == (1, 17, 2)
    assert model.neck.attention_maps['holistic'].shape == (2, 1, 16, 16)


def test_neck_over_resnet_stages():
    """Multi-resolution attention over a stock ResNet's four stages, the
    finest one attended."""
    backbone = MODELS.build(dict(type='ResNet', depth=18,
                                 out_indices=(0, 1, 2, 3)))
    neck = build_neck(in_channels=(64, 128, 256, 512),
                      num_keypoints=17).eval()
    with torch.no_grad():
        heatmaps, = neck(backbone(torch.rand(1, 3, 64, 64)))
    assert heatmaps.shape == (1, 17, 16, 16)
    assert len(neck.attention_maps['levels']) == 4


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match='kernel_size'):
        build_neck(kernel_size=4)
    with pytest.raises(ValueError, match='num_iters'):
        build_neck(num_iters=0)
    with pytest.raises(ValueError, match="combine='max'"):
        build_neck(combine='max')
    with pytest.raises(ValueError, match='in_indices'):
        build_neck(in_channels=(16, 16), in_indices=(0, ))
    with pytest.raises(ValueError, match='expects at least 2'):
        build_neck(in_channels=(16, 16))(torch.rand(1, 16, 8, 8))
    with pytest.raises(ValueError, match='in_channels'):
        build_neck()(torch.rand(1, 8, 8, 8))
    with pytest.raises(ValueError, match='part_attention=False'):
        build_neck().forward_parts(torch.rand(1, 16, 8, 8))


@pytest.mark.slow
def test_synthetic_demo_config_localises_a_fixed_batch(fit_config_on_batch):
    """The predictor starts at std 0.001 with zero bias, as MMPose's heads:
    with PyTorch's default init the demo config reached acc_pose 0.59
    after 30 steps on this batch (1.0 with the small init) and 0.477 AP
    after its 12 epochs (0.640 with the small init)."""
    neck = build_neck(in_channels=64, num_keypoints=17)
    weight = neck.predictor.weight
    assert weight.std().item() == pytest.approx(0.001, rel=0.1)
    assert not neck.predictor.bias.any()
    accs = fit_config_on_batch(
        'configs/synthetic/mca_hourglass_synthetic-coco-128x96.py',
        steps=30)
    assert accs[0] < 0.2
    assert max(accs[-3:]) > 0.9, accs


def smoke():
    """Registry smoke test (run by tests/test_registry.py)."""
    neck = build_neck(in_channels=(8, 8), part_attention=True)
    heatmaps, = neck((torch.rand(2, 8, 16, 16), torch.rand(2, 8, 8, 8)))
    assert heatmaps.shape == (2, 5, 16, 16)
    heatmaps.sum().backward()
    assert all(p.grad is not None for p in neck.parameters())
    with torch.no_grad():  # the maps are kept in eval mode only
        neck.eval()((torch.rand(2, 8, 16, 16), torch.rand(2, 8, 8, 8)))
    maps = neck.attention_maps
    assert 0 <= maps['parts'].min() and maps['holistic'].max() <= 1


def test_attention_maps_kept_in_eval_mode_only():
    """Training forwards keep no maps (nothing held between steps, no
    attribute written inside a compiled training graph)."""
    neck = build_neck(in_channels=(16, 16), part_attention=True)
    feats = (torch.randn(2, 16, 16, 16), torch.randn(2, 16, 8, 8))
    neck(feats)
    assert neck.attention_maps is None
    neck.eval()(feats)
    assert neck.attention_maps['parts'].shape == (2, 5, 16, 16)


def autocast_dtypes():
    """The half dtypes this PyTorch's CPU autocast supports."""
    dtypes = []
    for dtype in (torch.bfloat16, torch.float16):
        with torch.autocast('cpu', dtype=dtype):
            if torch.nn.functional.linear(torch.ones(1, 1),
                                          torch.ones(1, 1)).dtype == dtype:
                dtypes.append(dtype)
    return dtypes


@pytest.mark.parametrize('dtype', autocast_dtypes())
@pytest.mark.parametrize('part_attention', [False, True])
def test_outputs_keep_the_autocast_dtype(dtype, part_attention):
    """Under autocast the attended features and heatmaps stay in the half
    dtype of the features (torch.sum and the float32 predictor bias
    promoted them to float32)."""
    neck = build_neck(in_channels=(16, 16), part_attention=part_attention)
    feats = (torch.randn(2, 16, 16, 16), torch.randn(2, 16, 8, 8))
    with torch.autocast('cpu', dtype=dtype):
        # features as a backbone under autocast hands them over
        out = neck.forward_attention([f.to(dtype) for f in feats])
    for name in ('heatmaps', 'features', 'holistic'):
        assert out[name].dtype == dtype, name
    reference = neck.forward_attention(feats)  # float32, same weights
    torch.testing.assert_close(out['heatmaps'].float(),
                               reference['heatmaps'], atol=0.05, rtol=0.05)
