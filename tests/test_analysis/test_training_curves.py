"""mmpose_ext.analysis.training_curves: loss and AP of an MMEngine run."""
import json
import math
import os

import cv2
import pytest

from mmpose_ext.analysis import training_curves


def write_run(work_dir, name, records):
    vis = work_dir / name / 'vis_data'
    vis.mkdir(parents=True)
    path = vis / 'scalars.json'
    path.write_text('\n'.join(json.dumps(r) for r in records))
    return path


def test_reads_the_newest_run_and_plots(tmp_path, capsys):
    old = write_run(tmp_path, '20260101_000000',
                    [dict(loss=9.0, step=1)])
    os.utime(old, (0, 0))  # older than the next one
    write_run(tmp_path, '20260102_000000', [
        dict(loss=0.5, step=10), {'coco/AP': 0.2, 'step': 1},
        dict(loss=0.25, step=20), {'coco/AP': 0.4, 'step': 2}
    ])
    train, val = training_curves.read_scalars(tmp_path)
    assert train == {'iter': [10, 20], 'loss': [0.5, 0.25]}
    assert val == {'epoch': [1, 2], 'AP': [0.2, 0.4]}

    out = training_curves.main([str(tmp_path)])
    assert out == tmp_path / 'curves.png'
    assert f'saved {out}' in capsys.readouterr().out
    image = cv2.imread(str(out))
    assert image.shape == (400, 1000, 3)  # 10 x 4 inches at 100 dpi


def test_no_run_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='no \\*/vis_data'):
        training_curves.read_scalars(tmp_path)


def test_peak_over_best_is_what_the_divergence_stop_compares():
    """Independently: the hook stops a run exactly when this ratio of the
    run's losses exceeds its factor."""
    import torch

    from mmpose_ext.engine.hooks import NonFiniteLossHook

    from ..test_engine.test_hooks.test_non_finite_loss_hook import feed
    assert math.isnan(training_curves.peak_over_best([]))
    assert training_curves.peak_over_best([1., 3.]) == 2.  # mean of 2
    assert training_curves.peak_over_best([2.] * 20 + [1.] * 20) == 1.
    gen = torch.Generator().manual_seed(1)
    for factor in (2., 3., 5.):
        losses = (torch.rand(120, generator=gen) * 4 + 0.1).tolist()
        losses[60:70] = [40.] * 10
        peak = training_curves.peak_over_best(losses)
        stopped = feed(NonFiniteLossHook(divergence_factor=factor), losses)
        assert (stopped is not None) == (peak > factor), (factor, peak)
