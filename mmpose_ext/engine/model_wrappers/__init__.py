"""Model wrappers registered in MMPose's ``MODEL_WRAPPERS``."""
from .channels_last_distributed_data_parallel import (
    ChannelsLastDistributedDataParallel,
)

__all__ = ['ChannelsLastDistributedDataParallel']
