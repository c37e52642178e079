"""Where the time of one training or inference step goes.

``python tools/analysis/profile_step.py CONFIG [--mode train|test]
[--steps N] [--warmup N] [--batch-size N] [--threads N] [--top N]
[--kernels] [--parents OP] [--cfg-options ...]`` builds the config's
model, optimizer, synthetic batch and fast path exactly as
``tools/benchmark.py`` does (:class:`~mmpose_ext.analysis.benchmark.Bench`),
runs the warm-up steps (the compilation, with ``compile=True``), then
``torch.profiler`` over ``--steps`` steps, and prints

* the share of each kind of work in the summed self CPU time of the
  operators and its milliseconds per step (:func:`op_kind`: convolution
  forward and backward, batch norm, resampling, copies and layout
  changes, the compiled region's fused kernels, the rest), and the share
  of the optimizer step (``Optimizer.step`` in the profile, all its
  operators);
* the ``--top`` operators by self CPU time (``torch.profiler``'s table).

With ``--kernels`` each of inductor's generated CPU kernels is a
profiler event of its own (``graph_0_cpp_fused_...``, the operators it
fuses in its name) instead of being summed into its graph's
``## Call CompiledFxGraph`` entry: where a compiled step's time goes.

With ``--parents OP`` (e.g. ``aten::copy_``) the report also lists OP's
self CPU time per step by the operator that caused it and OP's first
input shape (:func:`parent_times`): the nearest enclosing operator that
is not itself a copy or layout change, so that the copy an ATen kernel
makes of its input is charged to that kernel
(``aten::upsample_bilinear2d_backward``, not ``aten::contiguous``).

Self CPU times count each operator's own time, without that of the
operators it calls, so the kinds add up to the profiled total. Profiling
adds a little overhead per operator, more to an eager step of many small
operators than to a compiled one: compare kinds within a profile, and
across profiles only where the difference is large.

Example::

    python tools/analysis/profile_step.py \\
        configs/cpn/cpn_res50_8xb64-210e_coco-256x192.py --mode train
"""
import argparse
import contextlib
import re
import time
from collections import OrderedDict, defaultdict
from typing import ContextManager, Dict, Iterable, Optional, Sequence, Tuple

import torch
from mmengine.config import DictAction
from mmengine.logging import MMLogger
from torch.profiler import ProfilerActivity, profile

from ..private_state import inductor_kernel_profile
from .benchmark import Bench

__all__ = ['KINDS', 'kernel_profile', 'main', 'op_kind', 'kind_shares',
           'parent_times', 'parse_args', 'profile_steps']

#: The kinds :func:`op_kind` sorts operators into, in report order.
KINDS = ('convolution forward', 'convolution backward', 'batch norm',
         'resampling', 'copies and layout', 'compiled kernels', 'other')

# oneDNN, the native fallbacks for small channel counts and cuDNN
_CONVOLUTION = re.compile(r'convolution|conv2d|conv_transpose|conv_depthwise'
                          r'|slow_conv')
_COPIES = ('aten::copy_', 'aten::clone', 'aten::contiguous', 'aten::to',
           'aten::_to_copy', 'aten::empty_strided', 'aten::cat',
           'aten::stack', 'aten::as_strided_')


def op_kind(name: str) -> str:
    """The kind of work (one of :data:`KINDS`) a profiled operator does,
    from its name."""
    lowered = name.lower()
    # inductor's kernels are named after the operators they fuse
    if 'cpp_fused' in lowered or 'triton' in lowered or lowered.startswith(
            ('graph_', 'torch-compiled', '## call compiledfxgraph')):
        return 'compiled kernels'
    if _CONVOLUTION.search(lowered):
        return ('convolution backward' if 'backward' in lowered else
                'convolution forward')
    if 'batch_norm' in lowered:
        return 'batch norm'
    if any(key in lowered for key in ('upsample', 'interpolate',
                                      'grid_sampler')):
        return 'resampling'
    if name in _COPIES:
        return 'copies and layout'
    return 'other'


