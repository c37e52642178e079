"""mmpose_ext: multi-stage and attention pose models as MMPose components.

Importing the package (what every config's ``custom_imports`` does)
registers its codecs, models and engine components into MMPose's and
MMEngine's registries, and allow-lists what MMEngine checkpoints pickle so
that they load weights-only on torch >= 2.6
(:mod:`.engine.checkpoint_allowlist`). Tools, analysis and data generation
live in sub-packages that are imported only when used.
"""
from . import codecs, engine, models  # noqa: F401  (register components)
from .engine.checkpoint_allowlist import allow_mmengine_checkpoint_globals
from .version import __version__

allow_mmengine_checkpoint_globals()

__all__ = ['__version__', 'codecs', 'engine', 'models']
