"""Run MMPose's own ``tools/train.py`` / ``tools/test.py`` with the package.

The package's ``tools/train.py`` and ``tools/test.py`` wrap the scripts the
mmpose wheel ships (``mmpose/.mim/tools``) instead of forking them, so flags
and behaviour stay MMPose's. Atomic checkpoints, the NaN stop, unreadable
image handling and CPU AMP are engine components every config switches on
(``configs/_base_/mmpose_ext_runtime.py``), so the stock scripts give them
too. The wrapper adds only what a config cannot express:

* the config is checked before anything is built
  (:func:`~.config_checks.check_config`: unknown component names, missing
  or empty data files, head / data set keypoint mismatch), and a data set
  without samples is reported with its annotation file;
* ``--launcher pytorch`` without CUDA: MMEngine 0.10.7's ``init_dist``
  calls ``torch.cuda.set_device`` unconditionally, so the process group is
  started here with ``gloo`` before the runner is built (``Runner.setup_env``
  then skips ``init_dist``), and the model is wrapped in
  ``MMDistributedDataParallel`` without ``device_ids``, which
  ``DistributedDataParallel`` refuses for CPU modules;
* ``--trust-checkpoint``: explicit opt-in to full unpickling of checkpoints,
  and a weights-only refusal is reported with the file and that opt-in;
* a checkpoint that does not fit the model is refused (``CheckpointFitHook``
  is switched on if the config lacks it) and reported without a traceback,
  exit status 1; ``--allow-partial`` keeps MMEngine's lenient loading.

Everything hooks into public ``Runner`` methods (``from_cfg``,
``build_dataloader``, ``load_checkpoint``, ``resume``) of the subclass
:class:`PreflightRunner`, which the wrapper hands to MMPose's script.
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
from mmengine.runner import Runner
from torch.utils.data import DataLoader

from ..engine.checkpoint_allowlist import (
    explain_refused_checkpoint,
    trust_checkpoint_pickles,
)
from ..engine.checkpoint_fit import CheckpointMismatchError
from .config_checks import SPLITS, check_config, explain_empty_dataset

__all__ = [
    'PreflightRunner', 'adapt_to_cpu_distributed', 'load_mmpose_tool',
    'run_mmpose_tool'
]

TRUST_FLAG = '--trust-checkpoint'
PARTIAL_FLAG = '--allow-partial'


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


def adapt_to_cpu_distributed(cfg: Config) -> Config:
    """Start a CPU process group for a multi-process run without CUDA.

    A no-op for ``launcher='none'``, with CUDA, or when a process group
    exists. Otherwise the ``nccl`` backend becomes ``gloo``, the model
    wrapper gets ``device_ids=None`` and the process group is started (for
    ``--launcher pytorch``; other launchers are left to MMEngine).

    Args:
        cfg (Config): The merged config MMPose's tool is about to run.

    Returns:
        Config: the same object, adjusted in place.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return cfg
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        dist_cfg['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg')
    if wrapper is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel', device_ids=None,
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    elif wrapper.get('type', 'MMDistributedDataParallel') in (
            'MMDistributedDataParallel',
            'mmpose.ChannelsLastDistributedDataParallel'):
        wrapper.setdefault('device_ids', None)
    if launcher == 'pytorch' and not torch_dist.is_initialized():
        options = dict(dist_cfg)
        backend = options.pop('backend')
        if options.get('timeout') is not None:
            options['timeout'] = datetime.timedelta(
                seconds=options['timeout'])
        torch_dist.init_process_group(backend=backend, **options)
    return cfg


class PreflightRunner(Runner):
    """MMEngine's ``Runner`` that checks its config before building.

    ``from_cfg`` runs :func:`adapt_to_cpu_distributed` and
    :func:`~.config_checks.check_config` on :attr:`data_splits` first;
    ``build_dataloader`` names the annotation file of a data set without
    samples; ``load_checkpoint`` and ``resume`` explain a weights-only
    refusal; ``CheckpointFitHook`` checks every loaded checkpoint (added
    to ``default_hooks`` unless the config sets ``checkpoint_fit``).
    Everything else is MMEngine's.
    """

    #: Dataloaders the run uses, for the config checks.
    data_splits: Sequence[str] = SPLITS
    #: Load checkpoints that do not fit the model leniently (MMEngine's
    #: default) instead of refusing them.
    allow_partial: bool = False

    @classmethod
    def from_cfg(cls, cfg: Config) -> Runner:
        cfg = adapt_to_cpu_distributed(cfg)
        check_config(cfg, cls.data_splits)
        hooks = cfg.get('default_hooks')
        if hooks is None:
            hooks = cfg.default_hooks = {}
        if 'checkpoint_fit' not in hooks:
            hooks['checkpoint_fit'] = dict(type='CheckpointFitHook')
        if cls.allow_partial and hooks['checkpoint_fit'] is not None:
            hooks['checkpoint_fit']['allow_partial'] = True
        return super().from_cfg(cfg)

    @staticmethod
    def build_dataloader(dataloader: Union[DataLoader, Dict],
                         seed: Optional[int] = None,
                         diff_rank_seed: bool = False) -> DataLoader:
        with explain_empty_dataset(dataloader):
            return Runner.build_dataloader(dataloader, seed, diff_rank_seed)

    def load_checkpoint(self,
                        filename: str,
                        map_location: Union[str, Callable] = 'cpu',
                        strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]):  # noqa: B006
        with explain_refused_checkpoint(filename):
            return super().load_checkpoint(filename, map_location, strict,
                                           revise_keys)

    def resume(self, filename: str, *args, **kwargs) -> None:
        with explain_refused_checkpoint(filename):
            super().resume(filename, *args, **kwargs)


def _process_group_initialized() -> bool:
    return torch_dist.is_available() and torch_dist.is_initialized()


def run_mmpose_tool(name: str, argv: Optional[List[str]] = None) -> None:
    """Run MMPose's tool ``name`` with the package's preflight.

    A process group the run initialized (``--launcher pytorch``) is
    destroyed when the tool returns or fails; one that existed before is
    left alone.

    Args:
        name (str): ``'train'`` or ``'test'``.
        argv (list[str], optional): Command-line arguments without the
            program name. Defaults to ``sys.argv[1:]``.
    """
    import mmpose_ext  # noqa: F401  (registers components)

    argv = list(sys.argv[1:] if argv is None else argv)
    trust = TRUST_FLAG in argv
    partial = PARTIAL_FLAG in argv
    argv = [a for a in argv if a not in (TRUST_FLAG, PARTIAL_FLAG)]
    tool = load_mmpose_tool(name)
    had_process_group = _process_group_initialized()
    splits = ('train', 'val') if name == 'train' else ('test', )
    tool.Runner = type('PreflightRunner', (PreflightRunner, ),
                       dict(data_splits=splits, allow_partial=partial))
    saved_argv = sys.argv  # MMPose's script parses sys.argv
    sys.argv = [f'tools/{name}.py'] + argv
    with trust_checkpoint_pickles() if trust else nullcontext():
        try:
            tool.main()
        except CheckpointMismatchError as err:
            print(f'error: {err}', file=sys.stderr, flush=True)
            raise SystemExit(1) from None
        finally:
            # as torch.distributed asks of every program; an in-process
            # caller (a test, a notebook) is left without a global process
            # group that MMEngine would take for a distributed run
            if not had_process_group and _process_group_initialized():
                torch_dist.destroy_process_group()
            sys.argv = saved_argv
