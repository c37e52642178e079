"""mmpose_ext.private_state: every internal of another library the package
relies on still behaves as on the version it was verified on."""
import ast
import inspect
import pickle
from collections import OrderedDict
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import utils as config_utils
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.logging import MMLogger
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.runner.checkpoint import load_from_local
from torch import nn

import mmpose_ext  # noqa: F401  (registers the config scope)
from mmpose_ext import private_state


def test_mmengine_config_scope_table():
    # MMEngine 0.10.7 resolves '<scope>::' through this table
    assert config_utils.MODULE2PACKAGE['mmpose'] == 'mmpose'
    assert config_utils.MODULE2PACKAGE['mmpose_ext'] == (
        'mmpose_ext.package_files')
    package, path = config_utils._get_package_and_cfg_path(
        'mmpose_ext::cpn/x.py')
    assert (package, path) == ('mmpose_ext.package_files', 'cpn/x.py')


@pytest.mark.parametrize('version, ok', [('0.10.7', True), ('0.10.9', True),
                                         ('0.10.6', False), ('0.11.0', False),
                                         ('1.0.0rc1', False)])
def test_mmengine_version_check(version, ok, monkeypatch):
    monkeypatch.delenv(private_state.ALLOW_ENV, raising=False)
    if ok:
        private_state.check_mmengine_version(version)
        return
    with pytest.raises(ImportError, match=f'this environment has MMEngine '
                       f'{version}.*mmengine==0.10.7'):
        private_state.check_mmengine_version(version)
    monkeypatch.setenv(private_state.ALLOW_ENV, '1')
    with pytest.warns(UserWarning, match='verified on MMEngine'):
        private_state.check_mmengine_version(version)


def test_installed_mmengine_is_verified():
    private_state.check_mmengine_version()


# -- every entry of the inventory -------------------------------------------

def test_history_buffer_statistics_methods():
    """MMEngine 0.10.7 keeps them in ``HistoryBuffer._statistics_methods``
    and a checkpoint pickles them as ``getattr(HistoryBuffer, name)``."""
    # protocol 2, as torch.save pickles; the instance fills the class dict
    text = pickle.dumps(HistoryBuffer([1.0], [1]), protocol=2)
    names = private_state.history_buffer_statistics_methods()
    assert {'min', 'max', 'current', 'mean'} <= names
    assert all(callable(getattr(HistoryBuffer, n)) for n in names)
    assert b'getattr' in text and b'mean' in text


def test_checkpoint_hook_saves_and_removes_through_what_is_swapped():
    """MMEngine 0.10.7's ``CheckpointHook``: every save goes through
    ``_save_checkpoint_with_step`` / ``_save_best_checkpoint`` (which the
    atomic hook overrides) and every removal through ``file_backend``."""
    source = {name: inspect.getsource(getattr(CheckpointHook, name))
              for name in ('_save_checkpoint', 'after_val_epoch',
                           '_save_checkpoint_with_step',
                           '_save_best_checkpoint')}
    assert 'self._save_checkpoint_with_step(' in source['_save_checkpoint']
    assert 'self._save_best_checkpoint(' in source['after_val_epoch']
    for name in ('_save_checkpoint_with_step', '_save_best_checkpoint'):
        assert 'self.file_backend.remove(' in source[name]
        assert 'self.file_backend.rmtree(' in source[name]
    hook = CheckpointHook()
    first, second = LocalBackend(), LocalBackend()
    assert private_state.set_checkpoint_hook_file_backend(hook, first) is None
    assert private_state.set_checkpoint_hook_file_backend(hook,
                                                          second) is first
    assert hook.file_backend is second


class Toy(BaseModel):

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return inputs


def test_mmengine_compiles_train_step_as_instance_attribute():
    """MMEngine 0.10.7's ``Runner._maybe_compile`` sets a compiled
    ``train_step`` on the model; removing it restores the method."""
    model = Toy()
    runner = SimpleNamespace(cfg=dict(compile=True), model=model,
                             logger=MMLogger.get_current_instance())
    Runner._maybe_compile(runner, 'train_step')
    assert 'train_step' in vars(model)
    assert model.train_step != Toy.train_step.__get__(model)
    assert private_state.remove_compiled_train_step(model)
    assert 'train_step' not in vars(model)
    assert model.train_step == Toy.train_step.__get__(model)
    assert not private_state.remove_compiled_train_step(model)


def test_inductor_kernel_profile_switch():
    """torch 2.14: ``torch._inductor.config.cpp.enable_kernel_profile``
    exists, is off by default and is set only inside the context."""
    import torch._inductor.config as inductor_config
    assert inductor_config.cpp.enable_kernel_profile is False
    with private_state.inductor_kernel_profile():
        assert inductor_config.cpp.enable_kernel_profile is True
    assert inductor_config.cpp.enable_kernel_profile is False


