"""Measure the training and inference throughput of pose models.

``python tools/benchmark.py CONFIG [--ref CONFIG] [--batch-size N]
[--windows N] [--iters-per-window N] [--warmup N] [--mode train|test|both]
[--threads N] [--device DEV] [--cfg-options ...] [--ref-cfg-options ...]
[--json PATH]`` builds the config's model (random weights, nothing
downloaded) with the config's fast path (channels-last weights and a
compiled network, :mod:`mmpose_ext.engine.fast_path`, as ``FastPathHook``
applies them in a runner; a fused optimizer step when the config's
optimizer has ``fused=True``) and times, on one synthetic batch,

* training: ``model.train_step`` with the config's optimizer, i.e. the
  data preprocessor, ``model.loss`` (backbone, neck, head, the config's
  losses against targets encoded by the config's codec), backward and the
  optimizer step;
* inference: ``model.test_step`` under ``torch.no_grad()``, i.e. the data
  preprocessor and ``model.predict`` with the config's test settings
  (flip test, heatmap decoding to keypoints).

The batch is made once, before timing, by MMPose's own transforms
(``GetBBoxCenterScale``, ``TopdownAffine`` at the config's input size, the
config's ``GenerateTarget``, ``PackPoseInputs``) from random images and
keypoints (:func:`mmpose_ext.testing.config_topdown_batch`), so data
loading and augmentation are not timed. Warm-up iterations are excluded;
each of ``--windows`` timed windows runs ``--iters-per-window`` iterations
and the median window gives the throughput (images per second). On CUDA the
device is synchronised before and after each window. With ``--ref`` both
configs are built in this one process and timed in alternating windows
(order swapped every window), and the throughput ratio CONFIG / REF is
printed, as the ratio of the medians and as the median of the per-window
ratios (immune to load that drifts between windows).

The warm-up iterations are timed one by one and printed: with
``compile=True`` the first includes the compilation.

Peak memory, measured in one extra untimed iteration after the warm-up:

* CUDA: ``torch.cuda.max_memory_allocated`` during that iteration, i.e.
  all tensors alive at the peak (weights, gradients, optimizer state and
  activations);
* CPU (Linux): the growth of the process's peak resident set size (VmHWM,
  reset through ``/proc/self/clear_refs`` after returning freed heap memory
  with ``malloc_trim``) over the resident size at the start of that
  iteration: the transient memory of one iteration (activations,
  gradients' temporaries), not the weights or optimizer state that exist
  before it. Elsewhere: the growth of ``getrusage``'s maximum RSS, which
  never decreases and so is only exact for the first model measured.

Efficiency: ``GFLOP/s`` is the arithmetic the timed step does per
second, from MMEngine's FLOP counter (``get_model_complexity_info`` of the
forward at batch 1, backbone + neck + head; it counts a multiply-add as one
FLOP, so it is doubled here to count multiplies and adds as two, the
convention of the matmul rate): the forward's count x batch x 3 for
training (forward, and a backward of about twice its cost; the optimizer
and the losses are not counted), x batch x the forward passes of the test
settings (2 with flip test) for inference (an upper bound for heads that
skip outputs at test time). ``matmul GFLOP/s`` is the machine's own rate
for a 2048 x 2048 fp32 matrix product (``2 * 2048**3`` FLOPs), timed in
one window beside each round of model windows in this process; the
``efficiency`` is the ratio of the two medians.

``state MB`` is the size of what persists between iterations, counted
from the tensors: parameters and buffers, and in training the optimizer
state and any gradients kept between steps (MMEngine's wrapper frees them
after each step, so they count towards the peak instead).

Example::

    python tools/benchmark.py configs/mspn/mspn50-2stage_8xb32-210e_coco-\
256x192.py --ref configs/cpn/cpn_res50_8xb64-210e_coco-256x192.py \
--batch-size 2 --threads 1 --mode train
"""
import argparse
import copy
import ctypes
import ctypes.util
import gc
import json
import resource
import statistics
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper, build_optim_wrapper
from mmengine.registry import init_default_scope
from mmpose.apis.inference import dataset_meta_from_config
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.registry import MODELS

