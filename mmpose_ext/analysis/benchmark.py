"""Measure the training and inference throughput of pose models.

``python tools/benchmark.py CONFIG [CONFIG ...] [--mmpose-refs] [--ref
CONFIG | --grid] [--batch-size N] [--windows N] [--iters-per-window N]
[--warmup N] [--mode train|test|both] [--amp] [--fast-path config|off|
channels-last|compile] [--pipeline-images N] [--threads N] [--device DEV]
[--cfg-options ...] [--ref-cfg-options ...] [--json PATH]`` builds each
config's model (random weights, nothing downloaded) with the config's fast path
(channels-last weights and a compiled network,
:mod:`mmpose_ext.engine.fast_path`, as ``FastPathHook`` applies them in a
runner; a fused optimizer step when the config's optimizer has
``fused=True``) and times, on one synthetic batch,

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
ratios (immune to load that drifts between windows). Several CONFIGs
(and ``--mmpose-refs``: MMPose's own HRNet-W32, SimpleBaseline ResNet-50
and 2-stage MSPN-50 COCO 256x192 configs, :data:`MMPOSE_REFS`) are timed
the same way, all at the same batch size, precision and fast path.

Settings applied to every config: ``--amp`` trains with the config's
optimizer in MMEngine's ``AmpOptimWrapper`` (float16 autocast with dynamic
loss scaling on CUDA, as ``tools/train.py --amp``; on the CPU the
package's ``CpuAmpOptimWrapper``, bfloat16), ``--fast-path`` replaces each
config's own channels-last / ``compile`` switches (``off``,
``channels-last``, or ``compile``: channels-last and ``compile=True``).

Data pipeline: the CPU time per image of the config's training pipeline
(``--pipeline-images`` samples, one process, one torch thread, timed after
one untimed sample): the data set's own samples (``dataset[i]``: image
decoding, augmentation, target encoding, packing) where its annotation
file is found, otherwise the pipeline after ``LoadImage`` on random
640x480 images with one person box each. Compare it with the training
step's time per image to see whether a run is input-bound: a DataLoader
with W workers delivers about W / (s per image) images per second.

``--grid`` times one CONFIG in the four combinations of :data:`GRID`,
all channels-last: float32 and mixed precision (``--amp``'s wrapper), each
eager and compiled (``compile=True``), four models built from the same
seed in this one process, timed in alternating windows; it prints the
ratios of :data:`GRID_RATIOS` (compiled / eager per precision, mixed /
float32 per execution), each as the median of the per-window ratios with
its 95 % interval.

The warm-up iterations are timed one by one and printed: with
``compile=True`` the first includes the compilation.

Peak memory, measured in one extra untimed iteration after the warm-up:

* CUDA: ``torch.cuda.max_memory_allocated`` during that iteration over
  ``torch.cuda.memory_allocated`` at its start: the transient memory of
  one iteration (activations, gradients, temporaries), as on the CPU;
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
after each step, so they count towards the peak instead). ``total MB`` =
peak + state: what the model needs alone on the device (several models
benchmarked in one process are resident together).

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

import mmpose
import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import Compose
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper, build_optim_wrapper
from mmengine.registry import DefaultScope, init_default_scope
from mmpose.apis.inference import dataset_meta_from_config
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.registry import DATASETS, MODELS

from ..engine.fast_path import apply_fast_path, fast_path_options
from ..testing import config_topdown_batch, resize_codec
from .complexity import forward_complexity
from .config_summary import config_input_size, describe_model
from .stats import median_interval

__all__ = [
    'GRID', 'GRID_RATIOS', 'MMPOSE_REFS', 'Bench', 'PeakMemory',
    'build_optimizer', 'main', 'parse_args', 'pipeline_time',
    'print_report', 'ratios', 'run', 'time_windows'
]

MODES = ('train', 'test')
#: ``--grid``: label -> (mixed precision, ``--fast-path``).
GRID = {
    'fp32-eager': (False, 'channels-last'),
    'fp32-compiled': (False, 'compile'),
    'amp-eager': (True, 'channels-last'),
    'amp-compiled': (True, 'compile'),
}
#: The ratios ``--grid`` reports: (faster candidate, baseline).
GRID_RATIOS = (('fp32-compiled', 'fp32-eager'), ('amp-compiled', 'amp-eager'),
               ('amp-eager', 'fp32-eager'), ('amp-compiled', 'fp32-compiled'),
               ('amp-compiled', 'fp32-eager'))
#: ``optim_wrapper`` keys of the mixed-precision wrappers only.
AMP_KEYS = ('loss_scale', 'dtype', 'use_fsdp', 'native_only')
#: ``--fast-path`` settings other than each config's own.
FAST_PATHS = ('off', 'channels-last', 'compile')
_MMPOSE_COCO = (Path(mmpose.__file__).parent / '.mim' / 'configs' /
                'body_2d_keypoint' / 'topdown_heatmap' / 'coco')
#: ``--mmpose-refs``: label -> MMPose's own config (from its wheel).
MMPOSE_REFS = {
    'mmpose-hrnet-w32':
    _MMPOSE_COCO / 'td-hm_hrnet-w32_8xb64-210e_coco-256x192.py',
    'mmpose-res50': _MMPOSE_COCO / 'td-hm_res50_8xb64-210e_coco-256x192.py',
    'mmpose-2xmspn50':
    _MMPOSE_COCO / 'td-hm_2xmspn50_8xb32-210e_coco-256x192.py',
}


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        epilog='Models are built with random weights. See the docstring '
        'of mmpose_ext/analysis/benchmark.py for what exactly is timed and '
        'how peak memory is measured.')
    parser.add_argument('config', metavar='CONFIG', nargs='+',
                        help='config(s) of the model(s) to benchmark')
    parser.add_argument('--mmpose-refs', action='store_true',
                        help='also time MMPose\'s own HRNet-W32, '
                        'SimpleBaseline ResNet-50 and 2-stage MSPN-50 '
                        '(COCO 256x192 configs) at the same settings')
    parser.add_argument('--ref', default=None, metavar='CONFIG',
                        help='reference config, timed in alternating '
                        'windows in the same process; the ratio CONFIG / '
                        'REF is printed (one CONFIG only)')
    parser.add_argument('--grid', action='store_true',
                        help='time one CONFIG in four settings, all '
                        'channels-last: float32 and mixed precision, each '
                        'eager and compiled (alternating windows), and '
                        'print their ratios')
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
    parser.add_argument('--amp', action='store_true',
                        help='train in mixed precision: AmpOptimWrapper '
                        '(float16 on CUDA, bfloat16 CpuAmpOptimWrapper on '
                        'the CPU) for every config')
    parser.add_argument('--fast-path', default='config',
                        choices=('config', ) + FAST_PATHS,
                        help='channels-last / compile for every config: '
                        'each config\'s own (config), none (off), '
                        'channels-last weights, or compile (channels-last '
                        'and compile=True) (default: %(default)s)')
    parser.add_argument('--pipeline-images', type=int, default=20,
                        metavar='N',
                        help='samples timed through each config\'s training '
                        'data pipeline on the CPU; 0 skips it (default: '
                        '%(default)s)')
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
    if args.warmup < 0 or args.pipeline_images < 0:
        parser.error('--warmup and --pipeline-images must be >= 0')
    if args.ref is not None and (len(args.config) > 1 or args.mmpose_refs):
        parser.error('--ref compares one CONFIG with REF: give one CONFIG '
                     'and no --mmpose-refs')
    if args.grid and (len(args.config) > 1 or args.mmpose_refs or args.ref
                      or args.amp or args.fast_path != 'config'):
        parser.error('--grid times one CONFIG in its own four settings: '
                     'give one CONFIG and no --ref, --mmpose-refs, --amp or '
                     '--fast-path')
    if args.device is not None:
        try:
            device = torch.device(args.device)
        except RuntimeError as err:
            parser.error(f'--device {args.device}: {err}')
        if device.type == 'cuda' and not torch.cuda.is_available():
            parser.error(f'--device {args.device}: CUDA is not available '
                         f'(torch {torch.__version__}, built with CUDA '
                         f'{torch.version.cuda})')
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
            self.base = torch.cuda.memory_allocated(self.device)
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
            return max(0, torch.cuda.max_memory_allocated(self.device) -
                       self.base)
        if self.method == 'rss_hwm_growth':
            return max(0, self._status_kb('VmHWM') * 1024 - self.base)
        return max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss *
                   1024 - self.base)


def tensor_bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors
               if isinstance(t, torch.Tensor))


# ----------------------------------------------------------------- model
def build_optimizer(model: torch.nn.Module, cfg: Config,
                    amp: Optional[bool] = None) -> OptimWrapper:
    """The config's optimizer wrapper, built as the runner builds it.

    The config's ``optim_wrapper`` (Adam at lr 1e-4 if it has none),
    including its ``constructor``; the package's configs select
    ``CpuAmpOptimWrapperConstructor``, which gives bfloat16 AMP on a CPU.

    Args:
        model (nn.Module): The model, on its device.
        cfg (Config): The config.
        amp (bool, optional): ``True`` makes it an ``AmpOptimWrapper`` with
            dynamic loss scaling, as ``tools/train.py --amp`` does; for a
            model on the CPU the package's ``CpuAmpOptimWrapper`` (also
            where a GPU is present, whose autocast would not reach the CPU
            model). ``False`` makes it MMEngine's float32
            ``OptimWrapper`` (also for a config that selects mixed
            precision). ``None`` keeps the config's own. Defaults to
            ``None``.
    """
    optim_cfg = copy.deepcopy(cfg.get('optim_wrapper', None) or dict(
        optimizer=dict(type='Adam', lr=1e-4)))
    if amp:
        on_cpu = next(model.parameters()).device.type == 'cpu'
        optim_cfg['type'] = 'CpuAmpOptimWrapper' if on_cpu else (
            'AmpOptimWrapper')
        optim_cfg.setdefault('loss_scale', 'dynamic')
    elif amp is not None:
        optim_cfg['type'] = 'OptimWrapper'
        for key in AMP_KEYS:
            optim_cfg.pop(key, None)
    return build_optim_wrapper(model, optim_cfg)


def fast_path_override(name: str) -> dict:
    """``--cfg-options`` that set a ``--fast-path`` (:data:`FAST_PATHS`)."""
    if name not in FAST_PATHS:
        raise ValueError(f'fast path must be one of {FAST_PATHS}, got '
                         f'{name!r}')
    return {'default_hooks.fast_path.channels_last': name != 'off',
            'compile': name == 'compile'}


def pipeline_time(cfg: Config, images: int, seed: int = 0) -> dict:
    """CPU seconds per image of a config's training data pipeline.

    The data set's samples where its annotation file exists, else the
    pipeline after ``LoadImage`` on random 640x480 images (module doc).
    One torch thread, one untimed sample first.

    Args:
        cfg (Config): A top-down config with ``train_dataloader``.
        images (int): Samples to time (>= 1).
        seed (int): Seed of the random images. Defaults to ``0``.

    Returns:
        dict: ``s_per_image`` (median over the samples), ``mean_s``,
        ``images`` and ``source`` (``'dataset'`` or ``'random images'``).
    """
    if images < 1:
        raise ValueError(f'images must be >= 1, got {images}')
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    ann = Path(dataset_cfg.get('data_root', '') or '') / dataset_cfg.get(
        'ann_file', '')
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with DefaultScope.overwrite_default_scope('mmpose'):
            if ann.is_file():
                dataset = DATASETS.build(dataset_cfg)
                source = 'dataset'

                def sample(i):
                    return dataset[i % len(dataset)]
            else:
                sample, source = _random_image_samples(cfg, seed)
            sample(0)
            times = []
            for i in range(1, images + 1):
                start = time.perf_counter()
                sample(i)
                times.append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    return dict(s_per_image=statistics.median(times),
                mean_s=statistics.fmean(times), images=images,
                source=source)


def _random_image_samples(cfg: Config, seed: int):
    """The training pipeline without ``LoadImage`` on random 640x480
    images (one person box with random keypoints each)."""
    steps = [t for t in cfg.train_dataloader.dataset.pipeline
             if t['type'] not in ('LoadImage', 'mmpose.LoadImage')]
    pipeline = Compose(copy.deepcopy(steps))
    meta = dataset_meta_from_config(cfg, 'train') or parse_pose_metainfo(
        dict(from_file='configs/_base_/datasets/coco.py'))
    rng = np.random.default_rng(seed)
    num_keypoints = meta['num_keypoints']
    box = np.array([[80., 60., 560., 420.]], np.float32)

    def sample(i):
        img = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
        results = dict(
            id=i, img_id=i, img=img, img_shape=img.shape[:2],
            ori_shape=img.shape[:2], img_path=f'random_{i}.jpg', bbox=box,
            bbox_score=np.ones(1, np.float32), category_id=1,
            keypoints=rng.uniform((120, 90), (520, 390), (
                1, num_keypoints, 2)).astype(np.float32),
            keypoints_visible=np.ones((1, num_keypoints), np.float32))
        results.update(copy.deepcopy(meta))
        return pipeline(results)

    return sample, 'random images'


class Bench:
    """One config's model, batch and step functions."""

    def __init__(self, label: str, config: str, device: torch.device,
                 batch_size: int, input_shape: Optional[Sequence[int]],
                 seed: int, cfg_options: Optional[dict] = None,
                 amp: Optional[bool] = None, fast_path: str = 'config'):
        init_default_scope('mmpose')
        cfg = Config.fromfile(config)
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        if fast_path != 'config':
            cfg.merge_from_dict(fast_path_override(fast_path))
        self.cfg, self.amp = cfg, amp
        self.label, self.config = label, config
        if input_shape is None:
            self.input_size = config_input_size(cfg)  # (w, h)
        else:
            self.input_size = (input_shape[1], input_shape[0])
        decoder = cfg.model.get('head', {}).get('decoder')
        if isinstance(decoder, dict):  # decode heatmaps of the new size
            cfg.model.head.decoder = resize_codec(decoder, self.input_size)
            if 'out_shape' in cfg.model.head and (
                    'heatmap_size' in cfg.model.head.decoder):
                # MMPose's MSPNHead / RSNHead: output (h, w) of the codec
                w, h = cfg.model.head.decoder['heatmap_size']
                cfg.model.head.out_shape = (h, w)
        meta = dataset_meta_from_config(cfg, 'train') or parse_pose_metainfo(
            dict(from_file='configs/_base_/datasets/coco.py'))
        torch.manual_seed(seed)
        self.model = MODELS.build(cfg.model).to(device)
        self.model.dataset_meta = meta
        self.batch = config_topdown_batch(cfg, self.input_size, batch_size,
                                          meta, seed)
        self.optim_wrapper = build_optimizer(self.model, cfg, amp)
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
        wrapper = type(self.optim_wrapper).__name__
        if wrapper in ('AmpOptimWrapper', 'CpuAmpOptimWrapper'):
            dtype = getattr(self.optim_wrapper, 'cast_dtype', None) or (
                torch.float32 if wrapper == 'CpuAmpOptimWrapper' else
                torch.float16)  # AmpOptimWrapper's default on CUDA
            parts.append(f'{wrapper} {str(dtype).split(".")[-1]}')
            if (getattr(self.optim_wrapper, 'autocast_head', False)
                    and getattr(self.optim_wrapper, 'cast_dtype', None)):
                parts.append('head under autocast')
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


