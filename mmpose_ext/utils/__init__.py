from .checkpoint_compat import (
    explain_refused_checkpoint,
    register_safe_globals,
    trust_checkpoint_pickles,
)
from .config_checks import (
    UnknownComponentError,
    check_component_types,
    check_config,
    check_data_paths,
    check_keypoint_count,
)
from .config_summary import config_input_size, describe_model
from .cpu_amp import CpuAmpOptimWrapper, run_head_in_float32
from .data_guard import (
    GuardedImageLoading,
    UnreadableImageError,
    guard_dataset,
)
from .finite_loss_hook import FiniteLossHook, NonFiniteLossError
from .safe_checkpoint import (
    SafeCheckpointHook,
    atomic_checkpoint_name,
    checkpoint_problem,
    find_resumable_checkpoint,
)
from .stats import median_interval

__all__ = [
    'CpuAmpOptimWrapper', 'FiniteLossHook', 'GuardedImageLoading',
    'NonFiniteLossError', 'SafeCheckpointHook', 'UnknownComponentError',
    'UnreadableImageError', 'atomic_checkpoint_name',
    'check_component_types', 'check_config', 'check_data_paths',
    'check_keypoint_count', 'checkpoint_problem', 'config_input_size',
    'describe_model',
    'explain_refused_checkpoint', 'find_resumable_checkpoint',
    'guard_dataset', 'median_interval', 'register_safe_globals',
    'run_head_in_float32',
    'trust_checkpoint_pickles'
]
