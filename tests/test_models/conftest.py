"""Thread policy of the model tests (and of every ``smoke()``, see
tests/test_registry.py): one intra-op thread. The models here are small and
overhead-bound; a second thread does not speed them up, and on a 2-core
machine shared with other jobs it slows them down several times."""
import contextlib

import pytest
import torch


@contextlib.contextmanager
def single_thread():
    """Run the block with one torch thread, restoring the count after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def one_thread():
    with single_thread():
        yield
