"""Every component mmpose_ext registers is built, run and documented.

For each name mmpose_ext registers into MMPose's registries, the test file
mirroring the component's path (``mmpose_ext/models/heads/x_head.py`` ->
``tests/test_models/test_heads/test_x_head.py``) must exist and define
``smoke()``, which builds the component from its registry and exercises it
(forward and backward for modules, encode and decode for codecs). This test
runs every ``smoke()``, so a component registered without a test path, a
docstring with ``Args:`` and a paper link, a file named after it, or a
working forward fails here.
"""
import importlib.util
import inspect
import re
from pathlib import Path

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
PACKAGE = Path(mmpose_ext.__file__).resolve().parent


def registered():
    """``{name: class}`` of everything mmpose_ext registers."""
    return {
        name: cls
        for registry in REGISTRIES
        for name, cls in registry.module_dict.items()
        if cls.__module__.startswith('mmpose_ext.')
    }


def snake_case(name):
    return re.sub(r'(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])', '_',
                  name).lower()


def mirrored_test_file(cls) -> Path:
    path = Path(inspect.getfile(cls)).resolve()
    parts = path.parent.relative_to(PACKAGE).parts
    return ROOT.joinpath('tests', *[f'test_{p}' for p in parts],
                         f'test_{path.stem}.py')


NAMES = sorted(registered())


def test_something_is_registered():
    assert {'MultiLevelHeatmap', 'OHKMLoss', 'MultiStageHeatmapHead'} <= set(
        NAMES)


@pytest.mark.parametrize('name', NAMES)
def test_component_layout_and_docs(name):
    cls = registered()[name]
    path = Path(inspect.getfile(cls))
    assert path.stem == snake_case(name), f'{name} lives in {path.name}'
    doc = inspect.getdoc(cls) or ''
    assert 'Args:' in doc, f'{name} has no docstring with Args:'
    module_doc = inspect.getdoc(inspect.getmodule(cls)) or ''
    assert 'arxiv.org' in doc + module_doc, f'{name} links no paper'


@pytest.mark.parametrize('name', NAMES)
def test_component_builds_and_runs(name):
    test_file = mirrored_test_file(registered()[name])
    assert test_file.is_file(), f'{name}: missing {test_file}'
    spec = importlib.util.spec_from_file_location(
        f'_smoke_{snake_case(name)}', test_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert callable(getattr(module, 'smoke', None)), \
        f'{test_file.relative_to(ROOT)} defines no smoke()'
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tests/test_models/conftest.py's policy
    try:
        module.smoke()
    finally:
        torch.set_num_threads(threads)


def test_no_name_shadows_mmpose():
    """Names are unique across the registries mmpose_ext writes to (a
    registry itself refuses a name MMPose already registered)."""
    names = [n for r in REGISTRIES for n, c in r.module_dict.items()
             if c.__module__.startswith('mmpose_ext.')]
    assert len(names) == len(set(names))
