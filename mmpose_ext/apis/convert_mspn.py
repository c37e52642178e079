"""Convert an MMPose ``MSPN`` + ``MSPNHead`` checkpoint for ``CrossStageMSPN``.

``python tools/convert/mspn_to_cross_stage_mspn.py SRC DST [--config CFG]
[--cfg-options ...] [--list-keys] [--trust-checkpoint]`` reads a
checkpoint of MMPose's ``TopdownPoseEstimator`` with ``MSPN`` +
``MSPNHead`` (e.g. a model-zoo MSPN-50: 1-4 stages, 4 units, no PRM;
pre-1.0 ``keypoint_head.`` keys included), maps every tensor one to one
onto this package's ``CrossStageMSPN`` (MSPN's per-unit predictors inside
the backbone) + ``MultiStageHeatmapHead(heatmap_inputs=True)``
(:func:`~mmpose_ext.models.backbones.cross_stage_mspn.convert_mmpose_mspn_state_dict`),
checks the result against the model of the target config built on the meta
device (keys and shapes, all of them), and writes ``DST`` atomically with
the source's ``dataset_meta``. The target config defaults to the package's
``configs/mspn/mspn50-{S}stage_8xb32-210e_coco-256x192.py`` for the
checkpoint's stage count ``S``.

Refused, with exit status 1 and a message: keys no rule maps (PRM, RSN,
other models), a checkpoint without the head's predictors, weights that do
not fit the target model (naming the settings the checkpoint has), and
``DST`` equal to ``SRC``. Prints how many tensors each rule mapped
(``--list-keys``: every key).
"""
import argparse
import io
import pickle
import re
import sys
from collections import Counter, OrderedDict
from contextlib import nullcontext
from pathlib import Path
from typing import Dict, Optional, Sequence

import torch
from mmengine.config import Config, DictAction
from mmengine.runner import CheckpointLoader

from ..engine.checkpoint_allowlist import (
    explain_refused_checkpoint,
    trust_checkpoint_pickles,
)
from ..engine.checkpoint_fit import build_meta_model, load_fitting_weights
from ..engine.fileio import write_atomically
from ..models.backbones.cross_stage_mspn import (
    convert_mmpose_mspn_state_dict,
    mspn_key_rules,
)
from ..package_files import config_path

__all__ = ['ConversionError', 'convert', 'main', 'mspn_settings',
           'parse_args']

DEFAULT_CONFIG = 'mspn/mspn50-{}stage_8xb32-210e_coco-256x192.py'


class ConversionError(ValueError):
    """A checkpoint that cannot be converted, reported without a
    traceback."""


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', type=Path, help='MMPose MSPN checkpoint')
    parser.add_argument('dst', type=Path, help='converted checkpoint')
    parser.add_argument(
        '--config', default=None,
        help='target config (default: the package\'s MSPN-50 config with '
        'the checkpoint\'s stage count)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default={}, help='overrides of the target config')
    parser.add_argument('--list-keys', action='store_true',
                        help='print every source -> target key')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='load SRC with full unpickling (only for '
                        'files from a trusted source, e.g. pre-1.0 MMPose '
                        'checkpoints that weights-only loading refuses)')
    return parser.parse_args(argv)


def _mmpose_keys(state_dict: Dict[str, torch.Tensor]
                 ) -> 'OrderedDict[str, torch.Tensor]':
    """``module.`` removed; pre-1.0 ``keypoint_head.`` -> ``head.``;
    MMPose's non-persistent preprocessor entries dropped."""
    out = OrderedDict()
    for key, value in state_dict.items():
        key = re.sub(r'^module\.', '', key)
        key = re.sub(r'^keypoint_head\.', 'head.', key)
        if key not in ('data_preprocessor.mean', 'data_preprocessor.std'):
            out[key] = value
    return out