def kind_shares(self_times: Iterable[Tuple[str, float]]) -> 'OrderedDict':
    """Share of each kind in the summed self times.

    Args:
        self_times: ``(operator name, self time)`` pairs.

    Returns:
        OrderedDict[str, float]: kind -> share in ``[0, 1]``, in the order
        of :data:`KINDS` (all kinds, 0 for those absent).

    Raises:
        ValueError: if the times sum to zero (nothing was profiled).
    """
    totals = OrderedDict((kind, 0.) for kind in KINDS)
    for name, seconds in self_times:
        totals[op_kind(name)] += seconds
    whole = sum(totals.values())
    if whole <= 0:
        raise ValueError('no operator time was profiled')
    return OrderedDict((k, v / whole) for k, v in totals.items())


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', metavar='CONFIG',
                        help='config of the model to profile')
    parser.add_argument('--mode', choices=('train', 'test'), default='train',
                        help='profile training steps or inference '
                        '(default: %(default)s)')
    parser.add_argument('--steps', type=int, default=3, metavar='N',
                        help='profiled steps (default: %(default)s)')
    parser.add_argument('--warmup', type=int, default=2, metavar='N',
                        help='steps before profiling, the compilation '
                        'included (default: %(default)s)')
    parser.add_argument('--batch-size', type=int, default=2, metavar='N',
                        help='images per step (default: %(default)s)')
    parser.add_argument('--threads', type=int, default=None, metavar='N',
                        help="torch CPU threads (default: torch's default)")
    parser.add_argument('--top', type=int, default=20, metavar='N',
                        help='operators listed (default: %(default)s)')
    parser.add_argument('--kernels', action='store_true',
                        help="name each compiled CPU kernel in the profile "
                        "(inductor's cpp.enable_kernel_profile; "
                        'compile=True)')
    parser.add_argument('--parents', metavar='OP', default=None,
                        help="also list OP's self CPU time by the operator "
                        'that called it (through copies and layout '
                        'changes) and its input shape, e.g. aten::copy_')
    parser.add_argument('--seed', type=int, default=0, metavar='N',
                        help='seed of the batch and weights (default: '
                        '%(default)s)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default={}, metavar='KEY=VALUE',
                        help='config overrides, e.g. compile=True')
    args = parser.parse_args(argv)
    if min(args.steps, args.batch_size, args.top) < 1:
        parser.error('--steps, --batch-size and --top must be >= 1')
    if args.warmup < 0:
        parser.error('--warmup must be >= 0')
    if args.threads is not None and args.threads < 1:
        parser.error('--threads must be >= 1')
    return args


def kernel_profile(enabled: bool) -> ContextManager:
    """A context in which inductor's generated CPU kernels record a
    profiler event each (``enabled``), or that changes nothing.

    The switch is private inductor state,
    ``torch._inductor.config.cpp.enable_kernel_profile`` (torch 2.14), set
    by :func:`mmpose_ext.private_state.inductor_kernel_profile`.

    Args:
        enabled (bool): Whether to set the switch.
    """
    if not enabled:
        return contextlib.nullcontext()
    return inductor_kernel_profile()


def profile_steps(bench: Bench, mode: str, steps: int, warmup: int,
                  record_shapes: bool = False) -> Tuple[profile, float]:
    """Run ``warmup`` steps, then profile ``steps`` steps of ``bench``.

    Args:
        record_shapes (bool): Record the operators' input shapes (for
            :func:`parent_times`). Defaults to False.

    Returns:
        tuple: the finished ``torch.profiler.profile`` and the wall time of
        the profiled steps in seconds.
    """
    step = bench.step(mode)
    for _ in range(warmup):
        step()
    with profile(activities=[ProfilerActivity.CPU],
                 record_shapes=record_shapes) as prof:
        start = time.perf_counter()
        for _ in range(steps):
            step()
        wall = time.perf_counter() - start
    return prof, wall


