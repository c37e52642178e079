from .flatten_outputs import flatten_outputs
from .interpolate import interpolate
from .max_pool import MaxPool2d, max_pool2d

__all__ = ['MaxPool2d', 'flatten_outputs', 'interpolate', 'max_pool2d']