def test_state_dict_metadata_is_read_by_load_state_dict():
    """torch 2.14: ``state_dict()`` attaches per-module versions as
    ``_metadata``; ``load_state_dict`` hands them to the modules (BatchNorm
    adds ``num_batches_tracked`` only to a version-less entry)."""
    source = nn.Sequential(nn.BatchNorm2d(3)).state_dict()
    assert source._metadata['0']['version'] == 2
    filtered = OrderedDict((k, v) for k, v in source.items()
                           if k != '0.num_batches_tracked')
    # without the metadata: a pre-version checkpoint, upgraded by BatchNorm
    nn.Sequential(nn.BatchNorm2d(3)).load_state_dict(filtered)
    private_state.copy_state_dict_metadata(source, filtered)
    assert filtered._metadata is source._metadata
    with pytest.raises(RuntimeError, match='num_batches_tracked'):
        nn.Sequential(nn.BatchNorm2d(3)).load_state_dict(filtered)
    plain = OrderedDict(filtered)
    private_state.copy_state_dict_metadata({}, plain)
    assert not hasattr(plain, '_metadata')


class Pickled:
    """A class weights-only loading refuses."""


def test_torch_load_defaults_reach_mmengine(tmp_path):
    """MMEngine 0.10.7 loads through ``torch.load`` looked up on the
    ``torch`` module, so the process-wide swap reaches it; it is undone
    after the block."""
    path = str(tmp_path / 'x.pth')
    torch.save({'x': Pickled()}, path)
    original = torch.load
    with pytest.raises(pickle.UnpicklingError):
        load_from_local(path, map_location='cpu')
    with private_state.torch_load_defaults(weights_only=False):
        assert isinstance(load_from_local(path, 'cpu')['x'], Pickled)
        with pytest.raises(pickle.UnpicklingError):  # explicit wins
            torch.load(path, weights_only=True)
    assert torch.load is original


def test_numpy_pickles_arrays_through_reconstruct():
    """numpy names ``multiarray._reconstruct`` in a pickled array (the
    allow-list's entry reads no numpy state, it names that global)."""
    text = pickle.dumps(np.arange(3))
    assert b'_reconstruct' in text and b'multiarray' in text


def test_mmpose_tool_scripts_build_their_runner_by_module_name():
    """MMPose 1.3.2's ``tools/train.py`` and ``tools/test.py`` build the
    runner through their module-level ``Runner``, which the package
    replaces on the loaded module."""
    from mmpose_ext.apis.mmpose_tools import load_mmpose_tool
    for name in ('train', 'test'):
        tool = load_mmpose_tool(name)
        assert tool.Runner is Runner
        assert 'Runner.from_cfg(cfg)' in inspect.getsource(tool.main)


#: Every ``obj._name`` outside private_state.py, with why it is allowed.
EXPLAINED = {
    'super()._save_checkpoint_with_step': 'listed in private_state',
    'super()._save_best_checkpoint': 'listed in private_state',
    'multiarray._reconstruct': 'a pickled name, listed in private_state',
    'os._exit': 'public API of os',
    'diff._asdict': 'public API of named tuples',
    'PeakMemory._status_kb': "the package's own static method",
}


def private(name: str) -> bool:
    return name.startswith('_') and not name.startswith('__')


def private_accesses(path: Path):
    """``(line, expression)`` of every ``x._name`` access (not ``self`` or
    ``cls``), ``getattr(x, '_name')`` and import of a ``_module``."""
    for node in ast.walk(ast.parse(path.read_text())):
        if (isinstance(node, ast.Attribute) and private(node.attr)
                and not (isinstance(node.value, ast.Name)
                         and node.value.id in ('self', 'cls'))):
            yield node.lineno, ast.unparse(node)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ('getattr', 'hasattr', 'setattr')
              and len(node.args) > 1
              and isinstance(node.args[1], ast.Constant)
              and private(str(node.args[1].value))):
            yield node.lineno, ast.unparse(node)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = ([a.name for a in node.names]
                     if isinstance(node, ast.Import) else [node.module or ''])
            for name in names:
                if any(private(p) for p in name.split('.')):
                    yield node.lineno, name


def test_every_private_access_is_in_the_inventory():
    """Outside private_state.py, the package and its tools touch no other
    library's private attribute except the entries explained above."""
    repo = Path(__file__).resolve().parents[1]
    found = []
    for folder in ('mmpose_ext', 'tools'):
        for path in sorted((repo / folder).rglob('*.py')):
            if path.name == 'private_state.py':
                continue
            found += [f'{path.relative_to(repo)}:{line}: {expr}'
                      for line, expr in private_accesses(path)
                      if expr not in EXPLAINED]
    assert not found, '\n'.join(found)


def test_the_scan_finds_private_accesses(tmp_path):
    path = tmp_path / 'x.py'
    path.write_text('import torch._dynamo\nself._a = runner._b\n'
                    'getattr(m, "_c")\nx.__class__\n'
                    'from __future__ import a\n')
    assert list(private_accesses(path)) == [
        (1, 'torch._dynamo'), (2, 'runner._b'), (3, "getattr(m, '_c')")]