from ..engine.fast_path import apply_fast_path, fast_path_options
from ..testing import config_topdown_batch, resize_codec
from .complexity import forward_complexity
from .config_summary import config_input_size, describe_model
from .stats import median_interval

__all__ = [
    'Bench', 'PeakMemory', 'build_optimizer', 'main', 'parse_args',
    'print_report', 'ratios', 'run'
]

MODES = ('train', 'test')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        epilog='Models are built with random weights. See the docstring '
        'of mmpose_ext/analysis/benchmark.py for what exactly is timed and '
        'how peak memory is measured.')
    parser.add_argument('config', metavar='CONFIG',
                        help='config of the model to benchmark')
    parser.add_argument('--ref', default=None, metavar='CONFIG',
                        help='reference config, timed in alternating '
                        'windows in the same process; the ratio CONFIG / '
                        'REF is printed')
    parser.add_argument('--batch-size', type=int, default=2, metavar='N',
                        help='images per iteration (default: %(default)s)')
    parser.add_argument('--windows', type=int, default=5, metavar='N',
                        help='timed windows per model and mode; the median '
                        'is reported (default: %(default)s)')
    parser.add_argument('--iters-per-window', type=int, default=2,
                        metavar='N',
                        help='iterations per timed window (default: '
                        '%(default)s)')
    parser.add_argument('--warmup', type=int, default=2, metavar='N',
                        help='untimed warm-up iterations per model and mode '
                        '(default: %(default)s)')
    parser.add_argument('--mode', choices=('train', 'test', 'both'),
                        default='both',
                        help='time training steps, inference or both '
                        '(default: %(default)s)')
    parser.add_argument('--threads', type=int, default=None, metavar='N',
                        help='torch CPU threads (default: torch\'s '
                        'default); 1 gives steadier timings on a busy '
                        'machine')
    parser.add_argument('--input-shape', type=int, nargs=2, default=None,
                        metavar=('H', 'W'),
                        help='input height and width for both models, '
                        'codecs scaled to match (default: each config\'s '
                        'input size)')
    parser.add_argument('--device', default=None, metavar='DEV',
                        help='device (default: cuda if available, else cpu)')
    parser.add_argument('--seed', type=int, default=0, metavar='N',
                        help='seed of the synthetic batch and weights '
                        '(default: %(default)s)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default={}, metavar='KEY=VALUE',
                        help='overrides of CONFIG, e.g. the fast path: '
                        'default_hooks.fast_path.channels_last=True '
                        'compile=True')
    parser.add_argument('--ref-cfg-options', nargs='+', action=DictAction,
                        default={}, metavar='KEY=VALUE',
                        help='overrides of REF (e.g. the same config with '
                        'the fast path off)')
    parser.add_argument('--json', type=Path, default=None, metavar='PATH',
                        help='also write the results as JSON to PATH')
    args = parser.parse_args(argv)
    if min(args.batch_size, args.windows, args.iters_per_window) < 1:
        parser.error('--batch-size, --windows and --iters-per-window must '
                     'be >= 1')
    if args.warmup < 0:
        parser.error('--warmup must be >= 0')
    if args.threads is not None and args.threads < 1:
        parser.error('--threads must be >= 1')
    return args


# ---------------------------------------------------------------- memory
class PeakMemory:
    """Peak memory of a block of work on one device (see the docstring)."""

    def __init__(self, device: torch.device):
        self.device = device
        self.cuda = device.type == 'cuda'
        self.base = 0
        self.method = 'cuda_max_memory_allocated' if self.cuda else (
            'rss_hwm_growth' if self._can_reset_hwm() else
            'getrusage_maxrss_growth')
        libc = ctypes.util.find_library('c')
        self._malloc_trim = getattr(ctypes.CDLL(libc), 'malloc_trim',
                                    None) if libc else None

    @staticmethod
    def _can_reset_hwm() -> bool:
        try:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')
            return PeakMemory._status_kb('VmHWM') is not None
        except OSError:
            return False

    @staticmethod
    def _status_kb(key: str) -> Optional[int]:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(key + ':'):
                    return int(line.split()[1])
        return None

    def start(self) -> None:
        gc.collect()
        if self.cuda:
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        elif self.method == 'rss_hwm_growth':
            if self._malloc_trim is not None:
                self._malloc_trim(0)
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')
            self.base = self._status_kb('VmRSS') * 1024
        else:
            self.base = resource.getrusage(
                resource.RUSAGE_SELF).ru_maxrss * 1024

    def stop(self) -> int:
        """Bytes (see the module docstring for what they are)."""
        if self.cuda:
            torch.cuda.synchronize(self.device)
            return torch.cuda.max_memory_allocated(self.device)
        if self.method == 'rss_hwm_growth':
            return max(0, self._status_kb('VmHWM') * 1024 - self.base)
        return max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss *
                   1024 - self.base)


