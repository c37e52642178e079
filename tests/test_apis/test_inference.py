"""mmpose_ext.apis.init_model: MMPose's init_model with a checkpoint that
must fit."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

from mmpose_ext.apis import init_model
from mmpose_ext.engine import CheckpointMismatchError

from .tool_runs import RES18, ROOT


def test_fitting_checkpoint_loads_with_its_dataset_meta(tmp_path):
    init_default_scope('mmpose')
    torch.manual_seed(3)
    source = MODELS.build(Config.fromfile(str(ROOT / RES18)).model)
    path = tmp_path / 'res18.pth'
    torch.save(dict(state_dict=source.state_dict(),
                    meta=dict(dataset_meta=dict(dataset_name='mine'))), path)
    model = init_model(str(ROOT / RES18), str(path))
    assert not model.training and model.dataset_meta == dict(
        dataset_name='mine')
    for key, value in source.state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value)

    state = source.state_dict()
    del state['head.final_layer.weight']
    torch.save(dict(state_dict=state, meta=dict(
        experiment_name='td-hm_res18_synthetic-coco-128x96_20261202_000000')),
        path)
    with pytest.raises(CheckpointMismatchError,
                       match='(?s)missing from the checkpoint.*'
                       'head.final_layer.weight.*saved by a run of this '
                       'config'):
        init_model(str(ROOT / RES18), str(path))
    model = init_model(str(ROOT / RES18), str(path), allow_partial=True)
    assert model.dataset_meta['dataset_name'] == 'coco'


@pytest.mark.parametrize('cuda', [False, True])
def test_default_device_is_the_gpu_when_there_is_one(cuda, monkeypatch):
    """As MMPose's ``init_model`` (``'cuda:0'``), but a CPU machine gets a
    CPU model instead of an error."""
    moved = []
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: cuda)
    monkeypatch.setattr(torch.nn.Module, 'to',
                        lambda self, *args, **kw: moved.append(args) or self)
    init_model(ROOT / RES18)
    devices = [args for args in moved if args]  # not memory_format moves
    assert devices[-1] == (('cuda:0', ) if cuda else ('cpu', ))
