"""tools/install.sh stops early, naming the shortfall, on a full disk."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_install_refuses_a_disk_without_room_for_torch(tmp_path):
    venv = tmp_path / 'venv'
    env = dict(os.environ, VENV=str(venv), PYTHON=sys.executable,
               INSTALL_NEED_MB=str(10**12))
    proc = subprocess.run(['bash', str(ROOT / 'tools' / 'install.sh')],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert f'{venv} has' in proc.stderr
    assert 'MB free; installing torch needs about' in proc.stderr
    # nothing was installed into the new venv
    assert not list(venv.glob('lib/python*/site-packages/torch'))