def tensor_bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors
               if isinstance(t, torch.Tensor))


# ----------------------------------------------------------------- model
def build_optimizer(model: torch.nn.Module, cfg: Config) -> OptimWrapper:
    """The config's optimizer wrapper, built as the runner builds it.

    The config's ``optim_wrapper`` (Adam at lr 1e-4 if it has none),
    including its ``constructor``; the package's configs select
    ``CpuAmpOptimWrapperConstructor``, which gives bfloat16 AMP on a CPU.
    """
    optim_cfg = cfg.get('optim_wrapper', None) or dict(
        optimizer=dict(type='Adam', lr=1e-4))
    return build_optim_wrapper(model, copy.deepcopy(optim_cfg))


class Bench:
    """One config's model, batch and step functions."""

    def __init__(self, label: str, config: str, device: torch.device,
                 batch_size: int, input_shape: Optional[Sequence[int]],
                 seed: int, cfg_options: Optional[dict] = None):
        init_default_scope('mmpose')
        cfg = Config.fromfile(config)
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        self.label, self.config = label, config
        if input_shape is None:
            self.input_size = config_input_size(cfg)  # (w, h)
        else:
            self.input_size = (input_shape[1], input_shape[0])
        decoder = cfg.model.get('head', {}).get('decoder')
        if isinstance(decoder, dict):  # decode heatmaps of the new size
            cfg.model.head.decoder = resize_codec(decoder, self.input_size)
        meta = dataset_meta_from_config(cfg, 'train') or parse_pose_metainfo(
            dict(from_file='configs/_base_/datasets/coco.py'))
        torch.manual_seed(seed)
        self.model = MODELS.build(cfg.model).to(device)
        self.model.dataset_meta = meta
        self.batch = config_topdown_batch(cfg, self.input_size, batch_size,
                                          meta, seed)
        self.optim_wrapper = build_optimizer(self.model, cfg)
        # the config's fast path, as FastPathHook applies it in a runner
        self.channels_last, self.compile = fast_path_options(cfg)
        self.params = sum(p.numel() for p in self.model.parameters())
        self.summary = describe_model(cfg.model)
        # MMEngine counts a multiply-add as one FLOP: x 2 (module doc)
        self.forward_flops = 2 * int(forward_complexity(
            self.model, self.input_size[::-1])['flops'])
        test_cfg = cfg.model.get('test_cfg') or {}
        self.test_passes = 2 if test_cfg.get('flip_test', False) else 1
        apply_fast_path(self.model, self.channels_last, self.compile)

    def fast_path_label(self) -> str:
        parts = (['channels-last'] if self.channels_last else []) + (
            [f'compiled {self.compile or ""}'.strip()]
            if self.compile is not None else [])
        optimizer = self.optim_wrapper.optimizer
        if any(g.get('fused') for g in optimizer.param_groups):
            parts.append(f'fused {type(optimizer).__name__} step')
        return ', '.join(parts) or 'off'

    def step_flops(self, mode: str, batch_size: int) -> int:
        """FLOPs of one timed step (module doc: x 3 for training, x the
        flip passes for inference)."""
        passes = 3 if mode == 'train' else self.test_passes
        return self.forward_flops * batch_size * passes

    def train_step(self) -> None:
        self.model.train()
        self.model.train_step(self.batch, self.optim_wrapper)

    def test_step(self) -> None:
        self.model.eval()
        with torch.no_grad():
            self.model.test_step(self.batch)

    def step(self, mode: str) -> Callable[[], None]:
        return self.train_step if mode == 'train' else self.test_step

    def state_bytes(self, mode: str) -> int:
        size = tensor_bytes(self.model.parameters()) + tensor_bytes(
            self.model.buffers())
        if mode == 'train':
            size += tensor_bytes(p.grad for p in self.model.parameters())
            for state in self.optim_wrapper.optimizer.state.values():
                size += tensor_bytes(state.values())
        return size


def synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


class MatmulRate:
    """The machine's fp32 matrix-product rate, one timed window at a
    time (``2 * n**3`` FLOPs per ``n x n`` product).

    Args:
        device (torch.device): Where to multiply.
        n (int): Matrix size. Defaults to 2048.
        iters (int): Products per window. Defaults to 3.
    """

    def __init__(self, device: torch.device, n: int = 2048, iters: int = 3):
        self.device, self.n, self.iters = device, n, iters
        g = torch.Generator().manual_seed(0)
        self.a = torch.randn(n, n, generator=g).to(device)
        self.b = torch.randn(n, n, generator=g).to(device)
        torch.mm(self.a, self.b)  # warm-up
        self.windows: List[float] = []

    def window(self) -> float:
        """Time one window; returns (and keeps) its GFLOP/s."""
        synchronize(self.device)
        start = time.perf_counter()
        for _ in range(self.iters):
            torch.mm(self.a, self.b)
        synchronize(self.device)
        rate = 2 * self.n**3 * self.iters / (time.perf_counter() -
                                             start) / 1e9
        self.windows.append(rate)
        return rate


def run(benches: List[Bench], modes: Sequence[str], device: torch.device,
        windows: int, iters: int, warmup: int,
        batch_size: int) -> Tuple[Dict[str, dict], dict]:
    """Warm up, measure memory, then time alternating windows (and one
    matmul window after each round); returns the results per model and
    the matmul rate."""
    memory = PeakMemory(device)
    matmul = MatmulRate(device)
    results = {b.label: dict(config=b.config, model=b.summary,
                             input_size=[b.input_size[1], b.input_size[0]],
                             params=b.params,
                             forward_gflop=b.forward_flops / 1e9,
                             fast_path=b.fast_path_label())
               for b in benches}
    for mode in modes:
        for bench in benches:
            step = bench.step(mode)
            warm = []
            for _ in range(warmup):
                synchronize(device)
                start = time.perf_counter()
                step()
                synchronize(device)
                warm.append(time.perf_counter() - start)
            memory.start()
            step()
            peak = memory.stop()
            results[bench.label][mode] = dict(
                peak_memory_mb=peak / 2**20,
                state_memory_mb=bench.state_bytes(mode) / 2**20,
                warmup_s=warm, window_s_per_iter=[])
        for w in range(windows):
            order = benches if w % 2 == 0 else benches[::-1]
            for bench in order:
                step = bench.step(mode)
                synchronize(device)
                start = time.perf_counter()
                for _ in range(iters):
                    step()
                synchronize(device)
                results[bench.label][mode]['window_s_per_iter'].append(
                    (time.perf_counter() - start) / iters)
            matmul.window()
        for bench in benches:
            res = results[bench.label][mode]
            res['median_s_per_iter'] = statistics.median(
                res['window_s_per_iter'])
            res['images_per_s'] = batch_size / res['median_s_per_iter']
            res['step_gflop'] = bench.step_flops(mode, batch_size) / 1e9
            res['gflops'] = res['step_gflop'] / res['median_s_per_iter']
    rate = statistics.median(matmul.windows)
    for res in results.values():
        for mode in modes:
            res[mode]['matmul_gflops'] = rate
            res[mode]['efficiency'] = res[mode]['gflops'] / rate
    return results, dict(n=matmul.n, window_gflops=matmul.windows,
                         median_gflops=rate)


def ratios(results: Dict[str, dict], modes: Sequence[str]) -> dict:
    """Throughput ratio config / ref per mode."""
    out = {}
    for mode in modes:
        a, b = results['config'][mode], results['ref'][mode]
        per_window = [tb / ta for ta, tb in zip(a['window_s_per_iter'],
                                                b['window_s_per_iter'])]
        out[mode] = dict(
            throughput_ratio=a['images_per_s'] / b['images_per_s'],
            median_window_ratio=statistics.median(per_window),
            median_window_ratio_95ci=median_interval(per_window),
            window_ratios=per_window)
    return out


