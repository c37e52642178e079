"""Other libraries' internals and process-wide patches, in one place.

Every use the package makes of another library's private attribute or
method, and every process-wide change, is a function here (callers import
it) or is listed below. Each entry names the version it was verified on;
``tests/test_private_state.py`` fails when that behaviour is gone.

Private state, used through the functions of this module:

* ``mmengine.config.utils.MODULE2PACKAGE`` (MMEngine 0.10.7): the table of
  config scopes MMEngine resolves (``mmpose::...``). It has no public
  registration; :func:`register_mmengine_config_scope` adds an entry.
* MMEngine's ``IterBasedTrainLoop.dataloader_iterator`` and its
  ``_iterator``, ``InfiniteSampler._indices_of_rank`` (0.10.7) and
  ``torch.utils.data.DataLoader._iterator`` (torch 2.14):
  :func:`restart_iteration_loop_workers` restarts the workers an
  iteration-based loop forked before any hook ran.
* ``HistoryBuffer._statistics_methods`` (MMEngine 0.10.7): the statistics
  methods a checkpoint pickles as ``getattr(HistoryBuffer, name)``;
  :func:`history_buffer_statistics_methods` reads their names for the
  weights-only allow-list (:mod:`mmpose_ext.engine.checkpoint_allowlist`).
* ``CheckpointHook.file_backend`` (MMEngine 0.10.7): the hook writes *and
  removes* checkpoints through it, so the atomic hook swaps it
  (:func:`set_checkpoint_hook_file_backend`). The same hook overrides
  ``CheckpointHook._save_checkpoint_with_step`` and
  ``_save_best_checkpoint`` (0.10.7), the two methods every periodic and
  best-checkpoint save goes through, to mark a save point and call the
  original (:class:`~mmpose_ext.engine.hooks.AtomicCheckpointHook`; the
  test checks MMEngine still saves through them).
* ``Runner._maybe_compile('train_step')`` (MMEngine 0.10.7) sets a compiled
  ``train_step`` as an instance attribute of the model;
  :func:`remove_compiled_train_step` deletes it (the fast path compiles the
  network only: :mod:`mmpose_ext.engine.fast_path`).
* ``torch._inductor.config.cpp.enable_kernel_profile`` (torch 2.14): a
  private inductor switch that names each compiled CPU kernel in a
  profile; :func:`inductor_kernel_profile` (``--kernels`` of
  ``tools/analysis/profile_step.py``).
* ``state_dict._metadata`` (torch 2.14): the per-module versions that
  ``nn.Module.state_dict`` attaches and ``load_state_dict`` hands to each
  module's ``_load_from_state_dict`` (BatchNorm's ``num_batches_tracked``
  upgrade reads it). It is torch's documented-by-use state-dict
  convention, not an implementation detail, but underscored:
  :func:`copy_state_dict_metadata` keeps it on a filtered copy
  (:mod:`mmpose_ext.engine.checkpoint_fit`).

Process-wide patches:

* ``torch.load`` is replaced inside :func:`torch_load_defaults` (torch
  2.14, MMEngine 0.10.7, whose checkpoint loaders call ``torch.load``
  through the module attribute): the explicit ``--trust-checkpoint``
  opt-in (:func:`mmpose_ext.engine.trust_checkpoint_pickles`).
* MMPose's ``tools/train.py`` / ``tools/test.py`` are loaded as modules
  and their module-level ``Runner`` is replaced by the package's
  ``PreflightRunner`` (MMPose 1.3.2;
  :func:`mmpose_ext.apis.mmpose_tools.run_mmpose_tool`), with
  ``sys.argv`` set for the script and restored after it.

Not private state, listed because the names look private:

* ``numpy.core.multiarray._reconstruct`` / ``numpy._core.multiarray
  ._reconstruct``: the global a pickled numpy array names (numpy 1.x and
  2.x); the allow-list admits it under that name, it reads nothing of
  numpy's state (the test checks numpy still pickles through it).
* ``nn.Module._compiled_call_impl``: no longer used (the fast path
  compiles ``forward``, :func:`mmpose_ext.engine.fast_path.compile_network`).
* Every other ``._name`` in ``mmpose_ext/`` is the package's own attribute
  or method (``os._exit`` is public).

Process-wide changes made by ``import mmpose_ext`` (public APIs, listed
here so that none is a surprise):

* an ``os.register_at_fork`` handler that makes forked children die with
  their parent (:mod:`mmpose_ext.engine.worker_lifetime`);
* ``torch.serialization.add_safe_globals`` for what MMEngine checkpoints
  pickle (:mod:`mmpose_ext.engine.checkpoint_allowlist`).

:func:`check_mmengine_version` refuses an MMEngine outside the verified
range at ``import mmpose_ext``.
"""
import contextlib
import os
import warnings
from typing import Any, ContextManager, Iterator

