"""mmpose_ext: multi-stage and attention pose models as MMPose components.

Importing the package registers every component into MMPose's registries and
makes MMEngine checkpoints load weights-only on torch >= 2.6.
"""
from .utils import register_safe_globals
from .version import __version__

register_safe_globals()

from . import codecs, models  # noqa: E402,F401  (register components)

__all__ = ['__version__', 'codecs', 'models']
