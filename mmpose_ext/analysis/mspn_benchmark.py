"""Benchmark ``CrossStageMSPN`` against MMPose's own ``MSPN``.

Builds, at the same settings, the backbone + head of this package's MSPN
config (``configs/mspn/mspn50-{S}stage_8xb32-210e_coco-256x192.py``:
``CrossStageMSPN`` with MSPN's per-unit predictors + ``MultiStageHeatmapHead``)
and of MMPose's (``td-hm_{S}xmspn50_8xb32-210e_coco-256x192.py``: ``MSPN`` +
``MSPNHead``), without pretrained weights, and prints

- the parameter counts of both (backbone, heatmap predictors, total) and of
  the lighter variant with a 1x1 conv per unit in the head;
- a check that MMPose's weights, mapped one to one onto ``CrossStageMSPN``
  (``convert_mmpose_mspn_state_dict``), give the same heatmaps;
- the ratio of their CPU training throughput: forward, each head's own
  ``loss`` on the same random targets, backward and an Adam step, on random
  inputs. Warm-up steps are excluded; the two models are timed alternately
  (order swapped every window) in this one process; the ratio of the median
  times per step and the median of the per-window ratios are printed, the
  latter with its 95 % sign-test confidence interval (6 windows or more);
  the windows are timed by :func:`.benchmark.time_windows`.

On a machine shared with other jobs, ``--threads 1`` keeps the timing from
being dominated by thread oversubscription (2 threads on 2 busy cores ran
the same step 5-10 times slower, with windows varying 2x).

Example::

    python tools/analysis/benchmark_mspn.py --stages 2 --input-size 256 192 \
        --batch-size 2 --threads 1 --windows 11 --steps 1
"""
import argparse
import functools
import statistics
from pathlib import Path
from typing import Optional, Sequence

import mmpose
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData, PixelData
from mmpose.registry import MODELS
from mmpose.structures import MultilevelPixelData, PoseDataSample

from ..models.backbones.cross_stage_mspn import (
    convert_mmpose_mspn_state_dict,
)
from ..package_files import config_path
from .benchmark import time_windows
from .stats import median_interval

__all__ = [
    'build', 'check_equivalence', 'data_samples', 'main', 'parse_args'
]

OURS = 'mspn/mspn50-{}stage_8xb32-210e_coco-256x192.py'
MMPOSE = str(
    Path(mmpose.__file__).parent / '.mim/configs/body_2d_keypoint/'
    'topdown_heatmap/coco/td-hm_{}_8xb32-210e_coco-256x192.py')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--stages', type=int, default=2, choices=(1, 2, 3, 4),
                        help='number of stages (default: %(default)s)')
    parser.add_argument('--input-size', type=int, nargs=2, default=(128, 96),
                        metavar=('H', 'W'),
                        help='input height and width (default: 128 96)')
    parser.add_argument('--batch-size', type=int, default=8,
                        help='batch size (default: %(default)s)')
    parser.add_argument('--windows', type=int, default=5,
                        help='timed windows per model (default: %(default)s)')
    parser.add_argument('--steps', type=int, default=2,
                        help='training steps per window (default: '
                        '%(default)s)')
    parser.add_argument('--warmup', type=int, default=2,
                        help='untimed warm-up steps per model (default: '
                        '%(default)s)')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: torch default)')
    args = parser.parse_args(argv)
    if min(args.windows, args.steps, args.batch_size) < 1 or args.warmup < 0:
        parser.error('--windows, --steps and --batch-size must be >= 1 and '
                     '--warmup >= 0')
    if any(s % 32 for s in args.input_size):
        parser.error('--input-size must be multiples of 32')
    return args


def build(config: str, heatmap_size) -> torch.nn.Module:
    """Backbone + head of a config's model, without pretrained weights."""
    model = Config.fromfile(config).model
    model.backbone.init_cfg = None
    if model.head.type == 'MSPNHead':
        model.head.out_shape = heatmap_size
        model.backbone.init_cfg = [
            dict(type='Kaiming', layer=['Conv2d']),
            dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
        ]
    net = torch.nn.ModuleDict(
        dict(backbone=MODELS.build(model.backbone),
             head=MODELS.build(model.head)))
    for module in net.values():
        module.init_weights()
    return net


def num_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def data_samples(targets, mmpose_layout: bool):
    """Samples with ``[L, K, H, W]`` targets and all-one weights, packed for
    ``MultiStageHeatmapHead`` (``[L*K, H, W]`` heatmaps, ``[1, L, K]``
    weights) or for MMPose's ``MSPNHead`` (one ``PixelData`` per level,
    ``[L, 1, K]`` weights, the layout its loss indexes)."""
    samples = []
    for target in targets:
        L, K, H, W = target.shape
        sample = PoseDataSample()
        if mmpose_layout:
            sample.gt_fields = MultilevelPixelData(heatmaps=list(target))
            weights = torch.ones(L, 1, K)
        else:
            sample.gt_fields = PixelData(heatmaps=target.reshape(L * K, H, W))
            weights = torch.ones(1, L, K)
        sample.gt_instance_labels = InstanceData(keypoint_weights=weights)
        samples.append(sample)
    return samples


