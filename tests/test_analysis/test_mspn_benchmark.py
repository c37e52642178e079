"""mmpose_ext.analysis.mspn_benchmark: CrossStageMSPN against MMPose's
MSPN."""
import re

import pytest
import torch

from mmpose_ext.analysis import mspn_benchmark


@pytest.mark.slow
def test_runs_and_reports_equal_parameters(capsys, one_thread):
    report = mspn_benchmark.main([
        '--stages', '2', '--input-size', '64', '64', '--batch-size', '1',
        '--windows', '6', '--steps', '1', '--warmup', '0', '--threads', '1'
    ])
    out = capsys.readouterr().out
    totals = [int(m.replace(',', '')) for m in re.findall(
        r'^(?:MMPose MSPN \+ MSPNHead|CrossStageMSPN \+ '
        r'MultiStageHeatmapHead)\s+[\d,]+\s+[\d,]+\s+([\d,]+)$', out,
        re.MULTILINE)]
    assert len(totals) == 2 and totals[0] == totals[1] == 56_800_464
    assert report['params']['MMPose MSPN + MSPNHead'] == 56_800_464
    diff = float(re.search(r'relative heatmap difference (\S+)', out)[1])
    assert diff < 1e-4 and report['relative_heatmap_difference'] < 1e-4
    assert re.search(r'throughput ratio .*: \d+\.\d+ \(ratio of the medians',
                     out)
    assert '95% confidence interval of the median per-window ratio' in out
    assert report['median_window_ratio_95ci'] is not None


def test_data_samples_layouts():
    """Targets ``[B, L, K, H, W]`` packed for either head's loss."""
    targets = torch.rand(2, 3, 5, 8, 6)
    ours = mspn_benchmark.data_samples(targets, mmpose_layout=False)
    theirs = mspn_benchmark.data_samples(targets, mmpose_layout=True)
    assert len(ours) == len(theirs) == 2
    assert tuple(ours[0].gt_fields.heatmaps.shape) == (15, 8, 6)
    assert tuple(ours[0].gt_instance_labels.keypoint_weights.shape) == (
        1, 3, 5)
    assert len(theirs[0].gt_fields.heatmaps) == 3
    assert tuple(theirs[0].gt_instance_labels.keypoint_weights.shape) == (
        3, 1, 5)
    assert torch.equal(ours[1].gt_fields.heatmaps.reshape(3, 5, 8, 6),
                       torch.stack(list(theirs[1].gt_fields.heatmaps)))