def time_windows(steps: Dict[str, Callable[[], None]], windows: int,
                 iters: int, device: torch.device,
                 after_round: Optional[Callable[[], object]] = None
                 ) -> Dict[str, List[float]]:
    """Time several step functions in alternating windows.

    Each of ``windows`` rounds runs every step ``iters`` times in one
    window, in the order of ``steps`` (reversed every other round), the
    device synchronised before and after each window.

    Args:
        steps (dict): Label -> a function running one step.
        windows (int): Rounds.
        iters (int): Steps per window.
        device (torch.device): Synchronised around each window (CUDA).
        after_round (callable, optional): Called after each round (e.g.
            one matmul window).

    Returns:
        dict: Label -> seconds per step of each window.
    """
    if windows < 1 or iters < 1:
        raise ValueError(f'windows and iters must be >= 1, got {windows} '
                         f'and {iters}')
    labels = list(steps)
    times: Dict[str, List[float]] = {label: [] for label in labels}
    for w in range(windows):
        for label in (labels if w % 2 == 0 else labels[::-1]):
            step = steps[label]
            synchronize(device)
            start = time.perf_counter()
            for _ in range(iters):
                step()
            synchronize(device)
            times[label].append((time.perf_counter() - start) / iters)
        if after_round is not None:
            after_round()
    return times


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
            state = bench.state_bytes(mode)
            results[bench.label][mode] = dict(
                peak_memory_mb=peak / 2**20,
                state_memory_mb=state / 2**20,
                total_memory_mb=(peak + state) / 2**20,
                warmup_s=warm, window_s_per_iter=[])
        times = time_windows({b.label: b.step(mode) for b in benches},
                             windows, iters, device, matmul.window)
        for bench in benches:
            results[bench.label][mode]['window_s_per_iter'] = times[
                bench.label]
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


