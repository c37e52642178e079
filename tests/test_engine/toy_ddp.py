"""Two-process CPU (gloo) DDP runs of the toy runner, for the engine tests
of what every rank does when one fails."""
import datetime
import os
import socket
import time
from pathlib import Path
from typing import Dict, Optional

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

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
    model = ToyRegressor(bad_at=bad_at if rank == bad_rank else None)
    try:
        runner = make_toy_runner(
            work, model=model, launcher='pytorch',
            cfg=dict(model_wrapper_cfg=dict(type='MMDistributedDataParallel',
                                            device_ids=None),
                     resume=runner_kwargs.get('resume', False)),
            **runner_kwargs)
        runner.train()
        outcome = 'finished'
    except Exception as err:  # noqa: BLE001 - reported to the test
        outcome = f'{type(err).__name__}: {err}'
    (work / f'rank{rank}.txt').write_text(outcome)
    dist.destroy_process_group()


def run_two_ranks(work_dir: Path, bad_rank: Optional[int] = None,
                  bad_at: Optional[int] = None, timeout: float = 240,
                  **runner_kwargs) -> Dict[int, str]:
    """Run both ranks; fail if one still runs after ``timeout`` s (a hang).

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
