"""Benchmark multi-level target encoding: ``MultiLevelHeatmap`` vs L passes
of MMPose's ``MegviiHeatmap``.

Encodes the CPN/MSPN targets of one top-down sample (17 keypoints, input
256x192, heatmap 64x48, kernels 15, 11, 9, 7, 5) with both, in one process:
warm-up calls are excluded, the two are timed alternately (their order
swapped every repetition) and the medians are reported. The outputs are
also checked to agree (``MegviiHeatmap`` scales the peak to 255).

Example::

    python tools/analysis/benchmark_codec.py --repeat 2000
"""
import argparse
import statistics
import time
from typing import Optional, Sequence

import numpy as np
from mmpose.codecs import MegviiHeatmap

from ..codecs import MultiLevelHeatmap

__all__ = ['main', 'parse_args']

INPUT_SIZE = (192, 256)  # (w, h)
HEATMAP_SIZE = (48, 64)  # (W, H)
KERNEL_SIZES = (15, 11, 9, 7, 5)
NUM_KEYPOINTS = 17


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--repeat',
        type=int,
        default=500,
        help='timed repetitions of each encoder (default: %(default)s)')
    parser.add_argument(
        '--warmup',
        type=int,
        default=20,
        help='untimed warm-up repetitions (default: %(default)s)')
    parser.add_argument(
        '--seed', type=int, default=0, help='random seed for the keypoints')
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.warmup < 0:
        parser.error('--repeat must be >= 1 and --warmup >= 0')
    return args


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the benchmark; returns the targets' difference and the medians
    in seconds (also printed)."""
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)
    keypoints = rng.uniform(0, INPUT_SIZE,
                            (1, NUM_KEYPOINTS, 2)).astype(np.float32)
    visible = np.ones((1, NUM_KEYPOINTS), dtype=np.float32)

    ours = MultiLevelHeatmap(
        INPUT_SIZE, HEATMAP_SIZE, kernel_sizes=KERNEL_SIZES, peak=255.)
    megvii = [
        MegviiHeatmap(INPUT_SIZE, HEATMAP_SIZE, kernel_size=k)
        for k in KERNEL_SIZES
    ]

    def encode_ours():
        return ours.encode(keypoints, visible)['heatmaps']

    def encode_megvii():
        return np.concatenate(
            [codec.encode(keypoints, visible)['heatmaps'] for codec in megvii])

    max_diff = float(np.abs(encode_ours() - encode_megvii()).max())
    print(f'max |difference| of the targets: {max_diff:.3g} (peak 255)')

    for _ in range(args.warmup):
        encode_ours()
        encode_megvii()

    timings = {encode_ours: [], encode_megvii: []}
    order = (encode_ours, encode_megvii)
    for i in range(args.repeat):
        for func in (order if i % 2 == 0 else order[::-1]):
            start = time.perf_counter()
            func()
            timings[func].append(time.perf_counter() - start)

    t_ours = statistics.median(timings[encode_ours])
    t_megvii = statistics.median(timings[encode_megvii])
    print(f'levels: kernels {KERNEL_SIZES}, heatmap {HEATMAP_SIZE[1]}x'
          f'{HEATMAP_SIZE[0]}, input {INPUT_SIZE[1]}x{INPUT_SIZE[0]}, '
          f'{NUM_KEYPOINTS} keypoints, {args.repeat} repetitions')
    print(f'MultiLevelHeatmap (1 pass):       {t_ours * 1e6:9.1f} us')
    print(f'MegviiHeatmap ({len(KERNEL_SIZES)} passes):        '
          f'{t_megvii * 1e6:9.1f} us')
    print(f'speed-up: {t_megvii / t_ours:.1f}x')
    return dict(max_abs_diff=max_diff, multi_level_s=t_ours,
                megvii_s=t_megvii)

