"""What a pose config describes: its input size and a one-line model
summary, shared by the analysis commands (model complexity, benchmark,
ONNX export)."""
from typing import Tuple

from mmengine.config import Config

__all__ = ['config_input_size', 'describe_model']


def config_input_size(cfg: Config) -> Tuple[int, int]:
    """The network input size ``(w, h)`` a config uses.

    Looked up in this order: the ``TopdownAffine`` step of the test, val
    and train pipelines, the head's decoder, the top-level ``codec`` (a
    dict or a list of dicts) and ``model.test_cfg``.

    Raises:
        ValueError: if the config gives no input size.
    """
    for split in ('test', 'val', 'train'):
        dataset = cfg.get(f'{split}_dataloader', {}).get('dataset', {})
        for step in dataset.get('pipeline', None) or []:
            if step.get('type') == 'TopdownAffine' and 'input_size' in step:
                return tuple(int(v) for v in step['input_size'])
    candidates = [cfg.model.get('head', {}).get('decoder')]
    codec = cfg.get('codec')
    candidates += list(codec) if isinstance(codec, (list, tuple)) else [codec]
    candidates.append(cfg.model.get('test_cfg'))
    for candidate in candidates:
        if isinstance(candidate, dict) and 'input_size' in candidate:
            return tuple(int(v) for v in candidate['input_size'])
    raise ValueError('the config gives no input size (no TopdownAffine '
                     'input_size, codec or model.test_cfg input_size): '
                     'pass --input-shape H W')


def describe_model(model_cfg: dict) -> str:
    """A one-line summary, e.g. ``ResNet-50 + CPNHead``."""
    backbone = model_cfg.get('backbone', {})
    name = backbone.get('type', '?')
    details = []
    if 'depth' in backbone:
        name = f'{name}-{backbone["depth"]}'
    channels = (backbone.get('extra') or {}).get('stage2', {}).get(
        'num_channels')
    if name == 'HRNet' and channels:
        name = f'HRNet-W{channels[0]}'
    if backbone.get('num_stacks'):
        details.append(f'{backbone["num_stacks"]} stacks' + (
            f' of {backbone["feat_channels"]}'
            if backbone.get('feat_channels') else ''))
    if isinstance(backbone.get('block'), dict):
        details.append(f'{backbone["block"].get("type", "?")} blocks')
    stages = backbone.get('num_stages')
    if stages and 'MSPN' in name:
        details.append(f'{stages} stage' + ('s' if stages > 1 else ''))
    if backbone.get('attention'):
        details.append(backbone['attention'].get('type',
                                                 'MultiContextAttention'))
    if details:
        name = f'{name} ({", ".join(details)})'
    parts = [name]
    neck = model_cfg.get('neck')
    if neck:
        parts.append(f'{neck.get("type", "?")} neck')
    head = model_cfg.get('head')
    if head:
        parts.append(head.get('type', '?'))
    return ' + '.join(parts)