def ratios(results: Dict[str, dict], modes: Sequence[str],
           label: str = 'config', ref: str = 'ref') -> dict:
    """Throughput ratio ``label`` / ``ref`` per mode."""
    out = {}
    for mode in modes:
        a, b = results[label][mode], results[ref][mode]
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
    n = max(6, *(len(label) for label in report['results']))
    for label, res in report['results'].items():
        h, w = res['input_size']
        print(f'{label:{n}s} {res["config"]}\n{"":{n}s} {res["model"]}, '
              f'input {h}x{w}, {res["params"] / 1e6:.2f} M parameters, '
              f'fast path: {res["fast_path"]}')
    header = (f'{"model":{n}s} {"mode":5s} {"images/s":>9s} '
              f'{"ms/iter":>9s} {"GFLOP/s":>8s} {"of mm":>6s} '
              f'{"peak MB":>8s} {"state MB":>9s}  windows (ms/iter)')
    print(header)
    print('-' * len(header))
    for mode in report['modes']:
        for label, res in report['results'].items():
            r = res[mode]
            spread = ' '.join(f'{t * 1e3:.1f}' for t in r['window_s_per_iter'])
            print(f'{label:{n}s} {mode:5s} {r["images_per_s"]:9.2f} '
                  f'{r["median_s_per_iter"] * 1e3:9.1f} '
                  f'{r["gflops"]:8.1f} {r["efficiency"]:6.1%} '
                  f'{r["peak_memory_mb"]:8.1f} {r["state_memory_mb"]:9.1f}  '
                  f'{spread}')
    for label, res in report['results'].items():
        pipe = res.get('data_pipeline')
        if not pipe:
            continue
        line = (f'{label:{n}s} data pipeline (CPU, 1 thread, '
                f'{pipe["source"]}): {pipe["s_per_image"] * 1e3:.1f} '
                f'ms/image (median of {pipe["images"]})')
        if 'train' in res:
            step = res['train']['median_s_per_iter'] / report['batch_size']
            line += f'; training step: {step * 1e3:.1f} ms/image'
        print(line)
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
                print(f'{label:{n}s} {mode:5s} warm-up iterations (s, the '
                      'first includes any compilation): ' +
                      ' '.join(f'{t:.1f}' for t in warm))
    print(f'peak MB: {report["memory_method"]}; see '
          'mmpose_ext/analysis/benchmark.py')
    for mode, r in report.get('ratio', {}).items():
        _print_ratio('config / ref', mode, r)
    for name, per_mode in report.get('grid', {}).items():
        for mode, r in per_mode.items():
            _print_ratio(name, mode, r)


