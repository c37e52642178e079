from .flatten_outputs import flatten_outputs
from .interpolate import Upsample, interpolate
from .max_pool import MaxPool2d, max_pool2d

__all__ = [
    'MaxPool2d', 'Upsample', 'flatten_outputs', 'interpolate', 'max_pool2d'
]
