"""mmpose_ext.analysis.benchmark: training/inference throughput and peak
memory."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmpose.apis.inference import dataset_meta_from_config

from mmpose_ext.analysis import benchmark, complexity
from mmpose_ext.testing import config_topdown_batch, make_topdown_batch

ROOT = Path(__file__).resolve().parents[2]
RES18 = ROOT / 'configs/synthetic/td-hm_res18_synthetic-coco-128x96.py'
MCA = ROOT / 'configs/synthetic/mca_hourglass_synthetic-coco-128x96.py'
CPN = ROOT / 'configs/cpn/cpn_res18_synthetic-coco-128x96.py'
# narrow variants, run at 64x64 (--input-shape): milliseconds per step
TINY_RES18 = f"""_base_ = ['{RES18}']
model = dict(backbone=dict(base_channels=8),
             head=dict(in_channels=64, deconv_out_channels=(16, 16, 16)))
"""
# CPN: MultiLevelHeatmap targets, OHKM loss, blur-and-shift decoding
TINY_CPN = f"""_base_ = ['{CPN}']
model = dict(backbone=dict(depth=18, base_channels=8),
             head=dict(in_channels=(8, 16, 32, 64), feat_channels=16))
"""


@pytest.mark.slow
def test_benchmark_with_reference(tmp_path, capsys, one_thread):
    config, ref = tmp_path / 'res18.py', tmp_path / 'cpn.py'
    config.write_text(TINY_RES18)
    ref.write_text(TINY_CPN)
    out = tmp_path / 'bench.json'
    report = benchmark.main([
        str(config), '--ref', str(ref), '--batch-size', '2', '--windows',
        '3', '--iters-per-window', '1', '--warmup', '1', '--mode', 'both',
        '--threads', '1', '--input-shape', '64', '64', '--json', str(out)
    ])
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    assert report['threads'] == 1 and report['device'] == 'cpu'
    for label in ('config', 'ref'):
        res = report['results'][label]
        assert res['input_size'] == [64, 64] and res['params'] > 0
        for mode in ('train', 'test'):
            r = res[mode]
            assert len(r['window_s_per_iter']) == 3
            assert all(t > 0 for t in r['window_s_per_iter'])
            assert r['images_per_s'] == pytest.approx(
                2 / sorted(r['window_s_per_iter'])[1])
            assert r['peak_memory_mb'] >= 0 and r['state_memory_mb'] > 0
    # Adam's two moments: training state is about 3x the weights
    train = report['results']['ref']['train']['state_memory_mb']
    test = report['results']['ref']['test']['state_memory_mb']
    assert train == pytest.approx(3 * test, rel=0.05)
    for mode in ('train', 'test'):
        ratio = report['ratio'][mode]
        assert ratio['throughput_ratio'] == pytest.approx(
            report['results']['config'][mode]['images_per_s'] /
            report['results']['ref'][mode]['images_per_s'])
        assert len(ratio['window_ratios']) == 3
    # efficiency: the step's FLOPs from MMEngine's counter of the forward
    # at the 64x64 input (x 2: multiply and add), x batch x 3 in training,
    # x batch x 2 flip passes in inference, against the matmul rate
    matmul = report['matmul']
    assert len(matmul['window_gflops']) == 2 * 3  # one per round and mode
    assert matmul['median_gflops'] > 0
    for label in ('config', 'ref'):
        res = report['results'][label]
        flops = complexity.measure(
            str(config if label == 'config' else ref), (64, 64),
            device='cpu')['flops']
        assert res['forward_gflop'] == pytest.approx(2 * flops / 1e9)
        for mode, passes in (('train', 3), ('test', 2)):
            r = res[mode]
            assert r['step_gflop'] == pytest.approx(
                res['forward_gflop'] * 2 * passes)
            assert r['gflops'] == pytest.approx(r['step_gflop'] /
                                                r['median_s_per_iter'])
            assert r['efficiency'] == pytest.approx(
                r['gflops'] / matmul['median_gflops'])
            assert len(r['warmup_s']) == 1
        assert res['fast_path'] == 'channels-last'  # the configs' default
    printed = capsys.readouterr().out
    assert 'train throughput ratio config / ref' in printed
    assert 'images/s' in printed and 'GFLOP/s' in printed


def test_synthetic_batch_has_codec_targets():
    """The batch exercises the real loss: the config's codec encodes
    multi-level targets (CPN: 4 levels x 17 keypoints)."""
    cfg = Config.fromfile(CPN)
    meta = dataset_meta_from_config(cfg, 'train')
    batch = config_topdown_batch(cfg, (96, 128), 2, meta)
    assert [tuple(x.shape) for x in batch['inputs']] == [(3, 128, 96)] * 2
    sample = batch['data_samples'][0]
    assert tuple(sample.gt_fields.heatmaps.shape) == (4 * 17, 32, 24)
    assert sample.metainfo['flip_indices'] == meta['flip_indices']


def test_test_mode_only(tmp_path, one_thread):
    config = tmp_path / 'mca.py'
    config.write_text(f"""_base_ = ['{MCA}']