def mspn_settings(state_dict: Dict[str, torch.Tensor]) -> dict:
    """The ``CrossStageMSPN`` settings an MMPose MSPN state dict has.

    Args:
        state_dict (dict): ``backbone.*`` / ``head.*`` keys.

    Returns:
        dict: ``num_stages``, ``stage_blocks``, ``unit_channels``,
        ``stem_channels``, ``base_channels``, ``num_keypoints`` and
        ``block`` (``'Bottleneck'`` or ``'BasicBlock'``).

    Raises:
        ConversionError: if the MSPN or the head's predictors are missing.
    """
    stages = {int(m[1]) for k in state_dict
              for m in [re.match(r'backbone\.multi_stage_mspn\.(\d+)\.', k)]
              if m}
    if not stages:
        raise ConversionError(
            'no MMPose MSPN weights (backbone.multi_stage_mspn.*) found')
    blocks = [
        1 + max((int(m[1]) for k in state_dict for m in [re.match(
            rf'backbone\.multi_stage_mspn\.0\.downsample\.layer{i}\.(\d+)\.',
            k)] if m), default=-1) for i in range(1, 5)
    ]
    predictor = 'head.predict_layers.0.conv_layers.1.conv.weight'
    if predictor not in state_dict:
        raise ConversionError(
            f'no MSPNHead predictor weights ({predictor}): convert a whole '
            'TopdownPoseEstimator checkpoint (backbone.* and head.*)')
    prefix = 'backbone.multi_stage_mspn.0.'

    def channels(key):
        if key not in state_dict:
            raise ConversionError(f'not an MMPose MSPN: no {key!r}')
        return int(state_dict[key].shape[0])

    return dict(
        num_stages=max(stages) + 1,
        stage_blocks=tuple(blocks),
        unit_channels=channels(prefix + 'upsample.up1.in_skip.conv.weight'),
        stem_channels=channels('backbone.top.top.0.conv.weight'),
        base_channels=channels(prefix + 'downsample.layer1.0.conv1.weight'),
        num_keypoints=channels(predictor),
        block='Bottleneck' if any(
            '.conv3.' in k for k in state_dict) else 'BasicBlock')


def convert(src: Path,
            dst: Path,
            config: Optional[str] = None,
            cfg_options: Optional[dict] = None,
            list_keys: bool = False) -> dict:
    """Convert ``src`` into ``dst``; see the module docstring.

    Returns:
        dict: ``settings`` (of the source), ``config`` (the target),
        ``rules`` (tensors mapped per readable rule).

    Raises:
        ConversionError: naming what does not fit.
    """
    if Path(src).resolve() == Path(dst).resolve():
        raise ConversionError(f'{dst} is the source checkpoint: write the '
                              'converted one elsewhere')
    if not Path(src).is_file():
        raise ConversionError(f'checkpoint {src} does not exist')
    with explain_refused_checkpoint(str(src)):
        checkpoint = CheckpointLoader.load_checkpoint(str(src),
                                                      map_location='cpu')
    state = _mmpose_keys(checkpoint.get('state_dict', checkpoint))
    settings = mspn_settings(state)
    rules = []
    try:
        converted = convert_mmpose_mspn_state_dict(state, rules)
    except ValueError as err:
        raise ConversionError(f'{src}: {err}') from None

    config = config or str(
        config_path(DEFAULT_CONFIG.format(settings['num_stages'])))
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    fit = load_fitting_weights(build_meta_model(cfg), converted)
    if not fit.fits:
        shown = ', '.join(f'{k}={v}' for k, v in settings.items())
        raise ConversionError(
            f'{src} converted does not fit the model of {config}:\n'
            f'{fit.describe()}\nthe checkpoint has {shown}: pass a --config '
            '(or --cfg-options model.backbone.*) with these settings')

    meta = dict(converted_from=str(src), config=str(config),
                converter='mmpose_ext.apis.convert_mspn')
    if 'dataset_meta' in checkpoint.get('meta', {}):
        meta['dataset_meta'] = checkpoint['meta']['dataset_meta']
    buffer = io.BytesIO()
    torch.save(dict(state_dict=converted, meta=meta), buffer)
    write_atomically(buffer.getvalue(), dst)

    readable = mspn_key_rules()
    counts = Counter(rules)
    print(f'{src}: {len(converted)} tensors of MMPose MSPN + MSPNHead '
          f'({settings["num_stages"]} stages, blocks '
          f'{settings["stage_blocks"]}, {settings["unit_channels"]} unit '
          f'channels, {settings["num_keypoints"]} keypoints) mapped onto '
          f'{Path(config).name}, all keys and shapes checked:')
    for index, (source, target) in enumerate(readable):
        if counts[index]:
            if not source.startswith('head.'):
                source = 'backbone.' + source
            print(f'  {counts[index]:5d}  {source:64s} -> backbone.{target}')
    if list_keys:
        for source, target in zip(state, converted):
            print(f'  {source} -> {target}')
    print(f'wrote {dst}')
    return dict(settings=settings, config=str(config),
                rules={readable[i]: n for i, n in counts.items()})


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the converter; returns the exit status."""
    import mmpose_ext  # noqa: F401  (registers components)

    args = parse_args(argv)
    try:
        with trust_checkpoint_pickles() if args.trust_checkpoint else \
                nullcontext():
            convert(args.src, args.dst, args.config, args.cfg_options,
                    args.list_keys)
    except (ConversionError, pickle.UnpicklingError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    return 0
