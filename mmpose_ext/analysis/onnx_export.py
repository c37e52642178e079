"""Export a pose model's heatmap outputs to ONNX and check them.

``python tools/export_onnx.py CONFIG CHECKPOINT [--out model.onnx]
[--input-shape H W] [--opset N]`` loads the model
(``mmpose_ext.apis.init_model``: weights-only, a checkpoint that does not
fit is refused, the config's channels-last switch applies) and exports
its ``tensor``-mode forward (backbone, neck and head, no flip test and no
decoding) with PyTorch's TorchScript-based exporter
(``torch.onnx.export(..., dynamo=False)``).

* Input ``input``: ``[B, 3, H, W]`` float32, the image as the config's
  data preprocessor gives it (RGB or BGR as its ``bgr_to_rgb``, minus
  ``mean``, divided by ``std``; stored in the file's metadata).
* Outputs: every heatmap the head returns, depth first, named by the
  head's ``output_names()`` (this package's heads: e.g. ``stage{s}_unit{u}``
  for ``MultiStageHeatmapHead``, ``global{i}`` and ``refine`` for
  ``CPNHead``); for heads without that method, ``heatmaps`` for a single
  output (MMPose's ``HeatmapHead``) and ``output_{i}`` otherwise. The last
  output is the one MMPose decodes keypoints from (metadata
  ``final_output``).

The exported file is then run with onnxruntime (CPU) on a random input and
compared with PyTorch: the largest absolute difference of each output is
printed, and the tool exits with status 1 if any reaches ``--tolerance``
(1e-4) times ``max(1, largest |value| of that output)``: an absolute
tolerance for heatmaps in [0, 1], a relative one for larger outputs such as
MSPN's peak-255 heatmaps, where float32 rounding alone reaches 1e-4.
Finally the median latency of ``--runs`` runs of onnxruntime and of
PyTorch (on ``--device``) is printed.

Example::

    python tools/export_onnx.py configs/mca_hourglass_coco.py mca.pth \
        --out mca.onnx --opset 17
"""
import argparse
import copy
import json
import pickle
import statistics
import time
import warnings
from contextlib import nullcontext
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.logging import MMLogger
from torch import Tensor, nn

from ..apis.inference import init_model
from ..engine.checkpoint_allowlist import (
    explain_refused_checkpoint,
    trust_checkpoint_pickles,
)
from ..engine.checkpoint_fit import CheckpointMismatchError
from .config_summary import config_input_size
from .tensor_forward import TensorForward, flatten_outputs

__all__ = [
    'add_metadata', 'compare', 'export', 'float64_errors', 'main',
    'median_latency', 'output_names', 'parse_args'
]


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        epilog='Needs the onnx and onnxruntime packages '
        '(requirements/tests.txt).')
    parser.add_argument('config', metavar='CONFIG', help='pose model config')
    parser.add_argument('checkpoint', metavar='CHECKPOINT',
                        help='pose model checkpoint')
    parser.add_argument('--out', type=Path, default=None, metavar='PATH',
                        help='ONNX file to write (default: the checkpoint '
                        'path with the suffix .onnx)')
    parser.add_argument('--input-shape', type=int, nargs=2, default=None,
                        metavar=('H', 'W'),
                        help='input height and width (default: the '
                        'config\'s input size)')
    parser.add_argument('--opset', type=int, default=17, metavar='N',
                        help='ONNX opset version (default: %(default)s)')
    parser.add_argument('--batch-size', type=int, default=1, metavar='N',
                        help='batch size of the exported input and of the '
                        'checks (default: %(default)s)')
    parser.add_argument('--dynamic-batch', action='store_true',
                        help='export the batch axis as dynamic (the check '
                        'then also runs batch size + 1)')
    parser.add_argument('--tolerance', type=float, default=1e-4,
                        metavar='TOL',
                        help='largest allowed difference between '
                        'onnxruntime and PyTorch, absolute for outputs '
                        'within [-1, 1], relative to the largest |value| '
                        'of larger outputs (default: %(default)s)')
    parser.add_argument('--runs', type=int, default=20, metavar='N',
                        help='timed runs per runtime for the latency '
                        '(default: %(default)s)')
    parser.add_argument('--warmup', type=int, default=3, metavar='N',
                        help='untimed runs before timing (default: '
                        '%(default)s)')
    parser.add_argument('--threads', type=int, default=None, metavar='N',
                        help='CPU threads of PyTorch and onnxruntime '
                        '(default: PyTorch\'s thread count for both)')
    parser.add_argument('--device', default=None, metavar='DEV',
                        help='device of the PyTorch latency run (default: '
                        'cuda if available, else cpu); export and check '
                        'run on the CPU')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default=None, metavar='KEY=VALUE',
                        help='override settings of the config')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='load the checkpoint with full unpickling '
                        '(only for files from a trusted source)')
    args = parser.parse_args(argv)
    if args.batch_size < 1 or args.runs < 1 or args.warmup < 0:
        parser.error('--batch-size and --runs must be >= 1, --warmup >= 0')
    return args


