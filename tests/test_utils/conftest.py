"""Fixtures for the reliability utilities: a toy runner and tiny COCO data."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.registry import init_default_scope
from toy_runner import make_toy_runner

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def mmpose_scope():
    """Build with MMPose's registries: a runner built by an earlier test
    (the toy runners use MMEngine's scope) may have switched the scope."""
    init_default_scope('mmpose')


@pytest.fixture
def one_thread():
    """Tiny models run fastest (and robustly on a busy machine) on one
    thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def toy_runner():
    """The :func:`make_toy_runner` factory."""
    return make_toy_runner


@pytest.fixture(scope='session')
def tiny_coco(tmp_path_factory):
    """2 train / 1 val synthetic COCO images (128 px), read-only."""
    out = tmp_path_factory.mktemp('tiny_coco')
    subprocess.run([
        sys.executable, 'tools/make_synthetic_coco.py', '--out', str(out),
        '--num-train', '2', '--num-val', '1', '--img-size', '128',
        '--workers', '1'
    ], cwd=ROOT, check=True, capture_output=True)
    return out
