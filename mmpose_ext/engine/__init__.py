"""Training behaviour as registered components, mirroring ``mmpose.engine``.

Hooks in MMPose's ``HOOKS``, the CPU AMP optimizer wrapper and its
constructor in ``OPTIM_WRAPPERS`` / ``OPTIM_WRAPPER_CONSTRUCTORS``, and the
``'atomic_local'`` file backend in MMEngine's backend registry: a config
switches each on (``configs/_base_/mmpose_ext_runtime.py`` does for every
config of the package), so MMPose's stock ``tools/train.py`` and
``tools/test.py`` behave as the package's own.
"""
from .checkpoint_allowlist import (
    explain_refused_checkpoint,
    trust_checkpoint_pickles,
)
from .checkpoint_files import checkpoint_problem, find_resumable_checkpoint
from .checkpoint_fit import (
    CheckpointFit,
    CheckpointMismatchError,
    check_checkpoint,
    load_fitting_weights,
)
from .fast_path import apply_fast_path, fast_path_options
from .fileio import AtomicLocalBackend
from .hooks import (
    AtomicCheckpointHook,
    CheckpointFitHook,
    FastPathHook,
    NonFiniteLossError,
    NonFiniteLossHook,
    UnreadableImageError,
    UnreadableImageHook,
)
from .model_wrappers import ChannelsLastDistributedDataParallel
from .optim_wrappers import CpuAmpOptimWrapper, CpuAmpOptimWrapperConstructor

__all__ = [
    'AtomicCheckpointHook', 'AtomicLocalBackend',
    'ChannelsLastDistributedDataParallel', 'CheckpointFit',
    'CheckpointFitHook', 'CheckpointMismatchError', 'CpuAmpOptimWrapper',
    'CpuAmpOptimWrapperConstructor', 'FastPathHook', 'NonFiniteLossError',
    'NonFiniteLossHook', 'UnreadableImageError', 'UnreadableImageHook',
    'apply_fast_path', 'check_checkpoint', 'checkpoint_problem',
    'explain_refused_checkpoint', 'fast_path_options',
    'find_resumable_checkpoint', 'load_fitting_weights',
    'trust_checkpoint_pickles'
]
