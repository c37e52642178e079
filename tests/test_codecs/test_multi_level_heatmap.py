"""Tests of the ``MultiLevelHeatmap`` codec."""
from pathlib import Path

import cv2
import mmpose
import numpy as np
import pytest
from mmpose.codecs import MegviiHeatmap
from mmpose.datasets.transforms import GenerateTarget, PackPoseInputs
from mmpose.registry import KEYPOINT_CODECS

from mmpose_ext.codecs import MultiLevelHeatmap

INPUT_SIZE = (192, 256)  # (w, h)
HEATMAP_SIZE = (48, 64)  # (W, H)
SCALE = 4.0  # input pixels per heatmap pixel, on both axes
KERNELS = (15, 11, 9, 7, 5)
SIGMAS = (3.0, 2.0, 1.5)
# COCO's keypoint weights: elbows/knees 1.2, wrists/ankles 1.5.
COCO_WEIGHTS = np.array(
    [1., 1., 1., 1., 1., 1., 1., 1.2, 1.2, 1.5, 1.5, 1., 1., 1.2, 1.2, 1.5,
     1.5], dtype=np.float32)


def make_codec(**kwargs) -> MultiLevelHeatmap:
    kwargs.setdefault('input_size', INPUT_SIZE)
    kwargs.setdefault('heatmap_size', HEATMAP_SIZE)
    return MultiLevelHeatmap(**kwargs)


def border_centres(rng: np.random.Generator, num_random: int = 10):
    """Integer heatmap pixels (x, y) covering every edge and corner within
    3 px, plus random interior ones."""
    W, H = HEATMAP_SIZE
    near_x = [0, 1, 2, 3, W - 4, W - 3, W - 2, W - 1]
    near_y = [0, 1, 2, 3, H - 4, H - 3, H - 2, H - 1]
    centres = [(x, y) for x in (0, 2, W - 1) for y in (0, 3, H - 2)]
    centres += [(x, int(rng.integers(0, H))) for x in near_x]
    centres += [(int(rng.integers(0, W)), y) for y in near_y]
    centres += [(int(rng.integers(4, W - 4)), int(rng.integers(4, H - 4)))
                for _ in range(num_random)]
    return np.array(centres, dtype=np.int64)


def test_registered():
    assert KEYPOINT_CODECS.get('MultiLevelHeatmap') is MultiLevelHeatmap
    codec = KEYPOINT_CODECS.build(
        dict(type='MultiLevelHeatmap', input_size=INPUT_SIZE,
             heatmap_size=HEATMAP_SIZE, sigmas=SIGMAS))
    assert isinstance(codec, MultiLevelHeatmap)
    assert codec.num_levels == len(SIGMAS)


@pytest.mark.parametrize('peak', [1.0, 255.0])
def test_kernel_mode_matches_cv2_gaussian_blur(peak):
    rng = np.random.default_rng(0)
    W, H = HEATMAP_SIZE
    centres = border_centres(rng)
    K = len(centres)
    # any sub-pixel location inside the pixel: kernel mode casts to int
    keypoints = (centres + rng.uniform(0, 0.999, centres.shape)) * SCALE
    codec = make_codec(kernel_sizes=KERNELS, peak=peak)
    encoded = codec.encode(keypoints[None].astype(np.float32),
                           np.ones((1, K), np.float32))
    heatmaps = encoded['heatmaps']
    assert heatmaps.shape == (len(KERNELS) * K, H, W)
    assert heatmaps.dtype == np.float32
    np.testing.assert_array_equal(encoded['keypoint_weights'],
                                  np.ones((1, len(KERNELS), K)))

    for level, ksize in enumerate(KERNELS):
        for k, (cx, cy) in enumerate(centres):
            delta = np.zeros((H, W), np.float32)
            delta[cy, cx] = 1.
            blurred = cv2.GaussianBlur(delta, (ksize, ksize), 0)
            expected = blurred / blurred[cy, cx] * peak
            np.testing.assert_allclose(
                heatmaps[level * K + k], expected, rtol=0, atol=1e-5 * peak,
                err_msg=f'kernel {ksize}, pixel {(cx, cy)}')