# ------------------------------------------------------------- outputs
def output_names(head: nn.Module, outputs: Any) -> List[str]:
    """Names of the ONNX outputs: one per tensor of ``outputs``, depth first.

    ``head.output_names()`` where the head has that method (the heads of
    this package do); otherwise ``heatmaps`` for a single tensor, else
    ``output_{i}`` for the ``i``-th tensor.

    Args:
        head (nn.Module): The model's head.
        outputs (Tensor | Sequence): The output of its forward.

    Returns:
        list[str]: The names.

    Raises:
        ValueError: if the head names another number of tensors than its
            forward returns, or the same name twice.
    """
    tensors = flatten_outputs(outputs)
    if hasattr(head, 'output_names'):
        names = list(head.output_names())
    elif isinstance(outputs, Tensor):
        names = ['heatmaps']
    else:
        names = [f'output_{i}' for i in range(len(tensors))]
    if len(names) != len(tensors):
        raise ValueError(
            f'{type(head).__name__}.output_names() gives {len(names)} names '
            f'{names}, but its forward returns {len(tensors)} tensors')
    if len(set(names)) != len(names):
        raise ValueError(f'{type(head).__name__}.output_names() repeats a '
                         f'name: {names}')
    return names


# -------------------------------------------------------------- export
def export(model: nn.Module, inputs: Tensor, out: Path, names: List[str],
           opset: int, dynamic_batch: bool) -> None:
    """Write ``model``'s flattened heatmap outputs to ``out``."""
    wrapper = TensorForward(model, flatten=True).eval()
    dynamic_axes = None
    if dynamic_batch:
        dynamic_axes = {n: {0: 'batch'} for n in ['input'] + names}
    out.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # the legacy exporter's deprecation notice and tracer warnings
        # about shapes read as Python numbers (fixed for a fixed input)
        warnings.simplefilter('ignore', DeprecationWarning)
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        torch.onnx.export(
            wrapper, (inputs, ), str(out), dynamo=False,
            opset_version=opset, input_names=['input'],
            output_names=names, dynamic_axes=dynamic_axes,
            do_constant_folding=True)


def add_metadata(path: Path, meta: dict) -> None:
    """Store ``meta`` (JSON-encoded values) in the file and check it."""
    import onnx
    model = onnx.load(str(path))
    for key, value in meta.items():
        prop = model.metadata_props.add()
        prop.key = key
        prop.value = value if isinstance(value, str) else json.dumps(value)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def ort_session(path: Path, threads: Optional[int]):
    import onnxruntime as ort
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options,
                                providers=['CPUExecutionProvider'])


def compare(session, wrapper: nn.Module, inputs: Tensor,
            names: List[str]) -> List[dict]:
    """Per output: shape and largest |onnxruntime - PyTorch| and |value|.
    """
    with torch.no_grad():
        expected = [t.numpy() for t in wrapper(inputs)]
    got = session.run(names, {'input': inputs.numpy()})
    rows = []
    for name, a, b in zip(names, expected, got):
        if a.shape != b.shape:
            raise RuntimeError(f'output {name}: onnxruntime shape '
                               f'{b.shape} != PyTorch shape {a.shape}')
        diff, value = float(np.abs(a - b).max()), float(np.abs(a).max())
        rows.append(dict(name=name, shape=list(a.shape), max_abs_diff=diff,
                         max_abs_value=value,
                         checked_diff=diff / max(1.0, value)))
    return rows


def float64_errors(session, wrapper: nn.Module, inputs: Tensor,
                   names: List[str]) -> Tuple[float, float]:
    """Largest |difference| of PyTorch float32 and of onnxruntime from
    PyTorch in float64 (relative as in :func:`compare`)."""
    model64 = copy.deepcopy(wrapper).cpu().double()
    with torch.no_grad():
        ref = [t.numpy() for t in model64(inputs.double())]
        ours = [t.numpy() for t in wrapper.cpu()(inputs)]
    got = session.run(names, {'input': inputs.numpy()})

    def worst(outputs):
        return max(float(np.abs(a - r).max()) / max(1.0, float(
            np.abs(r).max())) for a, r in zip(outputs, ref))

    return worst(ours), worst(got)


