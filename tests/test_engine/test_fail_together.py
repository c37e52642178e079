"""mmpose_ext.engine.fail_together in one process (the two-rank case:
test_rank0_failure_stops_every_rank in
tests/test_engine/test_hooks/test_atomic_checkpoint_hook.py)."""
import pytest

from mmpose_ext.engine.fail_together import fail_together


def test_single_process_raises_its_own_error_only():
    fail_together(None, 'doing nothing')
    error = OSError('disk full')
    with pytest.raises(OSError) as caught:
        fail_together(error, 'saving')
    assert caught.value is error