def test_kernel_mode_matches_megvii_heatmap():
    """With ``peak=255`` each level is MMPose's ``MegviiHeatmap`` target."""
    rng = np.random.default_rng(1)
    keypoints = rng.uniform(0, INPUT_SIZE, (1, 17, 2)).astype(np.float32)
    keypoints[0, :3] = [[0.5, 0.5], [191.5, 100.], [50., 255.9]]
    visible = (rng.random((1, 17)) > 0.2).astype(np.float32)
    encoded = make_codec(kernel_sizes=KERNELS, peak=255.).encode(
        keypoints, visible)
    for level, ksize in enumerate(KERNELS):
        megvii = MegviiHeatmap(INPUT_SIZE, HEATMAP_SIZE, ksize).encode(
            keypoints, visible)
        np.testing.assert_allclose(
            encoded['heatmaps'][level * 17:(level + 1) * 17],
            megvii['heatmaps'], rtol=0, atol=255e-6)
        np.testing.assert_array_equal(
            encoded['keypoint_weights'][:, level], megvii['keypoint_weights'])


@pytest.mark.parametrize('unbiased', [False, True])
def test_sigma_mode_matches_closed_form(unbiased):
    rng = np.random.default_rng(2)
    W, H = HEATMAP_SIZE
    centres = border_centres(rng)
    K = len(centres)
    # rounding mode: pixel i covers [i - 0.5, i + 0.5); x < 0 is outside
    mu = np.maximum(centres + rng.uniform(-0.5, 0.499, centres.shape), 0)
    keypoints = (mu * SCALE).astype(np.float32)[None]
    peak = 2.5
    codec = make_codec(sigmas=SIGMAS, peak=peak, unbiased=unbiased)
    encoded = codec.encode(keypoints)
    heatmaps = encoded['heatmaps']
    assert heatmaps.shape == (len(SIGMAS) * K, H, W)
    np.testing.assert_array_equal(encoded['keypoint_weights'],
                                  np.ones((1, len(SIGMAS), K)))

    centre = keypoints[0] / SCALE if unbiased else centres
    ys, xs = np.mgrid[0:H, 0:W]
    for level, sigma in enumerate(SIGMAS):
        for k, (mx, my) in enumerate(centre):
            expected = peak * np.exp(-((xs - mx)**2 + (ys - my)**2) /
                                     (2 * sigma**2))
            np.testing.assert_allclose(
                heatmaps[level * K + k], expected, rtol=0, atol=1e-5 * peak,
                err_msg=f'sigma {sigma}, keypoint {(mx, my)}')


ROUND_TRIP_CASES = {
    # name: (codec kwargs, bound on the median error in input pixels)
    'kernel-none': (dict(kernel_sizes=KERNELS, refine='none'), 2.0),
    'kernel-shift': (dict(kernel_sizes=KERNELS, refine='shift'), 2.0),
    'kernel-shift-blur': (dict(kernel_sizes=KERNELS, refine='shift',
                               blur_kernel_size=5), 2.0),
    'kernel-dark': (dict(kernel_sizes=KERNELS, refine='dark'), 2.0),
    'sigma-shift': (dict(sigmas=SIGMAS, refine='shift'), 2.0),
    'unbiased-none': (dict(sigmas=SIGMAS, unbiased=True, refine='none'),
                      2.0),
    'unbiased-shift': (dict(sigmas=SIGMAS, unbiased=True, refine='shift'),
                       1.0),
    'unbiased-dark': (dict(sigmas=SIGMAS, unbiased=True, refine='dark'),
                      0.05),
}


