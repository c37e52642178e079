"""Checkpoints across devices: one saved by CUDA training loads on the CPU
through ``tools/test.py`` and ``mmpose_ext.apis.init_model``, and one saved
by CPU training loads on CUDA the same ways."""
import json

import pytest
import torch

from mmpose_ext.apis import init_model
from mmpose_ext.package_files import config_path

from .cuda_tier import (
    CUDA_TIER,
    FAMILIES,
    data_options,
    run_tool,
    run_tool_in_process,
    train_only,
)

pytestmark = CUDA_TIER


def _assert_loaded(model, checkpoint, device_type):
    state = torch.load(checkpoint, map_location='cpu')['state_dict']
    params = dict(model.state_dict())
    assert next(model.parameters()).device.type == device_type
    for key, value in state.items():
        assert torch.equal(params[key].cpu(), value), key


def _tested(metrics_file):
    metrics = json.loads(metrics_file.read_text())
    assert 0.0 <= metrics['coco/AP'] <= 1.0


@pytest.mark.parametrize('family', FAMILIES)
def test_cuda_checkpoint_loads_on_cpu(family, tier_coco, tmp_path):
    config = config_path(FAMILIES[family])
    options = data_options(tier_coco)
    work_dir = tmp_path / 'cuda_train'
    run_tool_in_process('train', config, '--no-validate', '--work-dir',
                        work_dir, '--cfg-options', 'train_cfg.max_epochs=1',
                        f'visualizer.name=tier_ckpt_cuda_{family}',
                        f'experiment_name=tier_ckpt_cuda_{family}',
                        *train_only(options))
    checkpoint = work_dir / 'epoch_1.pth'
    saved = torch.load(checkpoint)  # as written: optimizer state on CUDA
    moments = [s['exp_avg'] for s in saved['optimizer']['state'].values()]
    assert moments and all(m.is_cuda for m in moments)
    metrics = tmp_path / 'metrics.json'
    run_tool('test', config, checkpoint, '--work-dir', tmp_path / 'test',
             '--out', metrics, '--cfg-options', *options, cpu_only=True)
    _tested(metrics)
    _assert_loaded(init_model(str(config), str(checkpoint), device='cpu'),
                   checkpoint, 'cpu')


@pytest.mark.parametrize('family', FAMILIES)
def test_cpu_checkpoint_loads_on_cuda(family, tier_coco, tmp_path):
    config = config_path(FAMILIES[family])
    options = data_options(tier_coco)
    work_dir = tmp_path / 'cpu_train'
    run_tool('train', config, '--no-validate', '--work-dir', work_dir,
             '--cfg-options', 'train_cfg.max_epochs=1',
             *train_only(options), cpu_only=True)
    checkpoint = work_dir / 'epoch_1.pth'
    saved = torch.load(checkpoint)
    moments = [s['exp_avg'] for s in saved['optimizer']['state'].values()]
    assert moments and not any(m.is_cuda for m in moments)
    metrics = tmp_path / 'metrics.json'
    run_tool_in_process('test', config, checkpoint, '--work-dir',
                        tmp_path / 'test', '--out', metrics, '--cfg-options',
                        f'visualizer.name=tier_ckpt_cpu_{family}',
                        f'experiment_name=tier_ckpt_cpu_{family}', *options)
    _tested(metrics)
    _assert_loaded(init_model(str(config), str(checkpoint), device='cuda'),
                   checkpoint, 'cuda')
