"""mmpose_ext.engine.worker_lifetime: a training killed with SIGKILL leaves
no DataLoader worker behind."""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mmpose_ext.engine import worker_lifetime

from ..test_apis.tool_runs import RES18, ROOT, data_options


def live_processes(pgid: int):
    """PIDs of the process group that are not zombies (a zombie holds no
    memory; PID 1 reaps it)."""
    found = []
    for entry in Path('/proc').iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / 'stat').read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(')') + 2:].split()
        state, group = fields[0], int(fields[2])
        if group == pgid and state not in ('Z', 'X'):
            found.append(int(entry.name))
    return found


def test_registered_by_the_import():
    assert worker_lifetime.kill_forked_children_with_parent()


@pytest.mark.slow
def test_sigkilled_training_leaves_no_worker(tmp_path):
    """The config's own loaders (batch 32, two persistent workers) on 300
    images: killed at its third iteration, without the at-fork handler
    (``MMPOSE_EXT_KEEP_ORPHANS=1``) both workers were still alive 20 s
    later; with it, none is after 10 s."""
    from mmpose_ext.datasets.synthetic_coco import main as make_data
    data = tmp_path / 'data'
    assert make_data(['--out', str(data), '--num-train', '300',
                      '--num-val', '4', '--img-size', '128',
                      '--workers', '1']) == 0
    log_path = tmp_path / 'train.log'
    options = [o for o in data_options(data) if not o.startswith(
        'train_dataloader.') or '.dataset.data_root=' in o]
    with open(log_path, 'w') as log:
        proc = subprocess.Popen(
            [sys.executable, 'tools/train.py', RES18, '--work-dir',
             str(tmp_path / 'work'), '--cfg-options', *options,
             'train_cfg.max_epochs=1000'],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            env=dict(os.environ, OMP_NUM_THREADS='1'),
            start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not re.search(r'Epoch\(train\) *\[ *1\]\[ *3/',
                            log_path.read_text()):
            assert proc.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, 'training did not start'
            time.sleep(0.5)
        workers = [p for p in live_processes(proc.pid) if p != proc.pid]
        assert len(workers) >= 2, workers  # the two DataLoader workers
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while live_processes(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert live_processes(proc.pid) == []
    finally:
        for pid in live_processes(proc.pid):
            os.kill(pid, signal.SIGKILL)
