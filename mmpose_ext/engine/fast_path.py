"""The fast path: channels-last weights and a compiled network.

Two switches, both read from a config by :func:`fast_path_options`:

* ``default_hooks.fast_path.channels_last`` (:class:`~.hooks.FastPathHook`)
  stores the network's weights in ``torch.channels_last`` memory format;
  convolutions then produce channels-last activations (the oneDNN and
  cuDNN kernels are faster in that layout) without touching the models'
  code or the data pipeline;
* MMEngine's own ``compile`` key (``True`` or a dict of ``torch.compile``
  options): MMEngine 0.10.7 compiles the whole ``model.train_step``,
  MMEngine's data structures and the optimizer step included, which fails
  in dynamo on ``BaseDataElement.set_metainfo`` and was slower when it ran.
  Here only the network is compiled: the ``forward`` of the backbone, neck
  and head, in place (parameter names and checkpoints stay the same), for
  training, validation and testing alike.

:func:`apply_fast_path` applies both to a model; the hook applies them in
every runner, :func:`mmpose_ext.apis.init_model` and the benchmark tool to
the models they build.
"""
import weakref
from typing import Any, List, Optional, Tuple

import torch
from mmcv.cnn import MaxPool2d as MMCVMaxPool2d
from mmengine.model import is_model_wrapper
from torch import nn

from ..models.utils import MaxPool2d, Upsample
from ..private_state import remove_compiled_train_step

__all__ = [
    'NETWORK_PARTS', 'apply_fast_path', 'compile_network',
    'compile_options', 'fast_path_options', 'is_compiled', 'network_modules',
    'to_channels_last', 'undo_mmengine_train_step_compile',
    'use_custom_operators'
]

#: The submodules of a pose estimator that :func:`compile_network` compiles.
NETWORK_PARTS = ('backbone', 'neck', 'head')
#: The modules whose forward :func:`compile_network` compiled.
_COMPILED: 'weakref.WeakSet[nn.Module]' = weakref.WeakSet()


def compile_options(value: Any) -> Optional[dict]:
    """MMEngine's ``compile`` config value as ``torch.compile`` options.

    Static shapes (``dynamic=False``) unless the options say otherwise: a
    training epoch's last, smaller batch otherwise makes dynamo recompile
    the network for a dynamic batch size, whose kernels were slower on the
    CPU for the rest of the run (``docs/fast_path.md``); with static shapes
    each batch size gets its own graph. ``dict(dynamic=None)`` restores
    PyTorch's automatic dynamic shapes.

    Args:
        value: ``None``/``False`` (off), ``True`` (defaults) or a dict.

    Returns:
        dict | None: the options, ``None`` when compiling is off.

    Raises:
        TypeError: for any other value.
    """
    if value is None or value is False:
        return None
    if value is True:
        return dict(dynamic=False)
    if isinstance(value, dict):
        return dict(dict(dynamic=False), **value)
    raise TypeError(f'compile must be a bool or a dict of torch.compile '
                    f'options, got {value!r}')


def fast_path_options(cfg: Any) -> Tuple[bool, Optional[dict]]:
    """``(channels_last, compile options)`` a config selects.

    Args:
        cfg (Config | dict): A full config.

    Returns:
        tuple: whether ``default_hooks.fast_path`` sets ``channels_last``,
        and :func:`compile_options` of ``compile``.
    """
    hook = (cfg.get('default_hooks') or {}).get('fast_path') or {}
    return (bool(hook.get('channels_last', False)),
            compile_options(cfg.get('compile')))


def unwrap(model: nn.Module) -> nn.Module:
    return model.module if is_model_wrapper(model) else model


def network_modules(model: nn.Module) -> List[nn.Module]:
    """The backbone, neck and head a pose estimator has."""
    model = unwrap(model)
    return [
        getattr(model, name) for name in NETWORK_PARTS
        if isinstance(getattr(model, name, None), nn.Module)
    ]


def to_channels_last(model: nn.Module) -> nn.Module:
    """Store the 4-D weights of ``model`` channels-last, in place (the
    parameters stay the same objects, so an optimizer built on them keeps
    working). Returns ``model``."""
    return model.to(memory_format=torch.channels_last)


