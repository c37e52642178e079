"""mmpose_ext.engine.checkpoint_fit: what of a checkpoint fits a model,
the refusal message and the configs it suggests."""
import logging
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmpose.registry import MODELS
from torch import nn

from mmpose_ext.engine.checkpoint_fit import (
    CheckpointMismatchError,
    check_checkpoint,
    load_fitting_weights,
    suggest_configs,
)

ROOT = Path(__file__).resolve().parents[2]
RES18 = ROOT / 'configs/synthetic/td-hm_res18_synthetic-coco-128x96.py'
MCA = ROOT / 'configs/synthetic/mca_hourglass_synthetic-coco-128x96.py'


def net(channels=4):
    return nn.Sequential(nn.Conv2d(3, channels, 3), nn.BatchNorm2d(channels),
                         nn.Conv2d(channels, 2, 1))


def test_loads_what_fits_and_names_the_rest():
    torch.manual_seed(0)
    source = net().state_dict()
    model = net()
    state = dict(source)
    del state['1.running_var'], state['1.num_batches_tracked']
    state['2.weight'] = torch.zeros(3, 4, 1, 1)  # another shape
    state['extra.weight'] = torch.ones(1)
    fit = load_fitting_weights(model, {f'module.{k}': v
                                       for k, v in state.items()})
    assert not fit.fits
    # num_batches_tracked is not counted, as MMEngine does not count it
    assert fit.missing == ['1.running_var']
    assert fit.unexpected == ['extra.weight']
    assert fit.mismatched == [('2.weight', (3, 4, 1, 1), (2, 4, 1, 1))]
    assert (fit.num_model_keys, fit.num_checkpoint_keys) == (9, 8)
    # everything that fits was loaded (the 'module.' prefix removed)
    torch.testing.assert_close(model[0].weight, source['0.weight'])
    torch.testing.assert_close(model[1].running_mean,
                               source['1.running_mean'])
    assert not torch.equal(model[2].weight, torch.zeros(2, 4, 1, 1))
    text = fit.describe(first=1)
    assert "1 of the model's 9 weights are missing" in text
    assert "1 of the checkpoint's 8 entries are not in the model: " \
        'extra.weight' in text
    assert '2.weight [3, 4, 1, 1] in the checkpoint, [2, 4, 1, 1] in the ' \
        'model' in text

    assert load_fitting_weights(net(), source).fits


def test_meta_device_models_and_mmpose_key_renames():
    """A model on the meta device is checked without copying; MMPose's
    load hook maps pre-1.0 ``keypoint_head.`` keys, which then fit."""
    cfg = Config.fromfile(str(RES18))
    model = MODELS.build(cfg.model)
    old = {('keypoint_' + k if k.startswith('head.') else k): v
           for k, v in model.state_dict().items()}
    assert any(k.startswith('keypoint_head.') for k in old)
    assert load_fitting_weights(MODELS.build(cfg.model), old).fits
    with torch.device('meta'):
        meta_model = MODELS.build(cfg.model)
    assert load_fitting_weights(meta_model, model.state_dict()).fits
    other = MODELS.build(Config.fromfile(str(MCA)).model).state_dict()
    assert not load_fitting_weights(meta_model, other).fits


def test_reshaped_weight_behind_a_key_rename():
    """A pre-1.0 ``keypoint_head.`` weight of another shape: MMPose's load
    hook renames it, torch refuses the copy, and the fit names it."""
    cfg = Config.fromfile(str(RES18))
    model = MODELS.build(cfg.model)
    old = {('keypoint_' + k if k.startswith('head.') else k): v
           for k, v in model.state_dict().items()}
    shape = tuple(model.head.final_layer.weight.shape)
    old['keypoint_head.final_layer.weight'] = torch.zeros(16, *shape[1:])
    fit = load_fitting_weights(MODELS.build(cfg.model), old)
    assert fit.mismatched == [('head.final_layer.weight',
                               (16, *shape[1:]), shape)]
    assert not fit.fits


def mca_checkpoint(experiment_name=None):
    model = MODELS.build(Config.fromfile(str(MCA)).model)
    meta = {} if experiment_name is None else dict(
        experiment_name=experiment_name)
    return dict(state_dict=model.state_dict(), meta=meta)


def test_refusal_names_mismatch_and_the_recorded_config(caplog):
    model = MODELS.build(Config.fromfile(str(RES18)).model)
    checkpoint = mca_checkpoint(
        'mca_hourglass_synthetic-coco-128x96_20261202_101010')
    with pytest.raises(CheckpointMismatchError) as err:
        check_checkpoint(model, checkpoint, 'demo.pth', config=str(RES18))
    message = str(err.value)
    assert message.startswith(
        f'checkpoint demo.pth does not fit the model of {RES18}:')
    assert "of the model's 146 weights are missing" in message
    assert 'backbone.conv1.weight' in message  # the first missing key
    assert 'not in the model: backbone.stem' in message
    assert 'probably fit: configs/synthetic/mca_hourglass_synthetic-' \
        'coco-128x96.py' in message or 'probably fit: ' + str(MCA) in message
    assert '--allow-partial' in message

    logger = logging.getLogger('fit-test')
    with caplog.at_level(logging.WARNING, logger='fit-test'):
        fit = check_checkpoint(model, checkpoint, 'demo.pth',
                               allow_partial=True, logger=logger)
    assert not fit.fits and 'loaded partially' in caplog.text


@pytest.mark.slow
def test_scan_finds_the_config_whose_model_has_the_weights():
    """No recorded name: the configs' models (meta device) are compared
    key by key and shape by shape."""
    found = suggest_configs(mca_checkpoint())
    # the demo model, the demo's recipe and the claims arm: the same model
    same = [ROOT / 'configs/claims/mca_attention/mca-hourglass_synthetic-'
            'coco-128x96.py',
            ROOT / 'configs/synthetic/mca_hourglass_amp-lightaug_synthetic-'
            'coco-128x96.py']
    assert sorted(found) == sorted([str(MCA)] + [str(p) for p in same])
    assert suggest_configs(mca_checkpoint(), scan=False) == []
    assert suggest_configs(dict(state_dict={'x': torch.zeros(1)})) == []


def smoke():
    assert load_fitting_weights(net(), net().state_dict()).fits
