from .atomic_checkpoint_hook import AtomicCheckpointHook
from .checkpoint_fit_hook import CheckpointFitHook
from .fast_path_hook import FastPathHook
from .non_finite_loss_hook import (
    DivergedLossError,
    NonFiniteLossError,
    NonFiniteLossHook,
)
from .unreadable_image_hook import UnreadableImageError, UnreadableImageHook

__all__ = [
    'AtomicCheckpointHook', 'CheckpointFitHook', 'DivergedLossError',
    'FastPathHook',
    'NonFiniteLossError', 'NonFiniteLossHook', 'UnreadableImageError',
    'UnreadableImageHook'
]
