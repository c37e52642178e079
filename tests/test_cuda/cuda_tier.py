"""The CUDA tier's shared pieces: the model families at small sizes, a
fixed batch, a few training steps at a given precision, the heatmaps and
flip-test keypoints of a model, and the tools run on either device.

Everything takes the device as an argument, so the ordinary (non-CUDA)
test ``test_tier_on_cpu.py`` runs the same code on the CPU. The tier is
shipped in an installed wheel (``mmpose_ext/.mim/tests/test_cuda``, found
by ``mmpose_ext.package_files.cuda_tier_dir``): it imports only the
package, MMPose and files of this folder, and finds the package's configs
and tools through :mod:`mmpose_ext.package_files`.
"""
import contextlib
import copy
import math
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.registry import init_default_scope
from mmpose.apis.inference import dataset_meta_from_config
from mmpose.registry import MODELS

from mmpose_ext.apis import run_mmpose_tool
from mmpose_ext.engine.optim_wrappers import CpuAmpOptimWrapper
from mmpose_ext.models.utils import flatten_outputs
from mmpose_ext.package_files import config_path, tool_path
from mmpose_ext.testing import config_topdown_batch

#: Skips a test where CUDA is absent; with the ``cuda`` marker on every
#: test of the tier (``pytestmark = CUDA_TIER`` in each file).
requires_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason=f'CUDA is not available (torch {torch.__version__}, built with '
    f'CUDA {torch.version.cuda}): the CUDA tier runs on a GPU machine '
    '(make test-gpu, python -m mmpose_ext verify_gpu)')
CUDA_TIER = [pytest.mark.cuda, requires_cuda]

#: family -> the package's synthetic config (COCO layout, 128x96 input).
FAMILIES: Dict[str, str] = {
    'mca_hourglass': 'synthetic/mca_hourglass_synthetic-coco-128x96.py',
    'hourglass': 'hourglass/td-hm_res-hourglass_synthetic-coco-128x96.py',
    'soft_gated': 'soft_gated/td-hm_sg-hourglass_synthetic-coco-128x96.py',
    'cpn': 'cpn/cpn_res18_synthetic-coco-128x96.py',
    'mspn': 'mspn/mspn50-2stage_synthetic-coco-128x96.py',
    'hrnet': 'hrnet/td-hm_hrnet-w32_ohkm_synthetic-coco-128x96.py',
}
#: Narrow MCA hourglass of the CPU check (milliseconds per step).
TINY_MCA = {'model.backbone.feat_channels': 16,
            'model.backbone.stem_block_channels': ((8, ), (16, 16))}
#: Precisions of the training check: the optimizer wrapper of each.
PRECISIONS = ('fp32', 'fp16', 'bf16')
#: Heatmaps of the same weights on two devices: largest |difference| over
#: the largest |heatmap| (TF32 off, float32 on both).
HEATMAP_RTOL = 1e-4
#: Losses of the compiled (channels-last) model against eager ones.
COMPILE_RTOL = 1e-3


def family_config(family: str,
                  cfg_options: Optional[dict] = None) -> Config:
    """A family's config with overrides merged.

    Args:
        family (str): A key of :data:`FAMILIES`.
        cfg_options (dict, optional): ``--cfg-options`` style overrides.
    """
    if family not in FAMILIES:
        raise ValueError(f'unknown family {family!r}; the families are '
                         f'{sorted(FAMILIES)}')
    cfg = Config.fromfile(str(config_path(FAMILIES[family])))
    if cfg_options:
        cfg.merge_from_dict(copy.deepcopy(cfg_options))
    return cfg


def build_model(cfg: Config, device, seed: int = 0) -> torch.nn.Module:
    """The config's pose estimator, initialised with ``seed``, in train
    mode on ``device``, with the dataset meta of its training set."""
    init_default_scope('mmpose')
    torch.manual_seed(seed)
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.init_weights()
    model.dataset_meta = dataset_meta_from_config(cfg, 'train')
    return model.to(device).train()


def fixed_batch(cfg: Config, batch_size: int = 8, seed: int = 0) -> dict:
    """A batch with the config's training targets at its input size
    (:func:`mmpose_ext.testing.config_topdown_batch`), on the CPU: the
    model's data preprocessor moves it to the model's device."""
    codec = next(t['encoder'] for t in cfg.train_dataloader.dataset.pipeline
                 if t['type'] == 'GenerateTarget')
    first = codec[0] if isinstance(codec, (list, tuple)) else codec
    return config_topdown_batch(cfg, first['input_size'], batch_size,
                                dataset_meta_from_config(cfg, 'train'), seed)


