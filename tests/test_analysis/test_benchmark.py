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
