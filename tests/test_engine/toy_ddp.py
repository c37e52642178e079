"""Two-process CPU (gloo) DDP runs of the toy runner, for the engine tests
of what every rank does when one fails."""
import datetime
import os
import socket
import time
import warnings
from pathlib import Path
from typing import Dict, Optional

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.evaluator import BaseMetric
from torch.utils.data import Dataset

import mmpose_ext  # noqa: F401  (registers the hooks in the spawned ranks)

from .toy_runner import ToyRegressor, make_toy_runner


def _rank(rank: int, world_size: int, port: int, work_dir: str,
          bad_rank: Optional[int], bad_at: Optional[int],
          runner_kwargs: dict) -> None:
    """One rank: a toy training whose ``bad_rank`` gets a NaN loss at
    iteration ``bad_at``; writes what ended it to ``rank{R}.txt``."""
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port),
                      RANK=str(rank), WORLD_SIZE=str(world_size),
                      LOCAL_RANK=str(rank))
    dist.init_process_group('gloo', rank=rank, world_size=world_size,
                            timeout=datetime.timedelta(seconds=60))
    torch.set_num_threads(1)
    work = Path(work_dir)
    model_type = runner_kwargs.pop('model_type', ToyRegressor)
    model = model_type(bad_at=bad_at if rank == bad_rank else None)
    save_fails_on = runner_kwargs.pop('save_fails_on', None)
    loop = runner_kwargs.pop('loop', 'train')
    wrapper = runner_kwargs.pop('model_wrapper_cfg', dict(
        type='MMDistributedDataParallel', device_ids=None))
    try:
        runner = make_toy_runner(
            work, model=model, launcher='pytorch',
            cfg=dict(model_wrapper_cfg=wrapper,
                     resume=runner_kwargs.get('resume', False)),
            **runner_kwargs)
        if rank == save_fails_on:
            runner.save_checkpoint = _failing_save
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            getattr(runner, loop)()
        outcome = 'finished'
        strides = [str(w.message) for w in caught
                   if 'Grad strides do not match' in str(w.message)]
        if strides:
            outcome += f' with warning: {strides[0]}'
    except Exception as err:  # noqa: BLE001 - reported to the test
        outcome = f'{type(err).__name__}: {err}'
    (work / f'rank{rank}.txt').write_text(outcome)
    dist.destroy_process_group()


class ToyImageData(Dataset):
    """Evaluation samples loaded by MMPose's ``LoadImage`` from
    ``root/img{i}.png`` (``test_mode=True``, so the package's
    ``UnreadableImageHook`` makes an unreadable one fatal)."""

    metainfo = dict(dataset_name='toy_images')
    test_mode = True

    def __init__(self, root: str, n: int = 4):
        from mmengine.dataset import Compose
        self.root, self.n = root, n
        self.pipeline = Compose([dict(type='mmpose.LoadImage')])

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        results = self.pipeline(dict(img_path=f'{self.root}/img{i}.png'))
        x = torch.from_numpy(results['img']).float().mean((0, 1))
        return dict(x=torch.cat([x, x[:1]]), y=x[:1])


class ToyCount(BaseMetric):
    """Counts the evaluated samples."""

    def process(self, data_batch, data_samples) -> None:
        self.results.append(len(data_samples))

    def compute_metrics(self, results) -> dict:
        return dict(count=sum(results))


def toy_val_kwargs(root: Path) -> dict:
    """``run_two_ranks`` arguments of a validation (``loop='val'``) over
    :class:`ToyImageData` in ``root``, unreadable images fatal."""
    return dict(
        loop='val',
        val_dataloader=dict(
            dataset=ToyImageData(str(root)), batch_size=1, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False)),
        val_cfg=dict(), val_evaluator=[ToyCount()],
        custom_hooks=[dict(type='UnreadableImageHook')])


def _failing_save(*args, **kwargs) -> None:
    raise OSError(28, 'No space left on device')


def run_two_ranks(work_dir: Path, bad_rank: Optional[int] = None,
                  bad_at: Optional[int] = None, timeout: float = 240,
                  **runner_kwargs) -> Dict[int, str]:
    """Run both ranks; fail if one still runs after ``timeout`` s (a hang).

    ``save_fails_on=R`` (in ``runner_kwargs``) makes rank ``R``'s
    ``runner.save_checkpoint`` raise ``OSError`` (a full disk);
    ``loop='val'`` runs ``runner.val()`` instead of ``runner.train()``;
    ``model_type`` and ``model_wrapper_cfg`` replace the toy regressor and
    MMEngine's DDP wrapper. A finished rank that met PyTorch's DDP
    stride-mismatch warning reports ``'finished with warning: ...'``.

    Returns:
        dict: rank -> ``'finished'`` or ``'ErrorType: message'``.
    """
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    context = mp.start_processes(
        _rank, args=(2, port, str(work_dir), bad_rank, bad_at, runner_kwargs),
        nprocs=2, join=False, start_method='spawn')
    deadline = time.monotonic() + timeout
    try:
        # join returns at every process's exit; False while one still runs
        while not context.join(timeout=max(deadline - time.monotonic(), 0)):
            assert time.monotonic() < deadline, 'a rank hangs'
    except Exception:
        for process in context.processes:
            process.kill()
        raise
    return {r: (work_dir / f'rank{r}.txt').read_text() for r in (0, 1)}