def optim_wrapper(model: torch.nn.Module, precision: str,
                  lr: float = 1e-3) -> OptimWrapper:
    """Adam in a wrapper for a precision of :data:`PRECISIONS`: MMEngine's
    ``OptimWrapper`` (fp32), MMEngine's ``AmpOptimWrapper`` with float16
    and dynamic loss scaling (fp16, what ``tools/train.py --amp`` builds on
    a GPU), or the package's ``CpuAmpOptimWrapper`` (bf16: backbone and
    neck under bfloat16 autocast of the model's device, head and loss in
    float32; ``AmpOptimWrapper(dtype='bfloat16')`` autocasts the head too,
    whose loss fails in MMPose's ``to_numpy`` of a bfloat16 tensor)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    if precision == 'fp32':
        return OptimWrapper(optimizer)
    if precision == 'fp16':
        return AmpOptimWrapper(optimizer=optimizer, loss_scale='dynamic',
                               dtype='float16')
    if precision == 'bf16':
        return CpuAmpOptimWrapper(optimizer=optimizer, native_only=False)
    raise ValueError(f'precision must be one of {PRECISIONS}, got '
                     f'{precision!r}')


def train_losses(model: torch.nn.Module, batch: dict,
                 wrapper: OptimWrapper, steps: int) -> List[float]:
    """``model.train_step`` on the same batch ``steps`` times; the total
    loss of each step (before its update)."""
    model.train()
    return [float(torch.as_tensor(model.train_step(batch, wrapper)['loss'])
                  .detach()) for _ in range(steps)]


def assert_learns(losses: Sequence[float], what: str) -> None:
    """Every loss finite and the last below the first."""
    assert all(math.isfinite(v) for v in losses), f'{what}: {losses}'
    assert losses[-1] < losses[0], f'{what}: loss did not go down {losses}'


@contextlib.contextmanager
def no_tf32() -> Iterator[None]:
    """float32 convolutions and matmuls in full precision on CUDA."""
    saved = (torch.backends.cudnn.allow_tf32,
             torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        (torch.backends.cudnn.allow_tf32,
         torch.backends.cuda.matmul.allow_tf32) = saved


def heatmaps(model: torch.nn.Module, batch: dict) -> torch.Tensor:
    """Every output of the network in eval mode (``mode='tensor'``),
    flattened and concatenated, on the CPU."""
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(batch, False)
        out = model(data['inputs'], data['data_samples'], mode='tensor')
    return torch.cat([t.float().flatten().cpu()
                      for t in flatten_outputs(out)])


def predicted_keypoints(model: torch.nn.Module, batch: dict) -> np.ndarray:
    """``model.test_step`` (the config's test settings: flip test and
    decoding) keypoints ``[B, K, 2]`` in image coordinates."""
    model.eval()
    with torch.no_grad():
        samples = model.test_step(batch)
    return np.stack([s.pred_instances.keypoints[0] for s in samples])


def relative_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a - b| / max |b|."""
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-12))


def copy_to(model: torch.nn.Module, device) -> torch.nn.Module:
    """A copy of the model with the same weights on ``device``."""
    return copy.deepcopy(model).to(device)


# ----------------------------------------------------------------- tools
def data_options(root: Path, batch_size: int = 4) -> List[str]:
    """``--cfg-options`` pointing a synthetic config at the data set in
    ``root`` (as ``tests/test_apis/tool_runs.py``; the tier does not
    import the CPU tests, which an installed wheel does not carry)."""
    val_ann = f'{root}/annotations/person_keypoints_val.json'
    options = [f'val_evaluator.ann_file={val_ann}',
               f'test_evaluator.ann_file={val_ann}',
               'default_hooks.logger.interval=1']
    for split in ('train', 'val', 'test'):
        prefix = f'{split}_dataloader'
        options += [
            f'{prefix}.dataset.data_root={root}',
            f'{prefix}.batch_size={batch_size}',
            f'{prefix}.num_workers=0', f'{prefix}.persistent_workers=False'
        ]
    return options


def train_only(options: Sequence[str]) -> List[str]:
    """``options`` without the val / test keys (``--no-validate``)."""
    return [o for o in options if not o.startswith(('val_', 'test_'))]


def run_tool(tool: str, *args, cpu_only: bool = False,
             env: Optional[dict] = None) -> str:
    """The package's ``tools/<tool>.py`` in a subprocess; its output.

    Args:
        tool (str): ``'train'`` or ``'test'``.
        *args: Its arguments.
        cpu_only (bool): Hide every GPU (``CUDA_VISIBLE_DEVICES=''``), so
            the run is the CPU one of a machine without CUDA.
        env (dict, optional): More environment variables.
    """
    run_env = dict(os.environ, PYTHONUNBUFFERED='1', **(env or {}))
    if cpu_only:
        run_env['CUDA_VISIBLE_DEVICES'] = ''
    proc = subprocess.run(
        [sys.executable, str(tool_path(tool)), *map(str, args)],
        capture_output=True, text=True, env=run_env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'tools/{tool}.py failed:\n{out[-4000:]}'
    return out


def run_tool_in_process(tool: str, *args) -> None:
    """The package's ``tools/<tool>.py`` in this process (which sees the
    GPU): MMEngine picks CUDA when it is available."""
    saved = sys.argv
    try:
        run_mmpose_tool(tool, [str(a) for a in args])
    finally:
        sys.argv = saved


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]
