"""tools/analysis/benchmark_mspn.py: CrossStageMSPN against MMPose's MSPN."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_runs_and_reports_equal_parameters():
    proc = subprocess.run(
        [sys.executable, 'tools/analysis/benchmark_mspn.py', '--stages', '2',
         '--input-size', '64', '64', '--batch-size', '1', '--windows', '6',
         '--steps', '1', '--warmup', '0', '--threads', '1'],
        cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    totals = [int(m.replace(',', '')) for m in re.findall(
        r'^(?:MMPose MSPN \+ MSPNHead|CrossStageMSPN \+ '
        r'MultiStageHeatmapHead)\s+[\d,]+\s+[\d,]+\s+([\d,]+)$', out,
        re.MULTILINE)]
    assert len(totals) == 2 and totals[0] == totals[1] == 56_800_464
    diff = float(re.search(r'relative heatmap difference (\S+)', out)[1])
    assert diff < 1e-4
    assert re.search(r'throughput ratio .*: \d+\.\d+ \(ratio of the medians',
                     out)
    assert '95% confidence interval of the median per-window ratio' in out
