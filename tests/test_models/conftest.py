"""The model tests (and every ``smoke()``, see tests/test_registry.py) run
with one intra-op thread: the root conftest's :func:`single_thread`."""
import pytest

from ..conftest import single_thread


@pytest.fixture(autouse=True)
def one_thread():
    with single_thread():
        yield
