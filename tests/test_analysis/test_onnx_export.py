"""mmpose_ext.analysis.onnx_export: every architecture exports and matches
PyTorch, under the names its head gives its outputs."""
from pathlib import Path

import onnx
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS
from torch import nn

from mmpose_ext.analysis import TensorForward, onnx_export

ROOT = Path(__file__).resolve().parents[2]
SYNTHETIC = {
    'mca': 'configs/synthetic/mca_hourglass_synthetic-coco-128x96.py',
    'cpn': 'configs/cpn/cpn_res18_synthetic-coco-128x96.py',
    'mspn': 'configs/mspn/mspn50-2stage_synthetic-coco-128x96.py',
    'hrnet': 'configs/hrnet/td-hm_hrnet-w32_ohkm_synthetic-coco-128x96.py',
    'res18': 'configs/synthetic/td-hm_res18_synthetic-coco-128x96.py',
    'sg': 'configs/soft_gated/td-hm_sg-hourglass_synthetic-coco-128x96.py',
}
# Narrow variants of the package's architectures, each keeping what makes
# it hard to export: attention (grouped convs, CRF iterations) and nearest
# upsampling in the hourglass, CPN's resize-and-concat, MSPN's cross-stage
# aggregation with bilinear upsampling, HRNet's fuse layers, OHKM-trained
# heads, MMPose's stock deconv head, and the soft-gated hourglass's gates
# and concatenating decoder.
TINY = {
    'mca': """model = dict(backbone=dict(
    feat_channels=32, stem_block_channels=((16, ), (32, 32))))""",
    'cpn': """model = dict(
    backbone=dict(depth=18, base_channels=16),
    head=dict(in_channels=(16, 32, 64, 128), feat_channels=32))""",
    'mspn': """model = dict(backbone=dict(
    depth=18, unit_channels=32, stem_channels=16, base_channels=16))""",
    'hrnet': """model = dict(
    backbone=dict(extra=dict(
        stage2=dict(num_channels=(8, 16)),
        stage3=dict(num_modules=1, num_channels=(8, 16, 32)),
        stage4=dict(num_modules=1, num_channels=(8, 16, 32, 64)))),
    head=dict(in_channels=8))""",
    'res18': """model = dict(backbone=dict(base_channels=8),
             head=dict(in_channels=64, deconv_out_channels=(16, 16, 16)))""",
    'sg': """model = dict(backbone=dict(
    feat_channels=16, stem_block_channels=((8, ), (16, 16))))""",
}
OUTPUTS = {
    'mca': ['stage0', 'stage1'],
    'cpn': ['global0', 'global1', 'global2', 'global3', 'refine'],
    'mspn': [f'stage{s}_unit{u}' for s in range(2) for u in range(4)],
    'hrnet': ['heatmaps'],
    'res18': ['heatmaps'],
    'sg': ['stage0', 'stage1'],
}

# keep MMEngine's initialisation report off the console
MMLogger.get_instance('test_onnx_export', log_level='WARNING')


def make_checkpoint(arch: str, tmp_path: Path):
    """A tiny config and a checkpoint of its randomly initialised model.

    The batch-norm statistics are estimated on random inputs first, as
    training would set them: with the initial statistics (mean 0, var 1)
    the residual stacks' activations grow to 1e6, where float32 rounding
    alone is far above the tolerance.
    """
    config = tmp_path / f'tiny_{arch}.py'
    config.write_text(f"_base_ = ['{ROOT / SYNTHETIC[arch]}']\n{TINY[arch]}\n")
    init_default_scope('mmpose')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(config).model)
    model.init_weights()
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        for _ in range(4):
            model(torch.randn(8, 3, 64, 64), None, mode='tensor')
    checkpoint = tmp_path / f'tiny_{arch}.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), checkpoint)
    return config, checkpoint


