"""Does a checkpoint fit the model it is loaded into?

MMEngine loads checkpoints leniently (``strict=False``): weights the file
lacks keep their random initialisation, weights of other shapes are
skipped, and both only print a warning, so testing a checkpoint against
the wrong config scores a random model and exits 0.
:func:`load_fitting_weights` loads what fits, as MMEngine does, and
returns a :class:`CheckpointFit` of what did not; :func:`check_checkpoint`
raises :class:`CheckpointMismatchError` naming the mismatch and the
configs that probably fit (:func:`suggest_configs`), unless a partial
load is explicitly allowed.
"""
import functools
import re
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import nn

from ..package_files import PackageFilesNotFound, configs_dir, find_configs
from ..private_state import copy_state_dict_metadata

__all__ = [
    'CheckpointFit', 'CheckpointMismatchError', 'build_meta_model',
    'check_checkpoint', 'load_fitting_weights', 'suggest_configs'
]

#: Shown in every refusal: how to load a partial checkpoint anyway.
ALLOW_PARTIAL_HINT = (
    'pass --allow-partial (tools/test.py, tools/train.py, tools/demo.py) '
    'or set default_hooks.checkpoint_fit.allow_partial=True to load it '
    "anyway with MMEngine's lenient loading")
# torch's message for a weight of another shape
_SIZE_MISMATCH = re.compile(
    r'size mismatch for (\S+): copying a param with shape '
    r'torch\.Size\(\[([^\]]*)\]\) from checkpoint, the shape in current '
    r'model is torch\.Size\(\[([^\]]*)\]\)')


class CheckpointMismatchError(RuntimeError):
    """A checkpoint leaves weights uninitialised or has other shapes."""


@dataclass
class CheckpointFit:
    """What of a checkpoint did not fit a model.

    Args:
        num_model_keys (int): Entries of the model's state dict.
        num_checkpoint_keys (int): Entries of the checkpoint's state dict.
        missing (list[str]): Model entries the checkpoint lacks (BN's
            ``num_batches_tracked`` counters are not counted, as MMEngine
            does not count them).
        unexpected (list[str]): Checkpoint entries the model has no place
            for.
        mismatched (list[tuple]): ``(key, checkpoint shape, model shape)``
            of entries of other shapes (not loaded).
    """

    num_model_keys: int
    num_checkpoint_keys: int
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mismatched: List[Tuple[str, tuple, tuple]] = field(default_factory=list)

    @property
    def fits(self) -> bool:
        """Every weight of the model came from the checkpoint, which holds
        nothing else."""
        return not (self.missing or self.unexpected or self.mismatched)

    def describe(self, first: int = 3) -> str:
        """One line per kind of mismatch, naming the first ``first`` keys.
        """
        lines = []

        def names(keys):
            shown = ', '.join(keys[:first])
            return shown + (', ...' if len(keys) > first else '')

        if self.missing:
            lines.append(
                f'{len(self.missing)} of the model\'s {self.num_model_keys} '
                f'weights are missing from the checkpoint (would stay '
                f'randomly initialised): {names(self.missing)}')
        if self.unexpected:
            lines.append(
                f'{len(self.unexpected)} of the checkpoint\'s '
                f'{self.num_checkpoint_keys} entries are not in the model: '
                f'{names(self.unexpected)}')
        if self.mismatched:
            shapes = [f'{k} {list(a)} in the checkpoint, {list(b)} in the '
                      'model' for k, a, b in self.mismatched]
            lines.append(f'{len(self.mismatched)} have other shapes: '
                         f'{names(shapes)}')
        return '\n'.join(lines)


def _shape(value) -> Optional[tuple]:
    return tuple(value.shape) if isinstance(value, torch.Tensor) else None


def load_fitting_weights(model: nn.Module,
                         state_dict: Mapping[str, torch.Tensor]
                         ) -> CheckpointFit:
    """Load the entries of ``state_dict`` that fit ``model``; report the
    rest.

    The same entries as MMEngine's ``load_state_dict(strict=False)`` are
    loaded: ``module.`` prefixes are removed, the modules' own load hooks
    run (MMPose's renaming of pre-1.0 keys such as ``keypoint_head.``), and
    entries of other shapes are skipped. Works on models on the ``meta``
    device (nothing is copied then).

    Args:
        model (nn.Module): The model (unwrapped).
        state_dict (Mapping[str, Tensor]): The checkpoint's weights.

    Returns:
        CheckpointFit: what did not fit.
    """
    state = OrderedDict(
        (re.sub(r'^module\.', '', k), v) for k, v in state_dict.items())
    own = model.state_dict()
    mismatched = [(k, _shape(v), tuple(own[k].shape))
                  for k, v in state.items()
                  if k in own and _shape(v) not in (None, tuple(
                      own[k].shape))]
    for key, _, _ in mismatched:
        del state[key]
    copy_state_dict_metadata(state_dict, state)  # per-module versions
    with warnings.catch_warnings():
        # copying into a meta model is a no-op, which is all a check needs
        warnings.filterwarnings('ignore', message='.*meta parameter')
        try:
            result = model.load_state_dict(state, strict=False)
            missing, unexpected = result.missing_keys, result.unexpected_keys
        except RuntimeError as err:
            # keys renamed by a module's load hook onto weights of other
            # shapes: torch names them only in its message
            found = _SIZE_MISMATCH.findall(str(err))
            if not found:
                raise
            mismatched += [(k, tuple(int(n) for n in a.split(', ') if n),
                            tuple(int(n) for n in b.split(', ') if n))
                           for k, a, b in found]
            # torch raised before listing the missing / unexpected keys;
            # the mismatch alone already makes the fit partial
            missing, unexpected = [], []
    reshaped = {key for key, _, _ in mismatched}
    return CheckpointFit(
        num_model_keys=len(own),
        num_checkpoint_keys=len(state_dict),
        missing=[k for k in missing if not k.endswith('num_batches_tracked')
                 and k not in reshaped],
        unexpected=list(unexpected),
        mismatched=mismatched)