def round_trip_errors(codec: MultiLevelHeatmap,
                      keypoints: np.ndarray) -> np.ndarray:
    """Encode [1, K, 2] keypoints, decode the last (finest) level and return
    the [K, 2] signed errors in input pixels."""
    K = keypoints.shape[1]
    heatmaps = codec.encode(keypoints)['heatmaps']
    decoded, scores = codec.decode(heatmaps[-K:])
    assert decoded.shape == (1, K, 2) and scores.shape == (1, K)
    assert decoded.dtype == np.float32
    assert np.all(scores > 0.5) and np.all(scores < 1.2)
    return decoded[0] - keypoints[0]


def test_round_trip_median_error():
    rng = np.random.default_rng(3)
    # 200 sub-pixel locations anywhere inside the input image
    keypoints = rng.uniform(0, INPUT_SIZE, (1, 200, 2)).astype(np.float32)
    medians = {}
    for name, (kwargs, bound) in ROUND_TRIP_CASES.items():
        errors = round_trip_errors(make_codec(**kwargs), keypoints)
        medians[name] = float(np.median(np.linalg.norm(errors, axis=1)))
        print(f'round trip {name:>18}: median error '
              f'{medians[name]:.4f} px (bound {bound})')
        assert medians[name] < bound, name

    # pixel-centred targets are symmetric, so the quarter shift stays put
    assert medians['kernel-shift'] == pytest.approx(medians['kernel-none'])
    # sub-pixel targets: the shift halves the quantisation error, DARK
    # recovers the location almost exactly
    assert medians['unbiased-shift'] < 0.6 * medians['unbiased-none']
    assert medians['unbiased-dark'] < 0.1 * medians['unbiased-shift']


@pytest.mark.parametrize('kwargs', [
    dict(kernel_sizes=KERNELS, refine='none'),
    dict(kernel_sizes=KERNELS, refine='shift', blur_kernel_size=5),
    dict(sigmas=SIGMAS, refine='none'),
    dict(sigmas=SIGMAS, unbiased=True, refine='shift'),
], ids=['kernel', 'kernel-blur', 'sigma', 'unbiased'])
def test_round_trip_unbiased(kwargs):
    """Over a uniform grid of sub-pixel positions the mean signed error is
    zero: decode undoes the encoding's pixel convention (a missing 0.5 pixel
    centre offset in kernel mode would give -2 input pixels)."""
    steps = (np.arange(8 * 20) + 0.5) / 8  # 20 whole heatmap pixels
    mu = np.stack([12 + steps, 20 + steps[::-1]], axis=-1)
    keypoints = (mu * SCALE).astype(np.float32)[None]
    errors = round_trip_errors(make_codec(**kwargs), keypoints)
    np.testing.assert_allclose(errors.mean(axis=0), 0, atol=0.02)
    assert np.abs(errors).max() <= 0.5 * SCALE + 1e-3