def _plain_max_pool(module: nn.Module) -> bool:
    # nn.MaxPool2d and MMCV's wrapper of it (MMPose's MSPN stem)
    if type(module) not in (nn.MaxPool2d, MMCVMaxPool2d):
        return False
    dilation = module.dilation
    return (not module.return_indices and
            all(d == 1 for d in (dilation if isinstance(dilation, (
                tuple, list)) else (dilation, ))))


def use_custom_operators(model: nn.Module) -> int:
    """Make the plain ``nn.MaxPool2d`` and ``nn.Upsample`` modules of
    ``model`` the package's :class:`~mmpose_ext.models.utils.MaxPool2d` and
    :class:`~mmpose_ext.models.utils.Upsample`, in place.

    Both are subclasses with the same attributes and no state, which in
    eager mode compute exactly what they replace; compiled for training on
    the CPU they keep ATen's kernel pairs (custom operators) where the
    compiler's gradients are scatter-adds: MMPose's HRNet upsamples with
    ``nn.Upsample`` in every fuse layer, and MMPose's ResNet and MSPN stems
    pool with ``nn.MaxPool2d`` / MMCV's ``MaxPool2d``
    (``docs/fast_path.md``). Only the module's class changes (parameter
    names, state dicts and hooks stay); subclasses other than MMCV's
    wrapper and settings the package's modules do not cover (dilation,
    indices, fractional scale factors) are left as they are.

    Args:
        model (nn.Module): Any module; its submodules are changed.

    Returns:
        int: how many modules were changed.
    """
    changed = 0
    for module in model.modules():
        if _plain_max_pool(module):
            module.__class__ = MaxPool2d
        elif type(module) is nn.Upsample and Upsample.supported(module):
            module.__class__ = Upsample
        else:
            continue
        changed += 1
    return changed


def compile_network(model: nn.Module, options: Optional[dict] = None
                    ) -> List[nn.Module]:
    """Compile the backbone, neck and head of ``model`` in place.

    Each part's ``forward`` is replaced by ``torch.compile`` of it (an
    instance attribute over the class's method); names, parameters and
    state dicts are unchanged. It is ``forward``, not the module call
    (``nn.Module.compile``), that is compiled because MMPose's estimators
    call ``head.loss`` / ``head.predict``, which call ``self.forward``
    directly: a compiled ``__call__`` never ran for a head. Hooks of the
    parts run eagerly around the compiled forward. Modules compiled before
    are left as they are. Each part's pooling and upsampling modules go
    through the package's custom operators first
    (:func:`use_custom_operators`).

    Args:
        model (nn.Module): A pose estimator (or its wrapper).
        options (dict, optional): ``torch.compile`` options.

    Returns:
        list[nn.Module]: the modules compiled by this call.
    """
    compiled = []
    for module in network_modules(model):
        if module in _COMPILED:
            continue
        use_custom_operators(module)
        module.forward = torch.compile(module.forward, **(options or {}))
        _COMPILED.add(module)
        compiled.append(module)
    return compiled


def is_compiled(module: nn.Module) -> bool:
    """Whether :func:`compile_network` compiled ``module``."""
    return module in _COMPILED


def undo_mmengine_train_step_compile(runner) -> bool:
    """Remove MMEngine's compiled ``train_step`` from the runner's model.

    MMEngine 0.10.7's ``Runner._maybe_compile('train_step')`` does
    ``setattr(model, 'train_step', torch.compile(model.train_step))``, an
    instance attribute over the class's method; deleting it restores the
    method (:func:`mmpose_ext.private_state.remove_compiled_train_step`,
    where that MMEngine detail is listed and tested). ``torch.compile`` is
    lazy, so nothing was compiled yet when this runs (``before_train``).

    Args:
        runner (Runner): The runner whose model to restore.

    Returns:
        bool: whether a compiled ``train_step`` was removed.
    """
    return remove_compiled_train_step(runner.model)


def apply_fast_path(model: nn.Module,
                    channels_last: bool = False,
                    compile_cfg: Optional[dict] = None) -> nn.Module:
    """Apply the fast path to a pose estimator, in place.

    Args:
        model (nn.Module): A pose estimator (or its wrapper).
        channels_last (bool): :func:`to_channels_last`.
        compile_cfg (dict, optional): :func:`compile_network` with these
            options; ``None`` does not compile.

    Returns:
        nn.Module: ``model``.
    """
    if channels_last:
        to_channels_last(model)
    if compile_cfg is not None:
        compile_network(model, compile_cfg)
    return model