__all__ = [
    'MMENGINE_VERIFIED', 'check_mmengine_version',
    'copy_state_dict_metadata', 'history_buffer_statistics_methods',
    'inductor_kernel_profile', 'register_mmengine_config_scope',
    'remove_compiled_train_step', 'restart_iteration_loop_workers',
    'set_checkpoint_hook_file_backend', 'torch_load_defaults'
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


def history_buffer_statistics_methods() -> frozenset:
    """Names of the statistics methods of MMEngine's ``HistoryBuffer``.

    MMEngine 0.10.7 keeps them in the private class dict
    ``HistoryBuffer._statistics_methods`` (filled per instance); a pickled
    ``HistoryBuffer`` refers to them as ``getattr(HistoryBuffer, name)``.

    Returns:
        frozenset[str]: The names (``min``, ``max``, ``current``, ``mean``
        and any registered with ``HistoryBuffer.register_statistics``).
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    return frozenset(HistoryBuffer._statistics_methods)


def set_checkpoint_hook_file_backend(hook, backend) -> Any:
    """Make an MMEngine ``CheckpointHook`` write and remove checkpoints
    through ``backend`` (MMEngine 0.10.7).

    ``CheckpointHook.before_train`` sets ``file_backend``; every save,
    ``join_path`` and removal of an old checkpoint (``max_keep_ckpts``,
    a replaced best checkpoint) goes through it afterwards.

    Args:
        hook (CheckpointHook): The hook, after its ``before_train``.
        backend (BaseStorageBackend): The backend to use from now on.

    Returns:
        BaseStorageBackend | None: The backend it used before (``None``
        before ``before_train``).
    """
    previous = getattr(hook, 'file_backend', None)
    hook.file_backend = backend
    return previous


def remove_compiled_train_step(model) -> bool:
    """Remove the compiled ``train_step`` MMEngine set on ``model``.

    MMEngine 0.10.7's ``Runner._maybe_compile('train_step')`` does
    ``setattr(model, 'train_step', torch.compile(model.train_step))``, an
    instance attribute over the class's method; deleting it restores the
    method. ``torch.compile`` is lazy, so nothing was compiled yet when it
    is removed before training.

    Args:
        model (nn.Module): The runner's model.

    Returns:
        bool: whether a compiled ``train_step`` was removed.
    """
    return vars(model).pop('train_step', None) is not None


def inductor_kernel_profile() -> ContextManager:
    """A context in which inductor's generated CPU kernels record a
    profiler event each.

    The switch is private inductor state,
    ``torch._inductor.config.cpp.enable_kernel_profile`` (torch 2.14). It
    is part of inductor's cache key, so kernels compiled with it are not
    reused without it.

    Returns:
        ContextManager: inductor's ``config.patch`` of the switch.
    """
    import torch._inductor.config as inductor_config
    return inductor_config.patch({'cpp.enable_kernel_profile': True})


def copy_state_dict_metadata(source, target) -> None:
    """Give ``target`` the per-module versions of the state dict
    ``source`` (torch 2.14).

    ``nn.Module.state_dict`` attaches them as ``_metadata`` and
    ``load_state_dict`` passes each module its entry (BatchNorm upgrades
    old checkpoints by it); a filtered copy of a state dict loses them.

    Args:
        source (Mapping): The state dict as loaded.
        target (OrderedDict): The filtered copy (changed in place).
    """
    metadata = getattr(source, '_metadata', None)
    if metadata is not None:
        target._metadata = metadata


@contextlib.contextmanager
def torch_load_defaults(**defaults) -> Iterator[None]:
    """Replace ``torch.load``, process-wide, inside the block by one with
    other defaults (torch 2.14).

    MMEngine 0.10.7 loads checkpoints with ``torch.load(filename,
    map_location=...)`` looked up on the ``torch`` module at each call, so
    this reaches MMEngine's loaders and MMPose's tools. Explicit arguments
    of a caller win over ``defaults``.

    Args:
        **defaults: Keyword defaults, e.g. ``weights_only=False``.
    """
    import torch
    original = torch.load

    def load(*args, **kwargs):
        for key, value in defaults.items():
            kwargs.setdefault(key, value)
        return original(*args, **kwargs)

    torch.load = load
    try:
        yield
    finally:
        torch.load = original
