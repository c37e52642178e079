"""Run MMPose's own ``tools/train.py`` / ``tools/test.py`` with mmpose_ext.

The package's tools wrap MMPose's scripts (shipped inside the mmpose wheel
under ``mmpose/.mim/tools``) instead of forking them, so command-line flags
and behaviour stay MMPose's. The wrapper only adds what the stock scripts
lack on this stack:

* ``import mmpose_ext`` first (registries, weights-only checkpoint loading);
* ``--trust-checkpoint``: explicit opt-in to full unpickling of checkpoints;
* on a machine without CUDA, distributed runs use the ``gloo`` backend
  (MMEngine's default ``nccl`` needs GPUs) and start the process group
  themselves (MMEngine 0.10.7's ``init_dist`` calls
  ``torch.cuda.set_device`` unconditionally for ``--launcher pytorch``),
  and ``--amp`` trains with bfloat16 autocast (:mod:`.cpu_amp`);
* the config is checked before anything is built (:mod:`.config_checks`),
  datasets fail early when empty and handle unreadable images by a
  documented policy (:mod:`.data_guard`);
* checkpoints are written atomically, outdated ones are removed only after
  the new one is complete, and ``--resume`` falls back to the newest
  complete checkpoint (:mod:`.safe_checkpoint`);
* training stops at the first NaN/infinite loss, before it is saved
  (:mod:`.finite_loss_hook`).
"""
import datetime
import importlib.util
import os.path as osp
import sys
from contextlib import nullcontext
from types import ModuleType
from typing import Callable, Dict, List, Optional, Sequence, Union

import mmpose
import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.dist import master_only
from mmengine.hooks import CheckpointHook, Hook
from mmengine.optim import AmpOptimWrapper
from mmengine.runner import Runner
from torch.utils.data import DataLoader

from .checkpoint_compat import (
    explain_refused_checkpoint,
    trust_checkpoint_pickles,
)
from .config_checks import SPLITS, check_config
from .cpu_amp import CpuAmpOptimWrapper
from .data_guard import explain_empty_dataset, guard_dataset
from .finite_loss_hook import FiniteLossHook
from .safe_checkpoint import (
    SafeCheckpointHook,
    atomic_checkpoint_name,
    find_resumable_checkpoint,
    is_local_dir,
)

__all__ = ['adapt_config', 'load_mmpose_tool', 'run_mmpose_tool']

TRUST_FLAG = '--trust-checkpoint'


