from .interpolate import interpolate

__all__ = ['interpolate']