@pytest.mark.parametrize('arch', list(SYNTHETIC))
def test_export_matches_pytorch(arch, tmp_path, capsys, one_thread):
    config, checkpoint = make_checkpoint(arch, tmp_path)
    out = tmp_path / f'{arch}.onnx'
    report = onnx_export.main([
        str(config), str(checkpoint), '--out', str(out), '--input-shape',
        '64', '64', '--runs', '2', '--warmup', '1', '--threads', '1'
    ])
    # absolute for outputs within [-1, 1], else relative to max |output|
    assert report['checked_diff'] < 1e-4
    assert report['channels_last']  # the package configs' fast path
    assert [r['name'] for r in report['outputs']] == OUTPUTS[arch]
    assert report['outputs'][-1]['shape'] == [1, 17, 16, 16]
    assert report['onnxruntime_ms'] > 0 and report['pytorch_ms'] > 0
    model = onnx.load(str(out))
    assert [o.name for o in model.graph.output] == OUTPUTS[arch]
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta['final_output'] == OUTPUTS[arch][-1]
    assert meta['input_size_hw'] == '[64, 64]'
    printed = capsys.readouterr().out
    assert 'max abs difference onnxruntime vs PyTorch' in printed
    assert 'latency' in printed


@pytest.mark.parametrize('arch', ['mca', 'cpn'])
def test_channels_first_config_exports_the_same(arch, tmp_path, one_thread):
    """A config with channels-last off: the model is exported in the
    default layout and onnxruntime matches it too."""
    config, checkpoint = make_checkpoint(arch, tmp_path)
    config.write_text(config.read_text() + (
        'default_hooks = dict(fast_path=dict(channels_last=False))\n'))
    report = onnx_export.main([
        str(config), str(checkpoint), '--out', str(tmp_path / 'cf.onnx'),
        '--input-shape', '64', '64', '--runs', '1', '--warmup', '0',
        '--threads', '1'
    ])
    assert not report['channels_last']
    assert report['checked_diff'] < 1e-4
    assert [r['name'] for r in report['outputs']] == OUTPUTS[arch]


def test_dynamic_batch_and_tolerance_failure(tmp_path, one_thread):
    config, checkpoint = make_checkpoint('mca', tmp_path)
    args = [str(config), str(checkpoint), '--out', str(tmp_path / 'm.onnx'),
            '--input-shape', '64', '64', '--runs', '1', '--warmup', '0',
            '--threads', '1', '--dynamic-batch']
    report = onnx_export.main(args)
    # the batch-2 rerun of the batch-1 export matched too
    assert any('(batch 2)' in r['name'] and r['shape'][0] == 2
               for r in report['outputs'])
    assert report['checked_diff'] < 1e-4
    with pytest.raises(SystemExit, match='outputs differ by'):
        onnx_export.main(args + ['--tolerance', '1e-30'])


def test_missing_checkpoint(tmp_path):
    with pytest.raises(SystemExit, match='nope.pth does not exist'):
        onnx_export.main([SYNTHETIC['res18'], str(tmp_path / 'nope.pth')])


class _Head(nn.Module):
    """A stand-in head: ``output_names`` only where given."""

    def __init__(self, names=None):
        super().__init__()
        if names is not None:
            self.output_names = lambda: names


def test_output_names_follow_the_head_contract():
    maps = torch.zeros(1, 17, 4, 4)
    nested = [[maps, maps], [maps]]  # depth first: 3 tensors
    assert onnx_export.output_names(_Head(['a', 'b', 'c']), nested) == [
        'a', 'b', 'c'
    ]
    assert onnx_export.output_names(_Head(), maps) == ['heatmaps']
    assert onnx_export.output_names(_Head(), nested) == [
        'output_0', 'output_1', 'output_2'
    ]
    with pytest.raises(ValueError, match='gives 2 names .* returns 3'):
        onnx_export.output_names(_Head(['a', 'b']), nested)
    with pytest.raises(ValueError, match='repeats a name'):
        onnx_export.output_names(_Head(['a', 'a', 'b']), nested)


def test_tensor_forward_flattens_depth_first():
    class Model(nn.Module):

        def forward(self, inputs, data_samples, mode):
            assert data_samples is None and mode == 'tensor'
            return [[inputs, inputs + 1], inputs + 2]

    x = torch.zeros(1, 3, 2, 2)
    nested = TensorForward(Model())(x)
    assert isinstance(nested, list) and len(nested) == 2
    flat = TensorForward(Model(), flatten=True)(x)
    assert isinstance(flat, tuple)
    assert [float(t[0, 0, 0, 0]) for t in flat] == [0., 1., 2.]