def load_mmpose_tool(name: str) -> ModuleType:
    """Import ``mmpose/.mim/tools/{name}.py`` as a module.

    Args:
        name (str): ``'train'`` or ``'test'``.

    Returns:
        ModuleType: the imported script (its ``main`` is not run).
    """
    path = osp.join(osp.dirname(mmpose.__file__), '.mim', 'tools',
                    f'{name}.py')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'MMPose tool {path!r} not found: mmpose_ext wraps the tools '
            'shipped in the mmpose wheel; reinstall mmpose 1.3.x '
            '(`make install`).')
    spec = importlib.util.spec_from_file_location(f'mmpose_tool_{name}',
                                                  path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def adapt_config(cfg: Config) -> Config:
    """Adjust a config to this machine without changing its meaning.

    Multi-process runs without CUDA use the ``gloo`` backend instead of
    ``nccl`` and wrap the model in ``MMDistributedDataParallel`` without
    ``device_ids`` (MMEngine passes ``device_ids=[LOCAL_RANK]``, which
    ``DistributedDataParallel`` refuses for CPU modules).

    Args:
        cfg (Config): the merged config MMPose's tool is about to run.

    Returns:
        Config: the same object, adjusted in place.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher != 'none' and not torch.cuda.is_available():
        env_cfg = cfg.setdefault('env_cfg', {})
        dist_cfg = env_cfg.setdefault('dist_cfg', {})
        if dist_cfg.get('backend', 'nccl') == 'nccl':
            dist_cfg['backend'] = 'gloo'
        wrapper = cfg.get('model_wrapper_cfg')
        if wrapper is None:
            cfg.model_wrapper_cfg = dict(
                type='MMDistributedDataParallel', device_ids=None,
                broadcast_buffers=False,
                find_unused_parameters=cfg.get('find_unused_parameters',
                                               False))
        elif wrapper.get('type', 'MMDistributedDataParallel') == (
                'MMDistributedDataParallel'):
            wrapper.setdefault('device_ids', None)
    return cfg


class _AdaptingRunner(Runner):
    """MMEngine's ``Runner`` with this package's reliability additions.

    ``from_cfg`` applies :func:`adapt_config` and checks the config
    (:func:`~.config_checks.check_config` on :attr:`data_splits`) before
    building anything; the rest hooks into ``Runner``'s own build and
    checkpoint methods (see the module docstring).
    """

    #: Dataloaders the run uses, for the config checks.
    data_splits: Sequence[str] = SPLITS

    @classmethod
    def from_cfg(cls, cfg: Config) -> Runner:
        cfg = adapt_config(cfg)
        check_config(cfg, cls.data_splits)
        return super().from_cfg(cfg)

    def setup_env(self, env_cfg: Dict) -> None:
        """Start a ``--launcher pytorch`` process group without CUDA.

        MMEngine's ``init_dist`` calls ``torch.cuda.set_device(local_rank)``
        before ``init_process_group``, which fails on a CPU-only machine;
        ``Runner.setup_env`` skips ``init_dist`` when a group exists.
        """
        if (self.distributed and self.launcher == 'pytorch'
                and not torch.cuda.is_available()
                and not torch_dist.is_initialized()):
            dist_cfg = dict(env_cfg.get('dist_cfg', {}))
            backend = dist_cfg.pop('backend', 'gloo')
            if dist_cfg.get('timeout') is not None:
                dist_cfg['timeout'] = datetime.timedelta(
                    seconds=dist_cfg['timeout'])
            torch_dist.init_process_group(backend=backend, **dist_cfg)
        super().setup_env(env_cfg)

    def register_default_hooks(
            self,
            hooks: Optional[Dict[str, Union[Hook, Dict]]] = None) -> None:
        """Use :class:`SafeCheckpointHook`; add :class:`FiniteLossHook`."""
        hooks = dict(hooks or {})
        checkpoint = hooks.get('checkpoint', dict(interval=1))
        if isinstance(checkpoint, dict) and checkpoint.get(
                'type', 'CheckpointHook') in ('CheckpointHook',
                                              CheckpointHook):
            hooks['checkpoint'] = dict(checkpoint, type=SafeCheckpointHook)
        super().register_default_hooks(hooks)
        if not any(isinstance(h, FiniteLossHook) for h in self._hooks):
            self.register_hook(FiniteLossHook())

    @master_only
    def save_checkpoint(self,
                        out_dir: str,
                        filename: str,
                        file_client_args: Optional[dict] = None,
                        save_optimizer: bool = True,
                        save_param_scheduler: bool = True,
                        meta: Optional[dict] = None,
                        by_epoch: bool = True,
                        backend_args: Optional[dict] = None) -> None:
        """``Runner.save_checkpoint``, written atomically on local disks."""
        kwargs = dict(file_client_args=file_client_args,
                      save_optimizer=save_optimizer,
                      save_param_scheduler=save_param_scheduler, meta=meta,
                      by_epoch=by_epoch, backend_args=backend_args)
        if file_client_args is not None or not is_local_dir(
                out_dir, backend_args):
            return super().save_checkpoint(out_dir, filename, **kwargs)
        with atomic_checkpoint_name(out_dir, filename) as temp_name:
            super().save_checkpoint(out_dir, temp_name, **kwargs)

    def load_or_resume(self) -> None:
        """Auto ``--resume`` from the newest *complete* checkpoint."""
        if self._resume and self._load_from is None and not self._has_loaded:
            hook = next((h for h in self._hooks
                         if isinstance(h, CheckpointHook)), None)
            found = find_resumable_checkpoint(
                self.work_dir, getattr(hook, 'filename_tmpl', None))
            if found is None:
                self.logger.info('No checkpoint to resume from in '
                                 f'{self.work_dir}: training from scratch.')
                self._resume = False
            else:
                self.logger.info(f'Auto resumed from the latest checkpoint '
                                 f'{found}.')
                self._load_from = found
        super().load_or_resume()

    def load_checkpoint(self,
                        filename: str,
                        map_location: Union[str, Callable] = 'cpu',
                        strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]):  # noqa: B006
        """``Runner.load_checkpoint`` with a clear weights-only refusal."""
        with explain_refused_checkpoint(filename):
            return super().load_checkpoint(filename, map_location, strict,
                                           revise_keys)

    def build_optim_wrapper(self, optim_wrapper):
        """Build ``AmpOptimWrapper`` configs as bfloat16 AMP on the CPU."""
        if isinstance(optim_wrapper, dict) and optim_wrapper.get(
                'type') in ('AmpOptimWrapper', AmpOptimWrapper) and (
                    not torch.cuda.is_available()):
            optim_wrapper = dict(optim_wrapper, type=CpuAmpOptimWrapper)
        return super().build_optim_wrapper(optim_wrapper)

    @staticmethod
    def build_dataloader(dataloader: Union[DataLoader, Dict],
                         seed: Optional[int] = None,
                         diff_rank_seed: bool = False) -> DataLoader:
        """``Runner.build_dataloader`` plus the checks of :mod:`.data_guard`.
        """
        with explain_empty_dataset(dataloader):
            loader = Runner.build_dataloader(dataloader, seed,
                                             diff_rank_seed)
        guard_dataset(loader.dataset)
        return loader


def run_mmpose_tool(name: str, argv: Optional[List[str]] = None) -> None:
    """Run MMPose's tool ``name`` with this package's additions.

    Args:
        name (str): ``'train'`` or ``'test'``.
        argv (list[str], optional): command-line arguments without the
            program name. Defaults to ``sys.argv[1:]``.
    """
    import mmpose_ext  # noqa: F401  (registers components)

    argv = list(sys.argv[1:] if argv is None else argv)
    trust = TRUST_FLAG in argv
    argv = [a for a in argv if a != TRUST_FLAG]
    tool = load_mmpose_tool(name)
    splits = ('train', 'val') if name == 'train' else ('test', )
    tool.Runner = type('_AdaptingRunner', (_AdaptingRunner, ),
                       dict(data_splits=splits))
    sys.argv = [f'tools/{name}.py'] + argv
    with trust_checkpoint_pickles() if trust else nullcontext():
        tool.main()
