"""bfloat16 mixed precision on the CPU for the package's model families."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmpose.registry import MODELS

from mmpose_ext.utils import CpuAmpOptimWrapper
from mmpose_ext.utils.run_tool import _AdaptingRunner

ROOT = Path(__file__).resolve().parents[2]
# The configs' architectures at a fraction of their width (fast on a CPU).
FAMILIES = {
    'resnet': ('configs/synthetic/td-hm_res18_synthetic-coco-128x96.py',
               dict(backbone=dict(base_channels=8, stem_channels=16),
                    head=dict(in_channels=64,
                              deconv_out_channels=(16, 16, 16)))),
    'hrnet': ('configs/hrnet/td-hm_hrnet-w32_ohkm_synthetic-coco-128x96.py',
              dict(backbone=dict(extra=dict(
                  stage1=dict(num_channels=(16, )),
                  stage2=dict(num_channels=(8, 16)),
                  stage3=dict(num_modules=1, num_channels=(8, 16, 32)),
                  stage4=dict(num_modules=1,
                              num_channels=(8, 16, 32, 64)))),
                   head=dict(in_channels=8))),
}


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU AMP path')
def test_runner_builds_cpu_amp_wrapper():
    model = torch.nn.Linear(2, 2)
    wrapper = _AdaptingRunner.build_optim_wrapper(
        _AdaptingRunner.__new__(_AdaptingRunner),
        dict(type='AmpOptimWrapper', loss_scale='dynamic',
             optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))
    assert isinstance(wrapper, CpuAmpOptimWrapper)
    assert wrapper.cast_dtype == torch.bfloat16
    assert not wrapper.loss_scaler.is_enabled()
    assert 'loss_scaler' not in wrapper.state_dict()


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_bfloat16_training_steps_are_finite(family, topdown_batch,
                                            one_thread):
    config, shrink = FAMILIES[family]
    cfg = Config.fromfile(ROOT / config)
    cfg.merge_from_dict(dict(model=shrink))
    model = MODELS.build(cfg.model)
    # 'float16' (a GPU config) becomes bfloat16, the CPU autocast dtype
    wrapper = CpuAmpOptimWrapper(
        dtype='float16',
        optimizer=torch.optim.Adam(model.parameters(), lr=1e-3))
    dtypes = []
    model.backbone.register_forward_hook(
        lambda module, args, out: dtypes.append(out[-1].dtype))
    batch = topdown_batch(
        cfg.model.head.decoder, input_size=(96, 128), batch_size=2,
        use_dataset_keypoint_weights=family == 'hrnet')
    for _ in range(2):
        log_vars = model.train_step(batch, wrapper)
        losses = {k: float(v) for k, v in log_vars.items() if 'loss' in k}
        assert losses and all(torch.isfinite(torch.tensor(list(
            losses.values())))), losses
    assert dtypes == [torch.bfloat16] * 2  # the backbone ran in bfloat16
    for param in model.parameters():
        assert param.dtype == torch.float32
        assert param.grad is None or torch.isfinite(param.grad).all()
