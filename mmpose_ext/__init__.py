"""mmpose_ext: multi-stage and attention pose models as MMPose components.

Importing the package (what every config's ``custom_imports`` does)
registers its codecs, models and engine components into MMPose's and
MMEngine's registries, makes ``mmpose_ext::`` a config scope
(:mod:`.package_files`), allow-lists what MMEngine checkpoints pickle so
that they load weights-only on torch >= 2.6
(:mod:`.engine.checkpoint_allowlist`), and makes forked DataLoader workers
die with their run (:mod:`.engine.worker_lifetime`). Tools, analysis and
data generation live in sub-packages that are imported only when used.
"""
from .private_state import check_mmengine_version

check_mmengine_version()

# isort: off
from . import codecs, engine, models  # noqa: E402,F401  (registration)
from .engine.checkpoint_allowlist import (  # noqa: E402
    allow_mmengine_checkpoint_globals)
from .engine.worker_lifetime import (  # noqa: E402
    kill_forked_children_with_parent)
from .package_files import register_config_scope  # noqa: E402
from .version import __version__  # noqa: E402
# isort: on

allow_mmengine_checkpoint_globals()
register_config_scope()
kill_forked_children_with_parent()

__all__ = ['__version__', 'codecs', 'engine', 'models']