def print_report(report: dict) -> None:
    print(f'device {report["device"]}, {report["threads"]} torch '
          f'thread(s), batch {report["batch_size"]}, {report["windows"]} '
          f'windows x {report["iters_per_window"]} iteration(s), '
          f'{report["warmup"]} warm-up iteration(s) per model and mode')
    for label, res in report['results'].items():
        h, w = res['input_size']
        print(f'{label:6s} {res["config"]}\n       {res["model"]}, input '
              f'{h}x{w}, {res["params"] / 1e6:.2f} M parameters, fast path: '
              f'{res["fast_path"]}')
    header = (f'{"model":6s} {"mode":5s} {"images/s":>9s} '
              f'{"ms/iter":>9s} {"GFLOP/s":>8s} {"of mm":>6s} '
              f'{"peak MB":>8s} {"state MB":>9s}  windows (ms/iter)')
    print(header)
    print('-' * len(header))
    for mode in report['modes']:
        for label, res in report['results'].items():
            r = res[mode]
            spread = ' '.join(f'{t * 1e3:.1f}' for t in r['window_s_per_iter'])
            print(f'{label:6s} {mode:5s} {r["images_per_s"]:9.2f} '
                  f'{r["median_s_per_iter"] * 1e3:9.1f} '
                  f'{r["gflops"]:8.1f} {r["efficiency"]:6.1%} '
                  f'{r["peak_memory_mb"]:8.1f} {r["state_memory_mb"]:9.1f}  '
                  f'{spread}')
    mm = report['matmul']
    print(f'GFLOP/s: MMEngine\'s forward count x 2 (multiply and add) x '
          f'batch x 3 (train) or x flip passes (test); "of mm": share of '
          f'the {mm["n"]}x{mm["n"]} fp32 matmul rate measured in this '
          f'process, {mm["median_gflops"]:.1f} GFLOP/s (median of '
          f'{len(mm["window_gflops"])} windows)')
    for mode in report['modes']:
        for label, res in report['results'].items():
            warm = res[mode]['warmup_s']
            if warm:
                print(f'{label:6s} {mode:5s} warm-up iterations (s, the '
                      'first includes any compilation): ' +
                      ' '.join(f'{t:.1f}' for t in warm))
    print(f'peak MB: {report["memory_method"]}; see '
          'mmpose_ext/analysis/benchmark.py')
    for mode, r in report.get('ratio', {}).items():
        spread = ', '.join(f'{x:.2f}' for x in r['window_ratios'])
        print(f'{mode} throughput ratio config / ref: '
              f'{r["throughput_ratio"]:.3f} (ratio of the medians), '
              f'{r["median_window_ratio"]:.3f} (median of the per-window '
              f'ratios: {spread})')
        if r['median_window_ratio_95ci'] is not None:
            low, high = r['median_window_ratio_95ci']
            print(f'  95% confidence interval of the median per-window '
                  f'ratio: {low:.3f} to {high:.3f}')


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the benchmark; returns the report (also printed)."""
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device or (
        'cuda' if torch.cuda.is_available() else 'cpu'))
    # keep MMEngine's build messages off the console
    MMLogger.get_instance(f'benchmark-{time.time_ns()}',
                         log_level='WARNING')
    modes = MODES if args.mode == 'both' else (args.mode, )
    benches = [Bench('config', args.config, device, args.batch_size,
                     args.input_shape, args.seed, args.cfg_options)]
    if args.ref is not None:
        benches.append(Bench('ref', args.ref, device, args.batch_size,
                             args.input_shape, args.seed,
                             args.ref_cfg_options))
    results, matmul = run(benches, modes, device, args.windows,
                          args.iters_per_window, args.warmup,
                          args.batch_size)
    report = dict(device=str(device), threads=torch.get_num_threads(),
                  batch_size=args.batch_size, windows=args.windows,
                  iters_per_window=args.iters_per_window,
                  warmup=args.warmup, modes=list(modes),
                  memory_method=PeakMemory(device).method,
                  torch=torch.__version__, results=results, matmul=matmul)
    if args.ref is not None:
        report['ratio'] = ratios(results, modes)
    print_report(report)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
        print(f'wrote {args.json}')
    return report

