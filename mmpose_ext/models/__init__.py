from . import backbones, heads, layers, losses, necks  # noqa: F401  (register modules)

__all__ = ['backbones', 'heads', 'layers', 'losses', 'necks']
