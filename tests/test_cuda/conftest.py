"""Fixtures of the CUDA tier (``pytest -m cuda``, ``make test-gpu``).

The tier also runs from an installed wheel
(``mmpose_ext/.mim/tests/test_cuda``, ``python -m mmpose_ext verify_gpu``)
without the checkout's ``tests/conftest.py`` and ``pyproject.toml``: it
registers its marker and sets MMPose's default scope itself.
"""
import pytest
import torch
from mmengine.registry import init_default_scope

import mmpose_ext  # noqa: F401  (registers components)
from mmpose_ext.datasets.synthetic_coco import main as make_synthetic_coco


def pytest_configure(config):
    config.addinivalue_line(
        'markers', 'cuda: the CUDA tier (pytest -m cuda, make test-gpu); '
        'skipped with a reason where CUDA is absent')


@pytest.fixture(autouse=True)
def mmpose_scope():
    """Build with MMPose's registries, whatever an earlier runner set."""
    init_default_scope('mmpose')


@pytest.fixture(autouse=True)
def fresh_dynamo():
    """Each test compiles anew (dynamo's recompile limit would otherwise
    make later tests run eagerly)."""
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


@pytest.fixture(scope='session')
def tier_coco(tmp_path_factory):
    """8 train / 4 val synthetic COCO images (128 px, 16 train persons),
    generated once per session; tests must not modify it."""
    out = tmp_path_factory.mktemp('tier_coco')
    assert make_synthetic_coco([
        '--out', str(out), '--num-train', '8', '--num-val', '4',
        '--img-size', '128', '--workers', '1'
    ]) == 0
    return out