@pytest.mark.parametrize('kwargs', [
    dict(kernel_sizes=KERNELS),
    dict(sigmas=SIGMAS),
    dict(sigmas=SIGMAS, unbiased=True),
], ids=['kernel', 'sigma', 'unbiased'])
def test_weights_and_empty_heatmaps(kwargs):
    border = 2
    codec = make_codec(border=border, peak=3.0, **kwargs)
    L = codec.num_levels
    W, H = HEATMAP_SIZE
    # pixel centre offset: kernel mode floors, sigma mode rounds
    off = 0.5 if 'kernel_sizes' in kwargs else 0.0
    pix = [
        (10, 10),  # 0 valid
        (20, 30),  # 1 invisible
        (-3, 10),  # 2 outside (left)
        (W + 1, 5),  # 3 outside (right)
        (10, H),  # 4 outside (bottom)
        (1, 10),  # 5 inside but within the border
        (10, H - border),  # 6 within the border (bottom)
        (border, H - 1 - border),  # 7 valid, exactly at the border
        (W - 1 - border, border),  # 8 valid, exactly at the border
        (30, 40),  # 9 visibility 0.3 < 0.5
        (25, 25),  # 10 dataset weight 0
        (0, 0),  # 11 NaN coordinates
    ]
    keypoints = (np.array(pix, np.float64) + off) * SCALE
    keypoints[11] = np.nan
    keypoints = keypoints.astype(np.float32)[None]
    visible = np.ones((1, len(pix)), np.float32)
    visible[0, 1] = 0.
    visible[0, 9] = 0.3
    dataset_weights = np.full(len(pix), 2., np.float32)
    dataset_weights[10] = 0.

    encoded = codec.encode(keypoints, visible, dataset_weights)
    weights = encoded['keypoint_weights']
    assert weights.shape == (1, L, len(pix)) and weights.dtype == np.float32
    valid = np.zeros(len(pix), bool)
    valid[[0, 7, 8]] = True
    for level in range(L):
        np.testing.assert_array_equal(weights[0, level], 2. * valid)
    heatmaps = encoded['heatmaps'].reshape(L, len(pix), H, W)
    assert np.all(heatmaps[:, ~valid] == 0)
    for k in np.flatnonzero(valid):
        x, y = pix[k]
        if not kwargs.get('unbiased'):
            np.testing.assert_allclose(heatmaps[:, k, y, x], 3.0, rtol=1e-6)
        assert np.all(heatmaps[:, k].max(axis=(1, 2)) > 2.5)

    # without a border only the truly outside keypoints are dropped
    encoded = make_codec(**kwargs).encode(keypoints, visible)
    valid[[5, 6, 10]] = True
    np.testing.assert_array_equal(encoded['keypoint_weights'][0, 0], valid)


@pytest.mark.parametrize('border', [0, 2])
@pytest.mark.parametrize('kwargs', [
    dict(kernel_sizes=KERNELS),
    dict(sigmas=SIGMAS),
    dict(sigmas=SIGMAS, unbiased=True),
], ids=['kernel', 'sigma', 'unbiased'])
def test_border_rule_is_exact(kwargs, border):
    """Kept iff ``border <= x / s < W - border`` (same for y)."""
    W, H = HEATMAP_SIZE
    eps = 1e-3
    xs = [border - eps, border, W - border - eps, W - border, 20.]
    ys = [20., 20., 20., 20., H - border - eps]
    keypoints = (np.stack([xs, ys], -1) * SCALE).astype(np.float32)[None]
    codec = make_codec(border=border, **kwargs)
    encoded = codec.encode(keypoints)
    np.testing.assert_array_equal(encoded['keypoint_weights'][0, 0],
                                  [0, 1, 1, 0, 1])
    heatmaps = encoded['heatmaps'][:5]
    assert np.all(heatmaps[[0, 3]] == 0)
    if 'sigmas' in kwargs and border == 0 and not kwargs.get('unbiased'):
        # x / s = W - eps rounds to W, just off the map: the Gaussian's
        # in-map part is drawn, as in MSRAHeatmap
        yy, xx = np.mgrid[0:H, 0:W]
        expected = np.exp(-((xx - W)**2 + (yy - 20)**2) / (2 * SIGMAS[0]**2))
        np.testing.assert_allclose(heatmaps[2], expected, atol=1e-6)


def test_multiple_instances_merge_by_max():
    rng = np.random.default_rng(4)
    codec = make_codec(kernel_sizes=KERNELS)
    keypoints = rng.uniform(0, INPUT_SIZE, (3, 17, 2)).astype(np.float32)
    visible = (rng.random((3, 17)) > 0.3).astype(np.float32)
    encoded = codec.encode(keypoints, visible)
    singles = [
        codec.encode(keypoints[n:n + 1], visible[n:n + 1]) for n in range(3)
    ]
    np.testing.assert_array_equal(
        encoded['heatmaps'],
        np.max([s['heatmaps'] for s in singles], axis=0))
    np.testing.assert_array_equal(
        encoded['keypoint_weights'],
        np.concatenate([s['keypoint_weights'] for s in singles]))
    assert encoded['keypoint_weights'].shape == (3, len(KERNELS), 17)


