"""tools/convert/mspn_to_cross_stage_mspn.py: MMPose MSPN + MSPNHead
checkpoints for CrossStageMSPN, checked against the target model."""
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from mmpose_ext.apis import init_model
from mmpose_ext.apis.convert_mspn import main, mspn_settings

from ..test_models.test_backbones.test_cross_stage_mspn import (
    mmpose_mspn,
    randomize_bn,
)
from .tool_runs import ROOT

# the package's MSPN-50 configs at the small test settings
SMALL = {'model.backbone.stage_blocks': (1, 1, 1, 1),
         'model.backbone.unit_channels': 32}
SMALL_ARGS = ['--cfg-options', 'model.backbone.stage_blocks=(1,1,1,1)',
              'model.backbone.unit_channels=32']


def config(stages):
    return str(ROOT / f'configs/mspn/mspn50-{stages}stage_8xb32-210e_coco-'
               '256x192.py')


def mmpose_checkpoint(path, stages, head_prefix='head.'):
    """MMPose's MSPN + MSPNHead (random weights and BN statistics) saved
    as a TopdownPoseEstimator checkpoint; returns the two modules."""
    torch.manual_seed(stages)
    mspn, head = mmpose_mspn(stages, (1, 1, 1, 1), unit_channels=32)
    randomize_bn(mspn, seed=stages)
    randomize_bn(head, seed=stages + 10)
    state = {f'backbone.{k}': v for k, v in mspn.state_dict().items()}
    state.update(
        {f'{head_prefix}{k}': v for k, v in head.state_dict().items()})
    torch.save(dict(state_dict=state,
                    meta=dict(dataset_meta=dict(dataset_name='coco'))), path)
    mspn.eval()  # MMPose's BaseBackbone.train returns None
    head.eval()
    return mspn, head


@pytest.mark.slow
@pytest.mark.parametrize('stages', [1, 2, 4])
def test_converted_weights_give_mmpose_heatmaps(stages, tmp_path, capsys):
    src, dst = tmp_path / 'mspn.pth', tmp_path / 'cross_stage_mspn.pth'
    # stage 1 as a pre-1.0 file (keypoint_head.*)
    mspn, head = mmpose_checkpoint(
        src, stages, 'keypoint_head.' if stages == 1 else 'head.')
    assert main([str(src), str(dst), *SMALL_ARGS]) == 0
    out = capsys.readouterr().out
    assert f'({stages} stages, blocks (1, 1, 1, 1), 32 unit channels, 17 ' \
        'keypoints)' in out
    # 4 predictors per stage, 2 conv + BN of 6 tensors each
    assert f'{48 * stages:5d}  head.predict_layers.P.conv_layers.*' in out
    # the package's inference path loads it (it would refuse a misfit)
    ours = init_model(config(stages), str(dst), cfg_options=SMALL)
    assert ours.dataset_meta == dict(dataset_name='coco')
    assert torch.load(dst)['meta']['converted_from'] == str(src)
    x = torch.rand(1, 3, 64, 48)
    with torch.no_grad():
        a = [u for stage in ours.backbone(x) for u in stage]
        b = head(mspn(x))
    assert len(a) == len(b) == 4 * stages
    for i, (u, v) in enumerate(zip(a, b)):
        # MSPNHead upsamples every unit to its out_shape
        u = F.interpolate(u, size=v.shape[-2:], mode='bilinear',
                          align_corners=True)
        torch.testing.assert_close(u, v, rtol=1e-5,
                                   atol=1e-5 * v.abs().max().item(),
                                   msg=f'output {i}')


def test_settings_are_read_from_the_weights(tmp_path):
    mmpose_checkpoint(tmp_path / 'm.pth', 2)
    state = torch.load(tmp_path / 'm.pth')['state_dict']
    assert mspn_settings(state) == dict(
        num_stages=2, stage_blocks=(1, 1, 1, 1), unit_channels=32,
        stem_channels=64, base_channels=64, num_keypoints=17,
        block='Bottleneck')


def test_refusals(tmp_path, capsys):
    src, dst = tmp_path / 'mspn.pth', tmp_path / 'out.pth'
    mmpose_checkpoint(src, 2)
    # the full-size config does not fit the small weights
    assert main([str(src), str(dst)]) == 1
    err = capsys.readouterr().err
    assert 'does not fit the model of' in err and 'have other shapes: ' \
        'backbone.stages.0.up.0.in_skip.conv.weight [32, 2048, 1, 1] in ' \
        'the checkpoint, [256, 2048, 1, 1] in the model' in err
    assert 'the checkpoint has num_stages=2, stage_blocks=(1, 1, 1, 1), ' \
        'unit_channels=32' in err
    assert not dst.exists()

    assert main([str(src), str(src), *SMALL_ARGS]) == 1
    assert 'is the source checkpoint' in capsys.readouterr().err

    state = torch.load(src)
    state['state_dict']['head.predict_layers.0.prm.middle_path.0.weight'] = \
        torch.zeros(1)
    torch.save(state, tmp_path / 'prm.pth')
    assert main([str(tmp_path / 'prm.pth'), str(dst), *SMALL_ARGS]) == 1
    assert "cannot map 'head.predict_layers.0.prm" in capsys.readouterr().err

    backbone_only = {k: v for k, v in state['state_dict'].items()
                     if k.startswith('backbone.')}
    torch.save(dict(state_dict=backbone_only), tmp_path / 'nohead.pth')
    assert main([str(tmp_path / 'nohead.pth'), str(dst), *SMALL_ARGS]) == 1
    assert 'no MSPNHead predictor weights' in capsys.readouterr().err


@pytest.mark.slow
def test_tool_shim(tmp_path):
    src = tmp_path / 'mspn.pth'
    mmpose_checkpoint(src, 1)
    proc = subprocess.run(
        [sys.executable, 'tools/convert/mspn_to_cross_stage_mspn.py',
         str(src), str(tmp_path / 'out.pth'), *SMALL_ARGS], cwd=ROOT,
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'wrote' in proc.stdout
