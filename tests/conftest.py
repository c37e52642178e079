"""Shared fixtures: the thread policy, a generated synthetic COCO set,
batches packed by MMPose's own top-down pipeline, and training a config's
model on one such batch."""
import contextlib
import os
from typing import Iterator, List, Optional

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

import mmpose_ext  # noqa: F401  (registers components)
from mmpose_ext.datasets.synthetic_coco import main as make_synthetic_coco
from mmpose_ext.testing import make_topdown_batch

init_default_scope('mmpose')
# The bfloat16 path is tested on every CPU, with or without native bfloat16
# (whose fallback to float32 is tested with the variable unset); tool
# subprocesses inherit it.
os.environ['MMPOSE_EXT_CPU_BF16'] = '1'


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run the block with one torch thread, restoring the count after.

    The test models are small and overhead-bound: a second thread does not
    speed them up, and on a 2-core machine shared with other jobs it slows
    them down several times.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@pytest.fixture
def one_thread():
    """The :func:`single_thread` policy for one test."""
    with single_thread():
        yield


@pytest.fixture(scope='session')
def synthetic_coco(tmp_path_factory):
    """8 train / 4 val synthetic COCO images (128 px, 16 train persons),
    generated once per session; tests must not modify it."""
    out = tmp_path_factory.mktemp('synthetic_coco')
    assert make_synthetic_coco([
        '--out', str(out), '--num-train', '8', '--num-val', '4',
        '--img-size', '128', '--workers', '1'
    ]) == 0
    return out


@pytest.fixture
def topdown_batch():
    """The :func:`make_topdown_batch` factory."""
    return make_topdown_batch


def fit_fixed_batch(config: str,
                    steps: int,
                    codec_overrides: Optional[dict] = None,
                    lr: float = 2e-3,
                    batch_size: int = 8) -> List[float]:
    """Train a config's model on one fixed batch; its ``acc_pose`` per step.

    The batch is packed by :func:`make_topdown_batch` with the encoder of
    the config's ``GenerateTarget`` step at its input size; the model is
    built from ``config`` with seed 0 and trained with Adam. A model that
    learns to localise reaches an accuracy near 1 within tens of steps; one
    stuck on predicting empty heatmaps does not, however far its loss falls.

    Args:
        config (str): Config path, relative to the repository root.
        steps (int): Optimisation steps.
        codec_overrides (dict, optional): Keys replaced in both the encoder
            and the head's decoder.
        lr (float): Adam learning rate.
        batch_size (int): Samples in the batch.

    Returns:
        list[float]: ``acc_pose`` of every step (before its update).
    """
    cfg = Config.fromfile(config)
    codec = next(t['encoder'] for t in cfg.train_dataloader.dataset.pipeline
                 if t['type'] == 'GenerateTarget')
    codec = dict(codec, **(codec_overrides or {}))
    if codec_overrides:
        cfg.model.head.decoder = dict(cfg.model.head.decoder,
                                      **codec_overrides)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    batch = model.data_preprocessor(
        make_topdown_batch(codec, input_size=codec['input_size'],
                           batch_size=batch_size), training=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    accs = []
    for _ in range(steps):
        losses = model(**batch, mode='loss')
        loss = sum(v for k, v in losses.items() if k.startswith('loss'))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        accs.append(float(losses['acc_pose']))
    return accs


@pytest.fixture
def fit_config_on_batch():
    """The :func:`fit_fixed_batch` helper."""
    return fit_fixed_batch