def test_coco_weights_match_mmpose_metainfo():
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    cfg = (Path(mmpose.__file__).parent / '.mim' / 'configs' / '_base_' /
           'datasets' / 'coco.py')
    if not cfg.is_file():
        pytest.skip(f'{cfg} not installed')
    metainfo = parse_pose_metainfo(dict(from_file=str(cfg)))
    np.testing.assert_array_equal(metainfo['dataset_keypoint_weights'],
                                  COCO_WEIGHTS)


def make_results(rng: np.random.Generator) -> dict:
    keypoints = rng.uniform(0, INPUT_SIZE, (1, 17, 2)).astype(np.float32)
    visible = np.ones((1, 17), np.float32)
    visible[0, [3, 9]] = 0.  # an ear and a wrist are not labelled
    return dict(
        img=np.zeros(INPUT_SIZE[::-1] + (3, ), np.uint8),
        keypoints=keypoints,
        keypoints_visible=visible,
        dataset_keypoint_weights=COCO_WEIGHTS.copy())


@pytest.mark.parametrize('kwargs', [
    dict(kernel_sizes=KERNELS),
    dict(sigmas=SIGMAS, unbiased=True),
], ids=['kernel', 'sigma'])
def test_generate_target_dataset_weights_and_packing(kwargs):
    """Regression: every level carries the dataset keypoint weights through
    MMPose's stock ``GenerateTarget`` + ``PackPoseInputs``."""
    rng = np.random.default_rng(5)
    results = make_results(rng)
    visible = results['keypoints_visible']
    L = len(kwargs.get('kernel_sizes') or kwargs['sigmas'])
    W, H = HEATMAP_SIZE
    encoder = dict(type='MultiLevelHeatmap', input_size=INPUT_SIZE,
                   heatmap_size=HEATMAP_SIZE, **kwargs)

    out = GenerateTarget(encoder=encoder, use_dataset_keypoint_weights=True)(
        dict(results))
    expected = np.broadcast_to((visible * COCO_WEIGHTS)[:, None], (1, L, 17))
    assert out['keypoint_weights'].shape == (1, L, 17)
    np.testing.assert_allclose(out['keypoint_weights'], expected, rtol=1e-6)
    for level in range(L):
        np.testing.assert_allclose(out['keypoint_weights'][0, level, 7:11],
                                   [1.2, 1.2, 0., 1.5], rtol=1e-6)

    # the codec's own argument gives the same targets
    codec = make_codec(**kwargs)
    direct = codec.encode(results['keypoints'], visible,
                          dataset_keypoint_weights=COCO_WEIGHTS)
    np.testing.assert_allclose(direct['keypoint_weights'],
                               out['keypoint_weights'], rtol=1e-6)
    np.testing.assert_array_equal(direct['heatmaps'], out['heatmaps'])

    # ... and without the dataset weights the weights are the visibility
    plain = GenerateTarget(encoder=encoder)(dict(results))
    np.testing.assert_array_equal(
        plain['keypoint_weights'],
        np.broadcast_to(visible[:, None], (1, L, 17)))

    packed = PackPoseInputs()(out)
    sample = packed['data_samples']
    assert tuple(sample.gt_fields.heatmaps.shape) == (L * 17, H, W)
    weights = sample.gt_instance_labels.keypoint_weights
    assert tuple(weights.shape) == (1, L, 17)
    np.testing.assert_allclose(weights.numpy(), expected, rtol=1e-6)
    np.testing.assert_array_equal(sample.gt_fields.heatmaps.numpy(),
                                  out['heatmaps'])


def test_mmpose_multilevel_path_drops_dataset_weights():
    """Why the codec exists: ``GenerateTarget(multilevel=True)`` with one
    ``MegviiHeatmap`` per level ignores the dataset keypoint weights."""
    rng = np.random.default_rng(6)
    results = make_results(rng)
    out = GenerateTarget(
        encoder=[
            dict(type='MegviiHeatmap', input_size=INPUT_SIZE,
                 heatmap_size=HEATMAP_SIZE, kernel_size=k) for k in KERNELS
        ],
        multilevel=True,
        use_dataset_keypoint_weights=True)(dict(results))
    for weights in out['keypoint_weights']:
        np.testing.assert_array_equal(weights, results['keypoints_visible'])


