"""mmpose_ext.analysis.codec_benchmark: MultiLevelHeatmap against L passes
of MMPose's MegviiHeatmap."""
from mmpose_ext.analysis import codec_benchmark


def test_targets_agree_and_both_are_timed(capsys):
    report = codec_benchmark.main(['--repeat', '3', '--warmup', '0'])
    # same Gaussians, peak 255: float32 rounding apart
    assert report['max_abs_diff'] < 1e-3
    assert report['multi_level_s'] > 0 and report['megvii_s'] > 0
    out = capsys.readouterr().out
    assert 'max |difference| of the targets' in out
    assert 'MegviiHeatmap (5 passes)' in out and 'speed-up:' in out
