"""FastPathHook through the package's tools/train.py: compiled training
gives the eager losses; channels-last from the config."""
import json

import pytest

from mmpose_ext.engine import FastPathHook

from ...test_apis.tool_runs import (
    RES18,
    ROOT,
    TINY,
    data_options,
    run_train_in_process,
)


def scalar_rows(work_dir):
    scalars = sorted(work_dir.glob('2*/vis_data/scalars.json'))[-1]
    return [json.loads(line) for line in scalars.read_text().splitlines()]


def losses(work_dir):
    return [r['loss'] for r in scalar_rows(work_dir) if 'loss' in r]


def val_metrics(work_dir):
    return [{k: v for k, v in r.items() if k.startswith('coco/')}
            for r in scalar_rows(work_dir) if 'coco/AP' in r]


def log_text(work_dir):
    # MMEngine's loggers are named globals (experiment name + timestamp to
    # the second): in-process runs name their experiments, or a run that
    # starts within the second of the previous one logs into its file
    return sorted(work_dir.glob('2*/2*.log'))[-1].read_text()


@pytest.mark.slow
def test_compiled_training_matches_eager(synthetic_coco, tmp_path,
                                         monkeypatch):
    """``--cfg-options compile=True``: the network is compiled (not
    MMEngine's train_step), trains every iteration and validates through
    the compiled network, and the losses of an epoch equal the eager ones
    to float tolerance; so do the losses with the configs' default
    channels-last weights. (The validation's CocoMetric is compared too,
    but this tiny model scores 0 AP after one epoch either way: that the
    compiled predictions equal the eager ones is
    ``test_compiled_inference_matches_eager`` in
    tests/test_engine/test_fast_path.py.)"""
    train_only = [o for o in data_options(synthetic_coco)
                  if not o.startswith(('val_', 'test_'))]
    validate = [*data_options(synthetic_coco), 'train_cfg.val_interval=1']
    runs, metrics = {}, {}
    first = 'default_hooks.fast_path.channels_last=False'
    for name, flags, extra in (
            ('eager', [], [first, *validate]),
            ('compiled', [], [first, 'compile=True', *validate]),
            ('channels_last', ['--no-validate'], train_only)):
        work_dir = tmp_path / name
        run_train_in_process(
            monkeypatch, ROOT / RES18, *flags, '--work-dir', work_dir,
            '--cfg-options', 'train_cfg.max_epochs=1',
            f'visualizer.name=fast_path_{name}',
            f'experiment_name=fast_path_{name}', *TINY[RES18], *extra)
        runs[name] = losses(work_dir)
        metrics[name] = val_metrics(work_dir)
        if name == 'compiled':
            assert 'FastPathHook: compiled ResNet, HeatmapHead with ' \
                "torch.compile({'dynamic': False})" in log_text(work_dir)
        if name == 'channels_last':
            assert 'FastPathHook: channels-last weights' in log_text(
                work_dir)
    assert len(runs['eager']) == 4
    for name in ('compiled', 'channels_last'):
        assert runs[name] == pytest.approx(runs['eager'], rel=1e-3), name
    assert len(metrics['eager']) == len(metrics['compiled']) == 1
    assert len(metrics['eager'][0]) >= 5  # AP, AP .5, AP .75, AR, ...
    assert metrics['compiled'][0] == pytest.approx(metrics['eager'][0],
                                                   abs=1e-3)


@pytest.mark.slow
def test_compiled_mixed_precision_training_matches_eager(
        synthetic_coco, tmp_path, monkeypatch):
    """``compile=True`` with bfloat16 AMP (``CpuAmpOptimWrapper``, as in
    ``make demo``'s config): the autocast block traces inside the compiled
    backbone (autocast entered in a forward pre-hook and left in a forward
    hook did not: dynamo raised on ``AutocastModeVariable``), and the
    losses follow the eager bfloat16 ones to bfloat16 tolerance."""
    train_only = [o for o in data_options(synthetic_coco)
                  if not o.startswith(('val_', 'test_'))]
    runs = {}
    for name, extra in (('eager', []), ('compiled', ['compile=True'])):
        work_dir = tmp_path / name
        run_train_in_process(
            monkeypatch, ROOT / RES18, '--no-validate', '--work-dir',
            work_dir, '--cfg-options', 'train_cfg.max_epochs=1',
            'optim_wrapper.type=AmpOptimWrapper',
            f'visualizer.name=fast_path_amp_{name}',
            f'experiment_name=fast_path_amp_{name}', *train_only,
            *TINY[RES18], *extra)
        runs[name] = losses(work_dir)
        assert 'bfloat16 autocast' in log_text(work_dir)
    assert len(runs['eager']) == 4
    assert runs['compiled'] == pytest.approx(runs['eager'], rel=2e-2)


def test_channels_last_must_be_a_bool():
    with pytest.raises(TypeError, match='channels_last'):
        FastPathHook(channels_last=1)


def smoke():
    assert FastPathHook().channels_last is False
