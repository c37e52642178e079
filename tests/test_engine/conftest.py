"""Fixtures of the engine tests: a toy runner built from registered names."""
import pytest
from mmengine.registry import init_default_scope

from .toy_runner import make_toy_runner


@pytest.fixture(autouse=True)
def mmpose_scope():
    """Build with MMPose's registries, whatever an earlier runner set."""
    init_default_scope('mmpose')


@pytest.fixture
def toy_runner():
    """The :func:`make_toy_runner` factory."""
    return make_toy_runner
