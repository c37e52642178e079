from .flatten_outputs import flatten_outputs
from .interpolate import interpolate

__all__ = ['flatten_outputs', 'interpolate']