def _config_name(meta: Mapping) -> Optional[str]:
    """The config file name MMEngine's runner recorded, without ``.py``:
    ``experiment_name`` is ``{config name}_{YYYYmmdd_HHMMSS}``."""
    name = meta.get('experiment_name') if isinstance(meta, Mapping) else None
    if not isinstance(name, str):
        return None
    return re.sub(r'_\d{8}_\d{6}$', '', name)


def _state_signature(state_dict: Mapping) -> Dict[str, Optional[tuple]]:
    return {
        re.sub(r'^module\.', '', k): _shape(v)
        for k, v in state_dict.items()
        if not k.endswith('num_batches_tracked')
    }


def suggest_configs(checkpoint: Mapping,
                    config_dirs: Optional[Sequence[Path]] = None,
                    scan: bool = True) -> List[str]:
    """Configs that probably fit a checkpoint.

    First the config its training run recorded (the ``experiment_name`` of
    its ``meta``) if a file of that name is under ``config_dirs``; else,
    with ``scan``, every config under ``config_dirs`` whose model (built on
    the ``meta`` device, no weights) has exactly the checkpoint's keys and
    shapes.

    Args:
        checkpoint (Mapping): The loaded checkpoint (``state_dict`` and
            ``meta``, or a bare state dict).
        config_dirs (Sequence[Path], optional): Where to look. Defaults to
            the package's ``configs/``, installed or in the checkout
            (:mod:`mmpose_ext.package_files`).
        scan (bool): Build the models of the configs when the recorded
            name gives nothing. Defaults to ``True``.

    Returns:
        list[str]: paths of the configs, possibly empty.
    """
    if config_dirs is None:
        try:
            config_dirs = [configs_dir()]
        except PackageFilesNotFound:
            return []
    files = [p for d in config_dirs for p in find_configs(Path(d))]
    name = _config_name(checkpoint.get('meta', {}))
    named = [str(p) for p in files if p.stem == name]
    if named or not scan:
        return named
    wanted = _state_signature(checkpoint.get('state_dict', checkpoint))
    return [
        str(p) for p in files
        if _config_signature(str(p), p.stat().st_mtime_ns) == wanted
    ]


@functools.lru_cache(maxsize=None)
def _config_signature(path: str,
                      mtime_ns: int) -> Optional[Dict[str, Optional[tuple]]]:
    """Keys and shapes of a config's model (built on the meta device),
    cached per file version; ``None`` if it does not build."""
    from mmengine.config import Config
    try:
        model = build_meta_model(Config.fromfile(path))
    except Exception:  # noqa: BLE001 - a config that does not build
        return None
    return _state_signature(model.state_dict())


def build_meta_model(cfg) -> nn.Module:
    """A config's model on the ``meta`` device: its keys and shapes, no
    memory and no initialisation, for :func:`load_fitting_weights`."""
    from mmengine.registry import DefaultScope
    from mmpose.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpose'), \
            torch.device('meta'):
        return MODELS.build(cfg.model)


def _relative(path: str) -> str:
    """``path`` relative to the working directory when it is inside."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return path


def check_checkpoint(model: nn.Module,
                     checkpoint: Mapping,
                     filename: str,
                     allow_partial: bool = False,
                     config: Optional[str] = None,
                     logger=None) -> CheckpointFit:
    """Load the weights of ``checkpoint`` that fit; refuse a partial fit.

    Args:
        model (nn.Module): The model (unwrapped).
        checkpoint (Mapping): The loaded checkpoint (``state_dict`` and
            ``meta``, or a bare state dict).
        filename (str): Where it came from, for the message.
        allow_partial (bool): Only log a partial fit (MMEngine's lenient
            loading) instead of raising. Defaults to ``False``.
        config (str, optional): The config the model was built from, for
            the message.
        logger (logging.Logger, optional): Where a partial fit is logged.

    Returns:
        CheckpointFit: what did not fit (empty if it fits).

    Raises:
        CheckpointMismatchError: on a partial fit, naming the mismatch and
            the configs that probably fit, unless ``allow_partial``.
    """
    state = checkpoint.get('state_dict', checkpoint)
    fit = load_fitting_weights(model, state)
    if fit.fits:
        return fit
    what = f'checkpoint {filename} does not fit the model' + (
        f' of {config}' if config else '')
    if allow_partial:
        if logger is not None:
            logger.warning(f'{what} (loaded partially, allow_partial):\n'
                           f'{fit.describe()}')
        return fit
    found = [_relative(s) for s in suggest_configs(checkpoint)]
    suggestions = [s for s in found if not (
        config and Path(s).resolve() == Path(config).resolve())]
    if suggestions:
        hint = f'configs that probably fit: {", ".join(suggestions)}'
    elif found:
        hint = ('it was saved by a run of this config, probably with other '
                'options (--cfg-options)')
    else:
        hint = 'no config of the package has exactly its weights'
    raise CheckpointMismatchError(
        f'{what}:\n{fit.describe()}\n{hint}; {ALLOW_PARTIAL_HINT}.')
