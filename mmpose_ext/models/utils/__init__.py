from .bilinear_resize import bilinear_resize

__all__ = ['bilinear_resize']
