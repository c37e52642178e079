"""Other libraries' internals that the package relies on, in one place.

Each entry names the version it was verified on; the tests
(``tests/test_private_state.py``) fail when that behaviour is gone.

* ``mmengine.config.utils.MODULE2PACKAGE`` (MMEngine 0.10.7): the table of
  config scopes MMEngine resolves (``mmpose::...``). It has no public
  registration; :func:`register_mmengine_config_scope` adds an entry.

* MMEngine's ``IterBasedTrainLoop.dataloader_iterator`` and its
  ``_iterator``, ``InfiniteSampler._indices_of_rank`` (0.10.7) and
  ``torch.utils.data.DataLoader._iterator`` (torch 2.14):
  :func:`restart_iteration_loop_workers` restarts the workers an
  iteration-based loop forked before any hook ran.

Process-wide changes made by ``import mmpose_ext`` (public APIs, listed
here so that none is a surprise):

* an ``os.register_at_fork`` handler that makes forked children die with
  their parent (:mod:`mmpose_ext.engine.worker_lifetime`);
* ``torch.serialization.add_safe_globals`` for what MMEngine checkpoints
  pickle (:mod:`mmpose_ext.engine.checkpoint_allowlist`).

:func:`check_mmengine_version` refuses an MMEngine outside the verified
range at ``import mmpose_ext``.
"""
import os
import warnings

__all__ = [
    'MMENGINE_VERIFIED', 'check_mmengine_version',
    'register_mmengine_config_scope', 'restart_iteration_loop_workers'
]

#: MMEngine versions whose internals the package is verified on
#: (``>= first``, ``< end``), the range ``setup.py`` declares.
MMENGINE_VERIFIED = ('0.10.7', '0.11.0')
#: Set to 1 to import the package on another MMEngine anyway (a warning).
ALLOW_ENV = 'MMPOSE_EXT_ALLOW_UNVERIFIED_MMENGINE'


def _version_tuple(version: str) -> tuple:
    parts = []
    for piece in version.split('+')[0].split('.')[:3]:
        digits = ''.join(c for c in piece if c.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def check_mmengine_version(version: str = None) -> None:
    """Refuse an MMEngine whose internals the package was not verified on.

    Args:
        version (str, optional): Defaults to the installed MMEngine's.

    Raises:
        ImportError: naming the version and the verified range, unless the
            environment variable ``MMPOSE_EXT_ALLOW_UNVERIFIED_MMENGINE=1``
            is set (then a warning).
    """
    if version is None:
        import mmengine
        version = mmengine.__version__
    low, end = MMENGINE_VERIFIED
    if _version_tuple(low) <= _version_tuple(version) < _version_tuple(end):
        return
    message = (f'mmpose_ext is verified on MMEngine >={low},<{end} (it uses '
               f'MMEngine internals listed in mmpose_ext/private_state.py); '
               f'this environment has MMEngine {version}. Install '
               f'mmengine=={low}, or set {ALLOW_ENV}=1 to try anyway.')
    if os.environ.get(ALLOW_ENV) == '1':
        warnings.warn(message)
        return
    raise ImportError(message)


def register_mmengine_config_scope(scope: str, module: str) -> None:
    """Let MMEngine's ``Config`` resolve ``<scope>::<path>`` (0.10.7).

    MMEngine maps the scope to a distribution name through
    ``MODULE2PACKAGE`` and finds the package folder with ``pkg_resources``,
    which for an editable install names ``site-packages``, not the
    checkout. Mapping the scope to a *module* that is not a distribution
    makes MMEngine fall back to ``importlib.util.find_spec``, whose
    ``origin`` is inside the real package folder in every kind of install;
    MMEngine then reads ``<that folder>/.mim/configs/<path>``.

    Args:
        scope (str): The scope, e.g. ``'mmpose_ext'``.
        module (str): A module directly inside the package folder.
    """
    from mmengine.config import utils
    utils.MODULE2PACKAGE.setdefault(scope, module)



def restart_iteration_loop_workers(loop) -> None:
    """Restart the DataLoader workers of an ``IterBasedTrainLoop`` (MMEngine
    0.10.7, torch 2.14) so that they fork from the dataset as it is now.

    The loop starts iterating its loader when it is built
    (``loop.dataloader_iterator``, whose ``_iterator`` is the torch
    iterator with the workers); a ``persistent_workers`` loader also keeps
    that iterator in its private ``_iterator``. Both are shut down, and
    MMEngine's ``InfiniteSampler`` gets a fresh index generator (its
    ``indices``, from the private ``_indices_of_rank``): the old iterator's
    generator is closed when it is collected, which would end the new
    one. Nothing was consumed yet, so the indices are those of a run that
    was never restarted.

    Args:
        loop (IterBasedTrainLoop): The built loop, before it runs.
    """
    started = loop.dataloader_iterator
    loader = loop.dataloader
    workers = getattr(started, '_iterator', None)
    if hasattr(workers, '_shutdown_workers'):
        workers._shutdown_workers()
    if getattr(loader, '_iterator', None) is not None:
        loader._iterator = None
    sampler = getattr(loader, 'sampler', None)
    if hasattr(sampler, '_indices_of_rank'):
        sampler.indices = sampler._indices_of_rank()
    loop.dataloader_iterator = type(started)(loader)
