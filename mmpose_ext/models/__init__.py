from . import backbones, heads, layers, losses, necks, utils  # noqa: F401

__all__ = ['backbones', 'heads', 'layers', 'losses', 'necks', 'utils']