def median_latency(fn, runs: int, warmup: int) -> float:
    """Median seconds of ``fn()`` over ``runs`` after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Export, check and time; returns the report.

    Raises:
        SystemExit: status 1 when outputs differ by ``--tolerance`` or
            more (see the module docstring), or the checkpoint is missing
            or refused.
    """
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    threads = args.threads or torch.get_num_threads()
    MMLogger.get_instance(f'export_onnx-{time.time_ns()}',
                         log_level='WARNING')
    if not Path(args.checkpoint).is_file():
        raise SystemExit(f'error: checkpoint {args.checkpoint} does not '
                         'exist')
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as err:
        raise SystemExit(f'error: {err}: install onnx and onnxruntime '
                         '(pip install -c requirements/constraints.txt -r '
                         'requirements/tests.txt)')
    try:
        with explain_refused_checkpoint(args.checkpoint), (
                trust_checkpoint_pickles() if args.trust_checkpoint else
                nullcontext()):
            # the config's channels-last switch applies; compiling is
            # off (the exporter traces the eager modules)
            model = init_model(args.config, args.checkpoint, device='cpu',
                               cfg_options=dict(args.cfg_options or {},
                                                compile=None))
    except (pickle.UnpicklingError, CheckpointMismatchError) as err:
        raise SystemExit(f'error: {err}')
    model.eval()
    if args.input_shape is None:
        w, h = config_input_size(model.cfg)
    else:
        h, w = args.input_shape
    out = args.out or Path(args.checkpoint).with_suffix('.onnx')

    torch.manual_seed(0)
    inputs = torch.randn(args.batch_size, 3, h, w)
    with torch.no_grad():
        names = output_names(model.head, TensorForward(model)(inputs))
    export(model, inputs, out, names, args.opset, args.dynamic_batch)
    preprocessor = model.cfg.model.get('data_preprocessor', {})
    add_metadata(out, dict(
        config=str(args.config), input_size_hw=[h, w],
        mean=list(preprocessor.get('mean', [])),
        std=list(preprocessor.get('std', [])),
        bgr_to_rgb=bool(preprocessor.get('bgr_to_rgb', False)),
        output_names=names, final_output=names[-1],
        keypoint_names=[
            model.dataset_meta['keypoint_id2name'][k]
            for k in range(model.dataset_meta['num_keypoints'])
        ],
        flip_indices=list(model.dataset_meta.get('flip_indices', []))))
    print(f'exported {out} ({out.stat().st_size / 2**20:.1f} MB, opset '
          f'{args.opset}): input [{args.batch_size}, 3, {h}, {w}], '
          f'{len(names)} output(s)')

    session = ort_session(out, threads)
    wrapper = TensorForward(model, flatten=True).eval()
    rows = compare(session, wrapper, inputs, names)
    if args.dynamic_batch:
        rows += [dict(r, name=f'{r["name"]} (batch {args.batch_size + 1})')
                 for r in compare(session, wrapper,
                                  torch.randn(args.batch_size + 1, 3, h, w),
                                  names)]
    width = max(len(r['name']) for r in rows)
    print(f'{"output":{width}s} {"shape":>20s} {"max|ORT-PT|":>12s} '
          f'{"max|PT|":>10s} {"checked":>9s}')
    for r in rows:
        print(f'{r["name"]:{width}s} {str(r["shape"]):>20s} '
              f'{r["max_abs_diff"]:12.2e} {r["max_abs_value"]:10.3g} '
              f'{r["checked_diff"]:9.2e}')
    max_diff = max(r['max_abs_diff'] for r in rows)
    checked = max(r['checked_diff'] for r in rows)
    print(f'max abs difference onnxruntime vs PyTorch: {max_diff:.2e}; '
          f'checked (/ max(1, max|PT|)): {checked:.2e} < tolerance '
          f'{args.tolerance:g}: {"yes" if checked < args.tolerance else "NO"}'
          )

    device = torch.device(args.device or (
        'cuda' if torch.cuda.is_available() else 'cpu'))
    feed = {'input': inputs.numpy()}
    ort_s = median_latency(lambda: session.run(names, feed), args.runs,
                           args.warmup)
    torch_model = wrapper.to(device)
    torch_inputs = inputs.to(device)

    def torch_run():
        with torch.no_grad():
            torch_model(torch_inputs)
        if device.type == 'cuda':
            torch.cuda.synchronize(device)

    torch_s = median_latency(torch_run, args.runs, args.warmup)
    print(f'latency, batch {args.batch_size}, median of {args.runs} runs: '
          f'onnxruntime (CPU, {threads} thread(s)) {ort_s * 1e3:.2f} ms, '
          f'PyTorch ({device}, {threads} thread(s)) {torch_s * 1e3:.2f} ms')
    report = dict(onnx=str(out), outputs=rows, max_abs_diff=max_diff,
                  checked_diff=checked,
                  onnxruntime_ms=ort_s * 1e3, pytorch_ms=torch_s * 1e3,
                  pytorch_device=str(device), threads=threads,
                  channels_last=any(
                      m.weight.is_contiguous(memory_format=torch.channels_last)
                      and not m.weight.is_contiguous()
                      for m in model.modules()
                      if isinstance(m, nn.Conv2d) and m.weight.ndim == 4))
    if not checked < args.tolerance:
        pt32, ort32 = float64_errors(session, wrapper, inputs, names)
        report.update(pytorch_vs_float64=pt32, onnxruntime_vs_float64=ort32)
        print(f'float64 PyTorch as the reference: PyTorch float32 differs '
              f'by {pt32:.2e}, onnxruntime by {ort32:.2e} (if these are '
              'alike, the difference is float32 rounding in a badly '
              'conditioned model, e.g. untrained weights, rather than an '
              'export error)')
        raise SystemExit(f'error: onnxruntime and PyTorch outputs differ by '
                         f'{checked:.2e} >= {args.tolerance:g} (max abs '
                         f'difference {max_diff:.2e})')
    return report

