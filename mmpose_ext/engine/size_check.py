"""Input and heatmap sizes that agree across a config, or an error.

A top-down config states the network input size in several places: the
``TopdownAffine`` crops of the pipelines, the ``input_size`` of every target
encoder (``GenerateTarget``) and of the head's decoder; and the heatmap size
twice more: the codecs' ``heatmap_size`` and what the model outputs. MMPose
uses each where it is stated, so a codec that disagrees with the crop or
the model does not fail: it scales the decoded keypoints by the wrong ratio
(AP 0.000 and exit status 0) or trains against shifted targets.
:func:`check_sizes` compares them all, the model's output from a forward on
the ``meta`` device (no memory, no weights), and raises
:class:`SizeMismatchError` naming the keys and both sizes.

Sizes are ``(w, h)`` as MMPose's codecs and ``TopdownAffine`` give them.
Configs without ``TopdownAffine`` (bottom-up) are not compared with the
model.
Only codecs that state both sizes are compared with the model (heatmap
codecs); SimCC and regression codecs are compared on ``input_size``.
"""
from typing import Any, Dict, Iterator, List, Optional, Tuple

import torch

from ..models.utils import flatten_outputs

__all__ = ['SizeMismatchError', 'check_sizes', 'model_heatmap_size']

SPLITS = ('train', 'val', 'test')
Size = Tuple[int, int]


class SizeMismatchError(ValueError):
    """Two parts of a config disagree on the input or heatmap size."""


def _size(value: Any) -> Optional[Size]:
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(
            isinstance(v, (int, float)) for v in value):
        return int(value[0]), int(value[1])
    return None


def _walk(node: Any, key: str) -> Iterator[Tuple[str, dict]]:
    """``(config key, dict)`` of every dict with a ``type`` under ``node``.
    """
    if isinstance(node, dict):
        if 'type' in node:
            yield key, node
        for name, value in node.items():
            yield from _walk(value, f'{key}.{name}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _walk(value, f'{key}[{i}]')


def _pipeline_steps(cfg: Any, split: str, kind: str
                    ) -> List[Tuple[str, dict]]:
    loader = cfg.get(f'{split}_dataloader')
    if not isinstance(loader, dict):
        return []
    return [(key, step)
            for key, step in _walk(loader, f'{split}_dataloader')
            if str(step.get('type')).split('.')[-1] == kind]


def _encoders(step_key: str, step: dict) -> List[Tuple[str, dict]]:
    encoder = step.get('encoder')
    if isinstance(encoder, dict):
        return [(f'{step_key}.encoder', encoder)]
    if isinstance(encoder, (list, tuple)):
        return [(f'{step_key}.encoder[{i}]', e)
                for i, e in enumerate(encoder) if isinstance(e, dict)]
    return []


def model_heatmap_size(cfg: Any, input_size: Size) -> Optional[Size]:
    """The ``(w, h)`` of the heatmap a config's model decodes, for an
    input of ``input_size``: the last 4-D tensor of its ``tensor``-mode
    output, computed on the ``meta`` device.

    Returns:
        tuple | None: ``None`` when the model outputs no 4-D tensor or
        cannot run on the ``meta`` device (e.g. MMCV's compiled ops).
    """
    from .checkpoint_fit import build_meta_model
    try:
        model = build_meta_model(cfg).eval()
        with torch.no_grad():
            outputs = model(
                torch.empty(1, 3, input_size[1], input_size[0],
                            device='meta'), None, mode='tensor')
    except Exception:  # noqa: BLE001 - a model the meta device cannot run
        return None
    maps = [t for t in flatten_outputs(outputs) if t.dim() == 4]
    if not maps:
        return None
    return int(maps[-1].shape[-1]), int(maps[-1].shape[-2])


def check_sizes(cfg: Any, splits=SPLITS, model: bool = True) -> None:
    """Check that crops, codecs and the model agree on their sizes.

    * every target encoder's ``input_size`` equals the training crops'
      (``TopdownAffine.input_size`` of the train pipeline);
    * the head's decoder's ``input_size`` equals the val/test crops';
    * with ``model``, every heatmap codec's ``heatmap_size`` (encoders and
      the decoder) equals the model's output (:func:`model_heatmap_size`).

    Args:
        cfg (Config | dict): A merged config.
        splits (Sequence[str]): Dataloaders the run uses. Defaults to all.
        model (bool): Also compare with the model's output size. Defaults
            to ``True``.

    Raises:
        SizeMismatchError: naming both keys and both sizes.
    """
    crops: Dict[str, List[Tuple[str, Size]]] = {}
    for split in splits:
        crops[split] = [(f'{key}.input_size', size)
                        for key, step in _pipeline_steps(cfg, split,
                                                         'TopdownAffine')
                        for size in [_size(step.get('input_size'))] if size]
    codecs: List[Tuple[str, dict, str]] = []  # key, codec, split it serves
    if 'train' in splits:
        for key, step in _pipeline_steps(cfg, 'train', 'GenerateTarget'):
            codecs += [(k, e, 'train') for k, e in _encoders(key, step)]
    head = (cfg.get('model') or {}).get('head') or {}
    decoder = head.get('decoder') if isinstance(head, dict) else None
    eval_splits = [s for s in ('val', 'test') if s in splits]
    if isinstance(decoder, dict) and eval_splits:
        codecs += [('model.head.decoder', decoder, s) for s in eval_splits]

    for key, codec, split in codecs:
        size = _size(codec.get('input_size'))
        for crop_key, crop in crops.get(split, []):
            if size is not None and size != crop:
                raise SizeMismatchError(
                    f'{key}.input_size is {size} (w, h) but {crop_key} '
                    f'crops {crop}: the codec would scale keypoints by the '
                    f'wrong ratio. Set both to the same size.')
    if not model:
        return
    heatmap_codecs = [(key, codec) for key, codec, _ in codecs
                      if _size(codec.get('heatmap_size'))]
    # top-down only: bottom-up codecs may decode heatmaps resized to the
    # input (MMPose's associative embedding, restore_heatmap_size)
    crop = next((c for s in ('val', 'test', 'train')
                 for _, c in crops.get(s, [])), None)
    if not heatmap_codecs or crop is None:
        return
    output = model_heatmap_size(cfg, crop)
    if output is None:
        return
    for key, codec in heatmap_codecs:
        size = _size(codec['heatmap_size'])
        if size != output:
            raise SizeMismatchError(
                f'{key}.heatmap_size is {size} (w, h) but the model '
                f'outputs {output} heatmaps for a {crop} input: the codec '
                f'would scale keypoints by the wrong ratio. Set '
                f'heatmap_size={output}.')
