"""ChannelsLastDistributedDataParallel: channels-last before DDP's buckets."""
import pytest
import torch
from mmpose.registry import MODEL_WRAPPERS

from mmpose_ext.engine import ChannelsLastDistributedDataParallel
from mmpose_ext.engine.hooks.fast_path_hook import check_ddp_wrapper

from ..toy_ddp import run_two_ranks
from ..toy_runner import ToyConvRegressor


def _ddp_kwargs(wrapper: str) -> dict:
    return dict(model_type=ToyConvRegressor,
                model_wrapper_cfg=dict(type=wrapper, device_ids=None),
                custom_hooks=[dict(type='FastPathHook', channels_last=True)])


@pytest.mark.slow
def test_no_stride_mismatch_in_two_process_training(tmp_path):
    """With MMEngine's wrapper, FastPathHook's channels-last weights come
    after DDP laid out its buckets (PyTorch warns of the stride mismatch);
    with this wrapper, built from its registered (scoped) name as
    MMEngine's runner builds it (``device_ids=[LOCAL_RANK]`` dropped on the
    CPU), they come before and no rank warns."""
    before = run_two_ranks(tmp_path / 'mmengine', max_iters=3,
                           **_ddp_kwargs('MMDistributedDataParallel'))
    assert all(o.startswith('finished with warning: Grad strides do not '
                            'match bucket view strides')
               for o in before.values()), before
    after = run_two_ranks(tmp_path / 'ours', max_iters=3, **dict(
        _ddp_kwargs('mmpose.ChannelsLastDistributedDataParallel'),
        model_wrapper_cfg=dict(
            type='mmpose.ChannelsLastDistributedDataParallel',
            device_ids=[0])))
    assert after == {0: 'finished', 1: 'finished'}, after


def test_registered_and_checked():
    assert MODEL_WRAPPERS.get('ChannelsLastDistributedDataParallel') is (
        ChannelsLastDistributedDataParallel)
    with pytest.raises(TypeError, match='channels_last must be a bool'):
        ChannelsLastDistributedDataParallel(ToyConvRegressor(),
                                            channels_last='yes')


def test_find_unused_parameters_disagreement_is_refused():
    """MMEngine reads the top-level find_unused_parameters only for its
    default wrapper; a config selecting this one and asking for it at the
    top gets an error naming the key to set."""
    model = torch.nn.Module()
    model.find_unused_parameters = False
    model.__class__ = type(
        'FakeDDP', (torch.nn.parallel.DistributedDataParallel, ), {})
    with pytest.raises(ValueError, match='model_wrapper_cfg.find_unused'):
        check_ddp_wrapper(model, True, find_unused_parameters=True)
    check_ddp_wrapper(model, False, find_unused_parameters=False)
