from .atomic_checkpoint_hook import AtomicCheckpointHook
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .unreadable_image_hook import UnreadableImageError, UnreadableImageHook

__all__ = [
    'AtomicCheckpointHook', 'NonFiniteLossError', 'NonFiniteLossHook',
    'UnreadableImageError', 'UnreadableImageHook'
]