def test_multilevel_layout_is_mmpose_generate_target_multilevel():
    """``multilevel=True``: through ``GenerateTarget`` + ``PackPoseInputs``
    the same structures as MMPose's one ``MegviiHeatmap`` per level with
    ``GenerateTarget(multilevel=True)`` (values: peak 255, as it), the
    stacked layout's values, and the dataset weights still applied."""
    results = make_results(np.random.default_rng(7))
    encoder = dict(type='MultiLevelHeatmap', input_size=INPUT_SIZE,
                   heatmap_size=HEATMAP_SIZE, kernel_sizes=KERNELS,
                   peak=255.)
    ours = PackPoseInputs()(GenerateTarget(
        encoder=dict(encoder, multilevel=True))(dict(results)))
    stock = PackPoseInputs()(GenerateTarget(encoder=[
        dict(type='MegviiHeatmap', input_size=INPUT_SIZE,
             heatmap_size=HEATMAP_SIZE, kernel_size=k) for k in KERNELS
    ], multilevel=True)(dict(results)))
    a, b = ours['data_samples'], stock['data_samples']
    assert type(a.gt_fields) is type(b.gt_fields)
    assert a.gt_fields.nlevel == b.gt_fields.nlevel == len(KERNELS)
    for level in range(len(KERNELS)):
        np.testing.assert_allclose(a.gt_fields[level].heatmaps.numpy(),
                                   b.gt_fields[level].heatmaps.numpy(),
                                   rtol=0, atol=255 * 5e-5)
    w_a = a.gt_instance_labels.keypoint_weights.numpy()
    w_b = b.gt_instance_labels.keypoint_weights.numpy()
    assert w_a.shape == w_b.shape == (len(KERNELS), 1, 17)
    np.testing.assert_array_equal(w_a, w_b)

    stacked = make_codec(kernel_sizes=KERNELS).encode(
        results['keypoints'], results['keypoints_visible'])
    multi = make_codec(kernel_sizes=KERNELS, multilevel=True).encode(
        results['keypoints'], results['keypoints_visible'])
    np.testing.assert_array_equal(np.concatenate(multi['heatmaps']),
                                  stacked['heatmaps'])
    np.testing.assert_array_equal(
        multi['keypoint_weights'],
        stacked['keypoint_weights'].transpose(1, 0, 2))

    weighted = GenerateTarget(encoder=dict(encoder, multilevel=True),
                              use_dataset_keypoint_weights=True)(
                                  dict(results))['keypoint_weights']
    np.testing.assert_allclose(
        weighted, np.broadcast_to(
            results['keypoints_visible'] * COCO_WEIGHTS,
            (len(KERNELS), 1, 17)), rtol=1e-6)


