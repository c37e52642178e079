"""One-process DDP with NCCL through ``tools/train.py --launcher pytorch``
(the environment torchrun sets for one process): it trains, writes a
checkpoint, and a second run resumes from it."""
import pytest
import torch

from mmpose_ext.package_files import config_path

from .cuda_tier import (
    CUDA_TIER,
    FAMILIES,
    data_options,
    free_port,
    run_tool,
    train_only,
)

pytestmark = CUDA_TIER


@pytest.mark.parametrize('family', FAMILIES)
def test_nccl_launcher_trains_checkpoints_and_resumes(family, tier_coco,
                                                      tmp_path):
    config = config_path(FAMILIES[family])
    env = dict(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1',
               MASTER_ADDR='127.0.0.1', MASTER_PORT=str(free_port()))
    common = [config, '--launcher', 'pytorch', '--no-validate',
              '--work-dir', tmp_path, '--cfg-options',
              *train_only(data_options(tier_coco))]
    out = run_tool('train', *common, 'train_cfg.max_epochs=1', env=env)
    assert 'Distributed training: True' in out
    assert "backend='nccl'" in out  # the config's, kept with CUDA
    first = torch.load(tmp_path / 'epoch_1.pth', map_location='cpu')
    assert first['meta']['epoch'] == 1
    env['MASTER_PORT'] = str(free_port())
    out = run_tool('train', *common, 'train_cfg.max_epochs=2', '--resume',
                   env=env)
    assert 'resumed epoch: 1' in out
    second = torch.load(tmp_path / 'epoch_2.pth', map_location='cpu')
    assert second['meta']['epoch'] == 2
