"""Every component mmpose_ext registers is built, run and documented.

``SMOKE`` maps each registered name to a function that builds it from its
registry and exercises it (forward and backward for modules, encode and
decode for codecs). A name registered without an entry here, without a
docstring with ``Args:``, outside a file named after it, or without a test
file mirroring its path fails this test.
"""
import inspect
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from mmpose.registry import (
    DATASETS,
    HOOKS,
    KEYPOINT_CODECS,
    METRICS,
    MODELS,
    TRANSFORMS,
)

import mmpose_ext

REGISTRIES = (MODELS, KEYPOINT_CODECS, TRANSFORMS, DATASETS, METRICS, HOOKS)
ROOT = Path(__file__).resolve().parents[1]


def registered():
    """``{name: (registry, class)}`` of everything mmpose_ext registers."""
    found = {}
    for registry in REGISTRIES:
        for name, cls in registry.module_dict.items():
            if cls.__module__.startswith('mmpose_ext.'):
                found[name] = (registry, cls)
    return found


def snake_case(name):
    return re.sub(r'(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])', '_',
                  name).lower()


def _backward_reaches_parameters(module, out):
    leaves = [out] if isinstance(out, torch.Tensor) else out
    total = sum(x.float().sum() for x in _flatten(leaves))
    total.backward()
    params = [p for p in module.parameters() if p.requires_grad]
    assert all(p.grad is not None for p in params), 'unused parameters'


def _flatten(x):
    if isinstance(x, torch.Tensor):
        return [x]
    if isinstance(x, dict):
        x = list(x.values())
    return [t for item in x for t in _flatten(item)]


def _heatmaps(*shape):
    return torch.rand(*shape, requires_grad=True)


def smoke_multi_level_heatmap(cls):
    codec = KEYPOINT_CODECS.build(
        dict(type=cls.__name__, input_size=(48, 64), heatmap_size=(12, 16),
             kernel_sizes=(7, 5)))
    keypoints = np.random.default_rng(0).uniform(4, 40, (1, 17, 2))
    encoded = codec.encode(keypoints, np.ones((1, 17)))
    assert encoded['heatmaps'].shape == (2 * 17, 16, 12)
    decoded, scores = codec.decode(encoded['heatmaps'][17:])
    assert decoded.shape == (1, 17, 2) and scores.shape == (1, 17)


def smoke_keypoint_loss(cls):
    loss = MODELS.build(dict(type=cls.__name__))
    pred = _heatmaps(2, 17, 16, 12)
    value = loss(pred, torch.rand(2, 17, 16, 12), torch.ones(2, 17))
    assert value.dim() == 0 and torch.isfinite(value)
    value.backward()
    assert pred.grad.abs().sum() > 0


def smoke_coarse_to_fine_loss(cls):
    loss = MODELS.build(dict(type=cls.__name__, num_stages=2, num_units=2))
    preds = [[_heatmaps(2, 17, 16, 12) for _ in range(2)] for _ in range(2)]
    losses = loss(preds, torch.rand(2, 3, 17, 16, 12), torch.ones(2, 3, 17))
    assert set(losses) == {'loss_stage0', 'loss_stage1'}
    sum(losses.values()).backward()
    assert all(p.grad.abs().sum() > 0 for s in preds for p in s)


def smoke_multi_stage_heatmap_head(cls):
    head = MODELS.build(dict(type=cls.__name__, in_channels=8,
                             out_channels=17, num_stages=2))
    out = head([torch.rand(2, 8, 16, 12) for _ in range(2)])
    assert [[o.shape for o in s] for s in out] == [[(2, 17, 16, 12)]] * 2
    _backward_reaches_parameters(head, out)


SMOKE = {
    'MultiLevelHeatmap': smoke_multi_level_heatmap,
    'WeightedHeatmapMSELoss': smoke_keypoint_loss,
    'OHKMLoss': smoke_keypoint_loss,
    'CoarseToFineLoss': smoke_coarse_to_fine_loss,
    'MultiStageHeatmapHead': smoke_multi_stage_heatmap_head,
}


def test_every_registered_component_has_a_smoke_test():
    names = set(registered())
    assert names, 'mmpose_ext registers nothing'
    assert names - set(SMOKE) == set(), 'registered without a smoke test'
    assert set(SMOKE) - names == set(), 'smoke test for an unknown name'


@pytest.mark.parametrize('name', sorted(SMOKE))
def test_component_builds_and_runs(name):
    _, cls = registered()[name]
    SMOKE[name](cls)


@pytest.mark.parametrize('name', sorted(SMOKE))
def test_component_layout_and_docs(name):
    _, cls = registered()[name]
    path = Path(inspect.getfile(cls))
    assert path.stem == snake_case(name), f'{name} lives in {path.name}'
    doc = inspect.getdoc(cls) or ''
    assert 'Args:' in doc, f'{name} has no docstring with Args:'
    module_doc = inspect.getdoc(inspect.getmodule(cls)) or ''
    assert 'arxiv.org' in doc + module_doc, f'{name} links no paper'
    package_dir = path.parent.relative_to(Path(mmpose_ext.__file__).parent)
    test_dir = ROOT / 'tests' / Path(*[f'test_{p}' for p in package_dir.parts])
    assert (test_dir / f'test_{path.stem}.py').is_file(), \
        f'missing {test_dir.relative_to(ROOT)}/test_{path.stem}.py'


def test_no_name_shadows_mmpose():
    """mmpose_ext never re-registers a name MMPose uses (a registry would
    raise KeyError on import), and names are unique across registries."""
    names = [n for r in REGISTRIES for n, c in r.module_dict.items()
             if c.__module__.startswith('mmpose_ext.')]
    assert len(names) == len(set(names))