@pytest.mark.parametrize('kwargs, match', [
    (dict(), 'exactly one of'),
    (dict(sigmas=SIGMAS, multilevel=1), 'multilevel must be a bool'),
    (dict(sigmas=SIGMAS, kernel_sizes=KERNELS), 'exactly one of'),
    (dict(kernel_sizes=(15, 10)), '10'),
    (dict(kernel_sizes=(0, )), r'\b0\b'),
    (dict(kernel_sizes=(-3, )), '-3'),
    (dict(kernel_sizes=(5.0, )), r'5\.0'),
    (dict(kernel_sizes=()), r'\(\)'),
    (dict(kernel_sizes=7), 'sequence.*7'),
    (dict(sigmas=(2.0, 0.0)), r'0\.0'),
    (dict(sigmas=(-1.5, )), r'-1\.5'),
    (dict(sigmas=(float('nan'), )), 'nan'),
    (dict(sigmas=SIGMAS, refine='argmax'), "'argmax'.*expected|one of"),
    (dict(sigmas=SIGMAS, blur_kernel_size=4), '4'),
    (dict(sigmas=SIGMAS, blur_kernel_size=-1), '-1'),
    (dict(sigmas=SIGMAS, peak=0), 'peak.*0'),
    (dict(sigmas=SIGMAS, border=-1), 'border.*-1'),
    (dict(sigmas=SIGMAS, border=24), 'border=24'),
    (dict(kernel_sizes=KERNELS, unbiased=True), 'unbiased'),
    (dict(sigmas=SIGMAS, dark_blur_kernel_size=2), '2'),
    (dict(sigmas=SIGMAS, input_size=(192, )), r'input_size.*\(192,\)'),
    (dict(sigmas=SIGMAS, heatmap_size=(48, 0)), r'heatmap_size.*\(48, 0\)'),
])
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_codec(**kwargs)


def test_invalid_call_arguments():
    codec = make_codec(kernel_sizes=KERNELS)
    keypoints = np.zeros((1, 17, 2), np.float32)
    with pytest.raises(ValueError, match=r'\(17,\).*\(16,\)'):
        codec.encode(keypoints, dataset_keypoint_weights=np.ones(16))
    with pytest.raises(ValueError, match=r'\(1, 16\)'):
        codec.encode(keypoints, np.ones((1, 16)))
    with pytest.raises(ValueError, match=r'\(17, 2\)'):
        codec.encode(keypoints[0])
    with pytest.raises(ValueError, match=r'\(17, 32, 48\)'):
        codec.decode(np.zeros((17, 32, 48), np.float32))


def test_decode_empty_heatmaps():
    """All-zero channels decode to score 0 without warnings or NaNs."""
    for refine in ('shift', 'dark', 'none'):
        codec = make_codec(kernel_sizes=KERNELS, refine=refine,
                           blur_kernel_size=5)
        heatmaps = codec.encode(np.full((1, 3, 2), 40., np.float32),
                                np.array([[1., 0., 1.]]))['heatmaps'][-3:]
        with np.errstate(all='raise'):
            keypoints, scores = codec.decode(heatmaps)
        assert np.all(np.isfinite(keypoints))
        np.testing.assert_allclose(scores[0], [1., 0., 1.], atol=1e-6)


def test_single_level_packs_like_mmpose_codecs():
    """With one level, weights are [N, K] like MSRAHeatmap's, so MMPose's
    stock HeatmapHead trains on this codec unchanged."""
    codec = MultiLevelHeatmap(input_size=(48, 64), heatmap_size=(12, 16),
                              sigmas=(2., ))
    msra = KEYPOINT_CODECS.build(
        dict(type='MSRAHeatmap', input_size=(48, 64), heatmap_size=(12, 16),
             sigma=2))
    keypoints = np.random.default_rng(3).uniform(2, 40, (1, 17, 2))
    visible = np.ones((1, 17))
    ours, theirs = codec.encode(keypoints, visible), msra.encode(
        keypoints, visible)
    assert ours['heatmaps'].shape == theirs['heatmaps'].shape
    assert ours['keypoint_weights'].shape == theirs[
        'keypoint_weights'].shape == (1, 17)


def smoke():
    """Registry smoke test (run by tests/test_registry.py)."""
    codec = KEYPOINT_CODECS.build(
        dict(type='MultiLevelHeatmap', input_size=(48, 64),
             heatmap_size=(12, 16), kernel_sizes=(7, 5)))
    keypoints = np.random.default_rng(0).uniform(4, 40, (1, 17, 2))
    encoded = codec.encode(keypoints, np.ones((1, 17)))
    assert encoded['heatmaps'].shape == (2 * 17, 16, 12)
    decoded, scores = codec.decode(encoded['heatmaps'][17:])
    assert decoded.shape == (1, 17, 2) and scores.shape == (1, 17)
