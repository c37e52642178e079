"""A toy runner for the engine tests (checkpoints, resume, NaN)."""
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset


class ToyRegressor(BaseModel):
    """Linear regressor with two loss terms; ``loss_b`` can turn bad.

    Args:
        bad_at (int, optional): 1-based training iteration at which
            ``loss_b`` becomes ``bad_value``. Defaults to ``None``.
        bad_value (float): The value. Defaults to ``nan``.
    """

    def __init__(self, bad_at: Optional[int] = None,
                 bad_value: float = float('nan')):
        super().__init__()
        self.linear = nn.Linear(4, 1)
        self.bad_at = bad_at
        self.bad_value = bad_value
        self.calls = 0

    def forward(self, x, y, mode='loss'):
        pred = self.linear(torch.stack(x))
        if mode == 'predict':
            return list(pred)
        loss_a = ((pred - torch.stack(y))**2).mean()
        loss_b = 0.1 * pred.abs().mean()
        if mode == 'loss':
            self.calls += 1
            if self.calls == self.bad_at:
                loss_b = loss_b * self.bad_value
        return dict(loss_a=loss_a, loss_b=loss_b)


class ToyConvRegressor(ToyRegressor):
    """:class:`ToyRegressor` through two 2-D convolutions, for the
    memory-format tests (channels-last weights)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv = nn.Sequential(nn.Conv2d(2, 8, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(8, 4, 3, padding=1))

    def forward(self, x, y, mode='loss'):
        x = torch.stack(x)
        grid = x.view(-1, 1, 2, 2).expand(-1, 2, 2, 2).repeat(1, 1, 2, 2)
        x = x + self.conv(grid).mean((2, 3))
        return super().forward(list(x), y, mode)


class ToyData(Dataset):
    # numpy meta information ends up in the checkpoint, as MMPose's does
    metainfo = dict(sigmas=np.linspace(0.2, 1.0, 5, dtype=np.float32),
                    flip_indices=np.arange(5), dataset_name='toy')

    def __len__(self):
        return 32

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        x = torch.randn(4, generator=g)
        return dict(x=x, y=x.sum(0, keepdim=True))


def make_toy_runner(work_dir, max_iters, resume=False, interval=2,
                    max_keep_ckpts=-1, model=None,
                    checkpoint_hook='AtomicCheckpointHook',
                    extra_hooks=True, **runner_kwargs):
    """A small iteration-based runner (8 samples per iteration) built from
    the registered names, as a config builds it.

    Args:
        work_dir (Path): Work directory.
        max_iters (int): Training iterations.
        resume (bool): Auto-resume. Defaults to ``False``.
        interval (int): Checkpoint interval in iterations. Defaults to 2.
        max_keep_ckpts (int): Passed to the checkpoint hook.
        model (BaseModel, optional): Defaults to a fresh
            :class:`ToyRegressor`.
        checkpoint_hook (str): Type of ``default_hooks.checkpoint``;
            ``'CheckpointHook'`` gives MMEngine's alone.
        extra_hooks (bool): Add ``NonFiniteLossHook`` and the CPU AMP
            constructor, as the package's configs do.
        **runner_kwargs: More ``Runner`` arguments (``launcher``, ...).
    """
    hooks = dict(
        checkpoint=dict(type=checkpoint_hook, interval=interval,
                        by_epoch=False, max_keep_ckpts=max_keep_ckpts),
        logger=dict(type='LoggerHook', interval=1))
    optim_wrapper = dict(optimizer=dict(type='Adam', lr=0.01))
    if extra_hooks:
        hooks['non_finite_loss'] = dict(type='NonFiniteLossHook')
        optim_wrapper['constructor'] = 'CpuAmpOptimWrapperConstructor'
    return Runner(
        model=model or ToyRegressor(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=ToyData(), batch_size=8, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True)),
        optim_wrapper=optim_wrapper,
        param_scheduler=dict(
            type='MultiStepLR', milestones=[3], by_epoch=False),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=hooks,
        default_scope='mmpose',
        randomness=dict(seed=0),
        resume=resume,
        experiment_name=f'toy_{work_dir.name}_{max_iters}_{int(resume)}_'
        f'{checkpoint_hook}',
        **runner_kwargs)


def read_logs(work_dir: Path) -> str:
    """Everything the runners of ``work_dir`` logged to their files."""
    return '\n'.join(p.read_text() for p in sorted(work_dir.glob('*/*.log')))