def parent_times(events, name: str,
                 steps: int = 1) -> list[tuple[str, str, float]]:
    """Self CPU time of the operator ``name`` by its caller and shape.

    The caller of an event is its nearest enclosing operator that is not
    a copy or layout change (``aten::contiguous``, ``aten::clone``, ...,
    the operators :func:`op_kind` calls "copies and layout"), or
    ``(top level)``.

    Args:
        events: ``torch.profiler.profile.events()`` of a profile (taken
            with ``record_shapes=True`` for the shapes).
        name (str): Operator name, e.g. ``'aten::copy_'``.
        steps (int): Profiled steps; times are per step. Defaults to 1.

    Returns:
        list[tuple]: ``(caller, first input shape, seconds per step)``,
        longest first; the shape is ``''`` where none was recorded.
    """
    totals = defaultdict(float)
    for event in events:
        if event.name != name:
            continue
        caller = event.cpu_parent
        while caller is not None and caller.name in _COPIES:
            caller = caller.cpu_parent
        shapes = event.input_shapes or [[]]
        shape = 'x'.join(map(str, shapes[0]))
        key = (caller.name if caller is not None else '(top level)', shape)
        totals[key] += event.self_cpu_time_total / 1e6 / steps
    return sorted(((c, s, t) for (c, s), t in totals.items()),
                  key=lambda row: -row[2])


def optimizer_seconds(events) -> float:
    """Total CPU time of the optimizer steps in a profile's averages."""
    return sum(e.cpu_time_total for e in events
               if e.key.startswith('Optimizer.step#')) / 1e6


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, object]:
    """Profile the config on the CPU; returns the report (also printed):
    ``shares`` (kind -> share), ``optimizer_share`` (training) and
    ``ms_per_step`` (wall time with the profiler on)."""
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    MMLogger.get_instance(f'profile-{time.time_ns()}', log_level='WARNING')
    with kernel_profile(args.kernels):
        bench = Bench('config', args.config, torch.device('cpu'),
                      args.batch_size, None, args.seed, args.cfg_options)
        prof, wall = profile_steps(bench, args.mode, args.steps,
                                   args.warmup, bool(args.parents))
    events = prof.key_averages()
    self_times = [(e.key, e.self_cpu_time_total / 1e6) for e in events]
    profiled = sum(t for _, t in self_times)
    report = dict(shares=kind_shares(self_times),
                  ms_per_step=wall / args.steps * 1e3)
    print(f'{args.config}\n  {bench.summary}, fast path: '
          f'{bench.fast_path_label()}, {torch.get_num_threads()} '
          f'thread(s), batch {args.batch_size}, {args.mode}, '
          f'{args.steps} profiled step(s): {report["ms_per_step"]:.1f} ms '
          'per step (wall, profiler on)')
    per_step = profiled / args.steps * 1e3
    print(f'\nshare of the operators\' summed self CPU time '
          f'({per_step:.1f} ms per step):')
    for kind, share in report['shares'].items():
        print(f'  {kind:<22} {100 * share:5.1f} %  {share * per_step:7.1f} '
              'ms')
    if args.mode == 'train':
        report['optimizer_share'] = optimizer_seconds(events) / profiled
        share = report['optimizer_share']
        print(f'  (optimizer step, all its operators: {100 * share:.1f} %, '
              f'{share * per_step:.1f} ms)')
    print()
    print(events.table(sort_by='self_cpu_time_total', row_limit=args.top,
                       max_name_column_width=100))
    if args.parents:
        rows = parent_times(prof.events(), args.parents, args.steps)
        report['parents'] = rows
        print(f'\n{args.parents}, self CPU time per step by caller and '
              'first input shape:')
        for caller, shape, seconds in rows[:args.top]:
            print(f'  {1e3 * seconds:8.2f} ms  {caller:<45} {shape}')
    return report
