"""Run MMPose's own ``tools/train.py`` / ``tools/test.py`` with mmpose_ext.

The package's tools wrap MMPose's scripts (shipped inside the mmpose wheel
under ``mmpose/.mim/tools``) instead of forking them, so command-line flags
and behaviour stay MMPose's. The wrapper only adds what the stock scripts
lack on this stack:

* ``import mmpose_ext`` first (registries, weights-only checkpoint loading);
* ``--trust-checkpoint``: explicit opt-in to full unpickling of checkpoints;
* on a machine without CUDA, distributed runs use the ``gloo`` backend
  (MMEngine's default ``nccl`` needs GPUs).
"""
import importlib.util
import os.path as osp
import sys
from contextlib import nullcontext
from types import ModuleType
from typing import List, Optional

import mmpose
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from .checkpoint_compat import trust_checkpoint_pickles

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
    return cfg


class _AdaptingRunner(Runner):
    """``Runner`` whose ``from_cfg`` first applies :func:`adapt_config`."""

    @classmethod
    def from_cfg(cls, cfg: Config) -> Runner:
        return Runner.from_cfg(adapt_config(cfg))


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
    tool.Runner = _AdaptingRunner
    sys.argv = [f'tools/{name}.py'] + argv
    with trust_checkpoint_pickles() if trust else nullcontext():
        tool.main()
