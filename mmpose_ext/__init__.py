"""mmpose_ext: multi-stage and attention pose models as MMPose components.

Importing the package (what every config's ``custom_imports`` does)
registers its codecs, models and engine components into MMPose's and
MMEngine's registries, makes ``mmpose_ext::`` a config scope
(:mod:`.package_files`), and allow-lists what MMEngine checkpoints pickle
so that they load weights-only on torch >= 2.6
(:mod:`.engine.checkpoint_allowlist`). Tools, analysis and data generation
live in sub-packages that are imported only when used.
"""
from .private_state import check_mmengine_version

check_mmengine_version()

from . import codecs, engine, models  # noqa: E402,F401  (register components)
from .engine.checkpoint_allowlist import allow_mmengine_checkpoint_globals  # noqa: E402
from .package_files import register_config_scope  # noqa: E402
from .version import __version__  # noqa: E402

allow_mmengine_checkpoint_globals()
register_config_scope()

__all__ = ['__version__', 'codecs', 'engine', 'models']
