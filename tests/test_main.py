"""``python -m mmpose_ext TOOL``: the package's tools without a checkout
path (an installed wheel runs them the same way:
tests/test_installed_wheel.py)."""
import subprocess
import sys

import pytest

from mmpose_ext.__main__ import main


def test_lists_tools(capsys):
    main(['--list'])
    out = capsys.readouterr().out
    assert 'train' in out and 'analysis/model_complexity' in out


def test_unknown_tool_is_named():
    with pytest.raises(SystemExit, match='nope: no such tool'):
        main(['nope'])


@pytest.mark.slow
def test_runs_a_tool_with_its_arguments(tmp_path):
    proc = subprocess.run([
        sys.executable, '-m', 'mmpose_ext', 'analysis/model_complexity',
        'mmpose_ext::cpn/cpn_res18_synthetic-coco-128x96.py', '--help'
    ], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'usage: model_complexity.py' in proc.stdout