def _print_ratio(name: str, mode: str, r: dict) -> None:
    spread = ', '.join(f'{x:.2f}' for x in r['window_ratios'])
    print(f'{mode} throughput ratio {name}: '
          f'{r["throughput_ratio"]:.3f} (ratio of the medians), '
          f'{r["median_window_ratio"]:.3f} (median of the per-window '
          f'ratios: {spread})')
    if r['median_window_ratio_95ci'] is not None:
        low, high = r['median_window_ratio_95ci']
        print(f'  95% confidence interval of the median per-window '
              f'ratio: {low:.3f} to {high:.3f}')


def config_labels(configs: Sequence[str],
                  mmpose_refs: bool = False) -> List[Tuple[str, str]]:
    """``(label, config)`` of each model: ``config`` for one config alone,
    else each file's name (numbered if repeated), then
    :data:`MMPOSE_REFS`."""
    pairs = [(label, str(path)) for label, path in MMPOSE_REFS.items()
             ] if mmpose_refs else []
    if len(configs) == 1 and not pairs:
        return [('config', configs[0])]
    labels: List[str] = []
    for config in configs:
        label = Path(config).stem
        labels.append(label if label not in labels else
                      f'{label}-{len(labels)}')
    return list(zip(labels, configs)) + pairs


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
    # --amp: mixed precision for every config; without it each config's own
    settings = dict(amp=args.amp or None, fast_path=args.fast_path)
    if args.grid:
        benches = [
            Bench(label, args.config[0], device, args.batch_size,
                  args.input_shape, args.seed, args.cfg_options, amp=amp,
                  fast_path=fast_path)
            for label, (amp, fast_path) in GRID.items()
        ]
    else:
        benches = [
            Bench(label, config, device, args.batch_size, args.input_shape,
                  args.seed, args.cfg_options, **settings)
            for label, config in config_labels(args.config,
                                               args.mmpose_refs)
        ]
    if args.ref is not None:
        benches.append(Bench('ref', args.ref, device, args.batch_size,
                             args.input_shape, args.seed,
                             args.ref_cfg_options, **settings))
    results, matmul = run(benches, modes, device, args.windows,
                          args.iters_per_window, args.warmup,
                          args.batch_size)
    if args.pipeline_images:
        for bench in benches:
            results[bench.label]['data_pipeline'] = pipeline_time(
                bench.cfg, args.pipeline_images, args.seed)
    report = dict(device=str(device), threads=torch.get_num_threads(),
                  batch_size=args.batch_size, windows=args.windows,
                  iters_per_window=args.iters_per_window,
                  warmup=args.warmup, modes=list(modes), **settings,
                  memory_method=PeakMemory(device).method,
                  torch=torch.__version__, cuda=torch.version.cuda,
                  gpu=torch.cuda.get_device_name(device)
                  if device.type == 'cuda' else None,
                  results=results, matmul=matmul)
    if args.ref is not None:
        report['ratio'] = ratios(results, modes)
    if args.grid:
        report['grid'] = {f'{a} / {b}': ratios(results, modes, a, b)
                          for a, b in GRID_RATIOS}
    print_report(report)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
        print(f'wrote {args.json}')
    return report

