"""Every component mmpose_ext registers is built, run and documented.

For each name mmpose_ext registers into MMPose's registries, the test file
mirroring the component's path (``mmpose_ext/models/heads/x_head.py`` ->
``tests/test_models/test_heads/test_x_head.py``) must exist and define
``smoke()``, which builds the component from its registry and exercises it
(forward and backward for modules, encode and decode for codecs). This test
imports each such file as a module of the ``tests`` package and runs its
``smoke()``, so a component registered without a test path, a docstring
with ``Args:`` (and, for models and codecs, a paper link), a file named
after it, or a working forward fails here, as does a head without
``output_names()``.
"""
import importlib
import inspect
import re
from pathlib import Path

import pytest
from mmpose.models.heads.base_head import BaseHead
from mmpose.registry import (
    DATASETS,
    HOOKS,
    KEYPOINT_CODECS,
    METRICS,
    MODELS,
    OPTIM_WRAPPER_CONSTRUCTORS,
    OPTIM_WRAPPERS,
    TRANSFORMS,
)

import mmpose_ext

from .conftest import single_thread

REGISTRIES = (MODELS, KEYPOINT_CODECS, TRANSFORMS, DATASETS, METRICS, HOOKS,
              OPTIM_WRAPPERS, OPTIM_WRAPPER_CONSTRUCTORS)
#: Registries of components that implement a paper (engine ones need not).
PAPER_REGISTRIES = (MODELS, KEYPOINT_CODECS)
ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(mmpose_ext.__file__).resolve().parent


def registered(registries=REGISTRIES):
    """``{name: class}`` of everything mmpose_ext registers in
    ``registries``."""
    return {
        name: cls
        for registry in registries
        for name, cls in registry.module_dict.items()
        if cls.__module__.startswith('mmpose_ext.')
    }


def snake_case(name):
    return re.sub(r'(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])', '_',
                  name).lower()


def mirrored_test_parts(cls) -> tuple:
    """Path parts, below ``tests/``, of the test file mirroring ``cls``'s
    module (``mmpose_ext/models/heads/x_head.py`` -> ``('test_models',
    'test_heads', 'test_x_head')``)."""
    path = Path(inspect.getfile(cls)).resolve()
    parts = path.parent.relative_to(PACKAGE).parts
    return (*[f'test_{p}' for p in parts], f'test_{path.stem}')


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
    if name in registered(PAPER_REGISTRIES):
        module_doc = inspect.getdoc(inspect.getmodule(cls)) or ''
        assert 'arxiv.org' in doc + module_doc, f'{name} links no paper'


@pytest.mark.parametrize('name', NAMES)
def test_component_builds_and_runs(name):
    parts = mirrored_test_parts(registered()[name])
    test_file = ROOT.joinpath('tests', *parts[:-1], parts[-1] + '.py')
    assert test_file.is_file(), f'{name}: missing {test_file}'
    module = importlib.import_module('.'.join(('tests', *parts)))
    assert callable(getattr(module, 'smoke', None)), \
        f'{test_file.relative_to(ROOT)} defines no smoke()'
    with single_thread():  # tests/test_models/conftest.py's policy
        module.smoke()


HEADS = sorted(n for n, c in registered().items() if issubclass(c, BaseHead))


@pytest.mark.parametrize('name', HEADS)
def test_head_names_its_outputs(name):
    """Every head has ``output_names()`` (one name per tensor of its
    flattened forward output), which the ONNX exporter reads."""
    assert callable(getattr(registered()[name], 'output_names', None)), \
        f'{name} has no output_names()'


def test_no_name_shadows_mmpose():
    """Names are unique across the registries mmpose_ext writes to (a
    registry itself refuses a name MMPose already registered)."""
    names = [n for r in REGISTRIES for n, c in r.module_dict.items()
             if c.__module__.startswith('mmpose_ext.')]
    assert len(names) == len(set(names))


def test_mmpose_ext_scope_finds_every_component(caplog):
    """Components of a base loaded by scope carry ``_scope_='mmpose_ext'``:
    MMEngine imports ``mmpose_ext.registry`` and searches that scope, whose
    empty registries fall back to MMPose's (and through them MMEngine's)."""
    import mmengine.registry as mmengine_registry
    import mmpose.registry as theirs

    from mmpose_ext import registry as ours
    for name in ours.REGISTRY_NAMES:
        child = getattr(ours, name)
        assert child.scope == 'mmpose_ext' and not child.module_dict
        assert child.parent is getattr(theirs, name)
    cases = [(mmengine_registry.HOOKS, 'CheckpointFitHook'),
             (mmengine_registry.HOOKS, 'CheckpointHook'),
             (mmengine_registry.MODELS, 'CPNHead'),
             (mmengine_registry.MODELS, 'ResNet'),
             (mmengine_registry.MODELS, 'Conv2d'),
             (KEYPOINT_CODECS, 'MultiLevelHeatmap'),
             (KEYPOINT_CODECS, 'MSRAHeatmap')]
    with caplog.at_level('WARNING'):
        for registry, name in cases:
            with registry.switch_scope_and_registry('mmpose_ext') as found:
                assert found.scope == 'mmpose_ext'
                assert found.get(name) is not None, name
    assert 'not installed' not in caplog.text
    assert mmpose_ext.registry is ours