def check_equivalence(ours, mmpose, inputs) -> float:
    """Largest |difference| of the heatmaps, relative to the largest |value|
    of each, with MMPose's weights mapped onto ours."""
    state = {f'backbone.{k}': v for k, v in mmpose.backbone.state_dict()
             .items()}
    state.update(
        {f'head.{k}': v for k, v in mmpose.head.state_dict().items()})
    converted = convert_mmpose_mspn_state_dict(state)
    ours.load_state_dict(converted, strict=True)
    ours.eval()
    mmpose.eval()
    with torch.no_grad():
        a = ours.head(ours.backbone(inputs))
        b = mmpose.head(mmpose.backbone(inputs))
    size = b[-1].shape[-2:]
    diff = max((F.interpolate(x, size=size, mode='bilinear',
                              align_corners=True) - y).abs().max().item() /
               y.abs().max().item()
               for x, y in zip([u for s in a for u in s], b))
    ours.train()
    mmpose.train()
    return diff


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the benchmark; returns the parameter counts, the heatmap
    difference and the timings (also printed)."""
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    init_default_scope('mmpose')
    # keep MMEngine's per-parameter initialization report off the console
    MMLogger.get_instance('benchmark_mspn', log_level='WARNING')
    torch.manual_seed(0)
    S, (H, W) = args.stages, args.input_size
    heatmap_size = (H // 4, W // 4)
    name = 'mspn50' if S == 1 else f'{S}xmspn50'
    ours = build(str(config_path(OURS.format(S))), heatmap_size)
    mmpose = build(MMPOSE.format(name), heatmap_size)
    lite_cfg = Config.fromfile(str(config_path(OURS.format(S)))).model
    lite_cfg.backbone.update(num_keypoints=None, init_cfg=None)
    lite = MODELS.build(lite_cfg.backbone)
    lite_head = MODELS.build(
        dict(type='MultiStageHeatmapHead', in_channels=256, out_channels=17,
             num_stages=S, num_units=4))

    K = ours.backbone.num_keypoints
    predictors = sum(
        num_params(stage.predictors) for stage in ours.backbone.stages)
    rows = [
        ('MMPose MSPN + MSPNHead', num_params(mmpose.backbone),
         num_params(mmpose.head)),
        ('CrossStageMSPN + MultiStageHeatmapHead',
         num_params(ours) - predictors, predictors),
        ('CrossStageMSPN, 1x1 conv per unit in head', num_params(lite),
         num_params(lite_head)),
    ]
    print(f'{S}-stage MSPN-50, {K} keypoints, input {H}x{W}')
    print(f'{"parameters":44s}{"backbone":>12s}{"predictors":>12s}'
          f'{"total":>12s}')
    for label, backbone, head in rows:
        print(f'{label:44s}{backbone:12,d}{head:12,d}{backbone + head:12,d}')

    inputs = torch.rand(args.batch_size, 3, H, W)
    diff = check_equivalence(ours, mmpose, inputs[:1])
    print(f'MMPose weights mapped onto CrossStageMSPN: relative heatmap '
          f'difference {diff:.1e}')

    L = mmpose.head.level_indices[-1] + 1
    targets = torch.rand(args.batch_size, L, K, *heatmap_size)
    batches = {
        'ours': data_samples(targets, mmpose_layout=False),
        'mmpose': data_samples(targets, mmpose_layout=True),
    }
    nets = {'ours': ours, 'mmpose': mmpose}
    optims = {k: torch.optim.Adam(v.parameters(), lr=1e-4)
              for k, v in nets.items()}

    def step(key):
        net = nets[key]
        losses = net.head.loss(net.backbone(inputs), batches[key])
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        optims[key].zero_grad()
        loss.backward()
        optims[key].step()

    for key in nets:
        for _ in range(args.warmup):
            step(key)
    times = time_windows({key: functools.partial(step, key)
                          for key in ('ours', 'mmpose')}, args.windows,
                         args.steps, torch.device('cpu'))
    # each window times both models back to back, so its ratio is immune
    # to load that drifts between windows (other jobs on a shared machine)
    ratios = [m / o for o, m in zip(times['ours'], times['mmpose'])]
    medians = {k: statistics.median(v) for k, v in times.items()}
    print(f'training step (batch {args.batch_size}, {torch.get_num_threads()}'
          f' threads, {args.windows} windows x {args.steps} steps):')
    for key, label in (('ours', 'CrossStageMSPN'), ('mmpose', 'MMPose MSPN')):
        spread = ', '.join(f'{t:.2f}' for t in times[key])
        print(f'  {label:16s} median {medians[key]:7.3f} '
              f's/step (windows: {spread})')
    print('throughput ratio CrossStageMSPN / MMPose MSPN: '
          f'{medians["mmpose"] / medians["ours"]:.3f} (ratio of the medians), '
          f'{statistics.median(ratios):.3f} (median of the per-window ratios:'
          f' {", ".join(f"{r:.2f}" for r in ratios)})')
    interval = median_interval(ratios)
    if interval is not None:
        print('95% confidence interval of the median per-window ratio: '
              f'{interval[0]:.3f} to {interval[1]:.3f}')
    return dict(params={label: backbone + head
                        for label, backbone, head in rows},
                relative_heatmap_difference=diff, s_per_step=times,
                median_window_ratio=statistics.median(ratios),
                median_window_ratio_95ci=interval)