model = dict(backbone=dict(
    feat_channels=16, stem_block_channels=((8, ), (16, 16))))
""")
    report = benchmark.main([
        str(config), '--mode', 'test', '--windows', '1', '--iters-per-window',
        '1', '--warmup', '0', '--batch-size', '1', '--threads', '1'
    ])
    res = report['results']['config']
    assert 'train' not in res and res['test']['images_per_s'] > 0
    assert res['input_size'] == [128, 96] and 'ratio' not in report


def test_fast_path_label_names_every_switch(tmp_path):
    """The fused optimizer step (PyTorch's ``fused=True``) is part of the
    printed fast path, and really selects the fused kernel."""
    config = tmp_path / 'res18.py'
    config.write_text(TINY_RES18)
    cpu = torch.device('cpu')
    plain = benchmark.Bench('config', str(config), cpu, 1, (64, 64), 0)
    fast = benchmark.Bench('config', str(config), cpu, 1, (64, 64), 0, {
        'optim_wrapper.optimizer.fused': True,
        'default_hooks.fast_path.channels_last': True})
    assert plain.fast_path_label() == 'channels-last'  # the configs' own
    assert fast.fast_path_label() == 'channels-last, fused Adam step'
    with torch.profiler.profile() as prof:
        fast.train_step()
    assert 'aten::_fused_adam_' in {e.key for e in prof.key_averages()}


def test_synthetic_batch_keypoints_inside_the_input():
    """Each sample's person box fills the crop; its keypoints lie in it."""
    cfg = Config.fromfile(RES18)
    meta = dataset_meta_from_config(cfg, 'train')
    batch = config_topdown_batch(cfg, (64, 80), 3, meta, seed=1)
    assert tuple(batch['inputs'].shape) == (3, 3, 80, 64)
    for sample in batch['data_samples']:
        assert sample.metainfo['img_shape'] == (100, 80)  # 1.25 x (h, w)
        x1, y1, x2, y2 = sample.gt_instances.bboxes[0]
        x, y = sample.gt_instances.keypoints[0].T
        assert ((x > x1) & (x < x2) & (y > y1) & (y < y2)).all()
        # no keypoint fell outside the heatmap: the weights are the labels
        np.testing.assert_array_equal(
            sample.gt_instance_labels.keypoint_weights.numpy(),
            sample.gt_instances.keypoints_visible)
    with pytest.raises(ValueError, match='num_keypoints=5 differs'):
        make_topdown_batch(None, num_keypoints=5, dataset_meta=meta)


def test_time_windows_alternate_and_synchronise_each_window():
    calls = []
    times = benchmark.time_windows(
        {'a': lambda: calls.append('a'), 'b': lambda: calls.append('b')},
        windows=3, iters=2, device=torch.device('cpu'),
        after_round=lambda: calls.append('|'))
    assert ''.join(calls) == 'aabb|bbaa|aabb|'
    assert [len(t) for t in times.values()] == [3, 3]
    assert all(t > 0 for ts in times.values() for t in ts)
    with pytest.raises(ValueError, match='windows and iters must be >= 1'):
        benchmark.time_windows({'a': lambda: None}, 0, 1,
                               torch.device('cpu'))


def test_config_labels_and_mmpose_references():
    assert benchmark.config_labels(['x/a.py']) == [('config', 'x/a.py')]
    pairs = benchmark.config_labels(['x/a.py', 'y/a.py', 'b.py'],
                                    mmpose_refs=True)
    assert [label for label, _ in pairs] == [
        'a', 'a-1', 'b', 'mmpose-hrnet-w32', 'mmpose-res50',
        'mmpose-2xmspn50'
    ]
    for _, path in pairs[3:]:  # MMPose's own configs, from its wheel
        assert Path(path).is_file(), path


def test_amp_and_fast_path_settings_apply_to_every_config(tmp_path):
    config = tmp_path / 'res18.py'
    config.write_text(TINY_RES18)
    cpu = torch.device('cpu')
    amp = benchmark.Bench('config', str(config), cpu, 1, (64, 64), 0,
                          amp=True, fast_path='off')
    # a CPU model gets the CPU wrapper even where a GPU is present
    assert type(amp.optim_wrapper).__name__ == 'CpuAmpOptimWrapper'
    assert amp.fast_path_label() == 'CpuAmpOptimWrapper bfloat16'
    assert not amp.channels_last and amp.compile is None
    head = benchmark.Bench('config', str(config), cpu, 1, (64, 64), 0,
                           fast_path='off', cfg_options={
                               'optim_wrapper.type': 'CpuAmpOptimWrapper',
                               'optim_wrapper.autocast_head': True})
    assert head.fast_path_label() == ('CpuAmpOptimWrapper bfloat16, head '
                                      'under autocast')
    compiled = benchmark.Bench('config', str(config), cpu, 1, (64, 64), 0,
                               fast_path='compile')
    assert compiled.channels_last and compiled.compile == dict(dynamic=False)
    with pytest.raises(ValueError, match='fast path must be one of'):
        benchmark.fast_path_override('fast')


def test_grid_times_four_settings_of_one_config(tmp_path, monkeypatch,
                                               one_thread):
    """``--grid``: float32 / bfloat16 x eager / compiled, channels-last,
    four models of the same weights in one process, and the five ratios,
    each the median of per-window ratios computed here again (dynamo's
    eager backend stands in for inductor to keep the test fast)."""
    override = benchmark.fast_path_override

    def eager_backend(name):
        options = override(name)
        if name == 'compile':
            options['compile'] = dict(backend='eager')
        return options

    monkeypatch.setattr(benchmark, 'fast_path_override', eager_backend)
    config = tmp_path / 'res18.py'
    config.write_text(TINY_RES18)
    report = benchmark.main([
        str(config), '--grid', '--mode', 'train', '--windows', '3',
        '--iters-per-window', '1', '--warmup', '0', '--batch-size', '1',
        '--input-shape', '64', '64', '--pipeline-images', '0'
    ])
    results = report['results']
    assert list(results) == list(benchmark.GRID)
    labels = {k: r['fast_path'] for k, r in results.items()}
    assert labels == {
        'fp32-eager': 'channels-last',
        'fp32-compiled': 'channels-last, compiled {\'dynamic\': False, '
        '\'backend\': \'eager\'}',
        'amp-eager': 'channels-last, CpuAmpOptimWrapper bfloat16',
        'amp-compiled': 'channels-last, compiled {\'dynamic\': False, '
        '\'backend\': \'eager\'}, CpuAmpOptimWrapper bfloat16'}
    assert len(report['grid']) == len(benchmark.GRID_RATIOS)
    for a, b in benchmark.GRID_RATIOS:
        r = report['grid'][f'{a} / {b}']['train']
        ta = results[a]['train']['window_s_per_iter']
        tb = results[b]['train']['window_s_per_iter']
        assert r['window_ratios'] == [y / x for x, y in zip(ta, tb)]
        assert r['median_window_ratio'] == float(np.median(
            r['window_ratios']))


def test_bad_combinations_are_named(capsys):
    with pytest.raises(SystemExit):
        benchmark.parse_args(['a.py', 'b.py', '--ref', 'c.py'])
    assert '--ref compares one CONFIG' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        benchmark.parse_args(['a.py', '--grid', '--amp'])
    assert '--grid times one CONFIG' in capsys.readouterr().err
    if not torch.cuda.is_available():
        with pytest.raises(SystemExit):
            benchmark.parse_args(['a.py', '--device', 'cuda'])
        assert 'CUDA is not available' in capsys.readouterr().err


def test_pipeline_time_of_the_dataset_or_random_images(synthetic_coco,
                                                      one_thread):
    cfg = Config.fromfile(RES18)
    cfg.train_dataloader.dataset.data_root = str(synthetic_coco)
    real = benchmark.pipeline_time(cfg, 3)
    assert real['source'] == 'dataset' and real['images'] == 3
    assert 0 < real['s_per_image'] < 5
    cfg.train_dataloader.dataset.data_root = str(synthetic_coco / 'none')
    fake = benchmark.pipeline_time(cfg, 2)
    assert fake['source'] == 'random images'
    assert 0 < fake['s_per_image'] < 5
    with pytest.raises(ValueError, match='images must be >= 1'):
        benchmark.pipeline_time(cfg, 0)
