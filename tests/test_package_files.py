"""mmpose_ext.package_files: the package's configs, tools and model index
in a checkout and as an installed ``.mim`` folder (the wheel case is
tests/test_installed_wheel.py)."""
import shutil
from pathlib import Path

import pytest
from mmengine.config import Config

import mmpose_ext
from mmpose_ext import package_files as pf

ROOT = Path(__file__).resolve().parents[1]


def test_checkout_paths():
    assert pf.package_dir() == ROOT / 'mmpose_ext'
    assert pf.checkout_root() == ROOT
    # the editable install links .mim into the checkout
    assert pf.configs_dir().resolve() == ROOT / 'configs'
    assert pf.tools_dir().resolve() == ROOT / 'tools'
    assert pf.config_path('mmpose_ext::cpn/cpn_res18_synthetic-coco-'
                          '128x96.py').resolve() == (
                              ROOT / 'configs/cpn/cpn_res18_synthetic-coco-'
                              '128x96.py')
    assert pf.tool_path('analysis/model_complexity').resolve() == (
        ROOT / 'tools/analysis/model_complexity.py')
    assert 'train' in pf.tool_names() and 'benchmark' in pf.tool_names()


def test_find_configs_skips_bases_and_optionally_claims():
    every = {p.relative_to(ROOT / 'configs')
             for p in (ROOT / 'configs').rglob('*.py')}
    found = {p.relative_to(pf.configs_dir()) for p in pf.find_configs()}
    assert found == {p for p in every if '_base_' not in p.parts}
    models = {
        p.relative_to(pf.configs_dir())
        for p in pf.find_configs(include_claims=False)
    }
    assert models == {p for p in found if p.parts[0] != 'claims'}


def test_missing_config_and_tool_are_named():
    with pytest.raises(pf.PackageFilesNotFound, match='cpn/nope.py: no such'):
        pf.config_path('cpn/nope.py')
    with pytest.raises(pf.PackageFilesNotFound,
                       match='nope: no such tool.*the tools are: .*train'):
        pf.tool_path('nope')


def test_installed_layout_is_preferred(tmp_path, monkeypatch):
    """A package folder with ``.mim`` and no checkout beside it (a wheel)
    finds everything in ``.mim``; without ``.mim`` it says how to fix."""
    package = tmp_path / 'site' / 'mmpose_ext'
    (package / '.mim' / 'configs' / 'cpn').mkdir(parents=True)
    (package / '.mim' / 'configs' / 'cpn' / 'a.py').write_text('x = 1\n')
    monkeypatch.setattr(pf, '__file__', str(package / 'package_files.py'))
    assert pf.checkout_root() is None
    assert pf.configs_dir() == package / '.mim' / 'configs'
    assert pf.config_path('cpn/a.py') == package / '.mim/configs/cpn/a.py'
    shutil.rmtree(package / '.mim')
    with pytest.raises(pf.PackageFilesNotFound,
                       match='configs not found.*pip install'):
        pf.configs_dir()


@pytest.mark.parametrize('base', [
    'mmpose_ext::cpn/cpn_res50_8xb64-210e_coco-256x192.py',
    'mmpose_ext::_base_/mmpose_ext_runtime.py',
    'mmpose_ext::mca_hourglass/mca_hourglass_coco.py',
])
def test_config_scope_resolves_from_any_folder(tmp_path, monkeypatch, base):
    assert mmpose_ext.__version__  # the import registered the scope
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'user.py').write_text(f'_base_ = [{base!r}]\nmine = 1\n')
    cfg = Config.fromfile(str(tmp_path / 'user.py'))
    assert cfg.mine == 1
    plain = Config.fromfile(str(pf.config_path(base)))
    assert cfg.get('model') == plain.get('model')
    assert cfg.get('custom_imports') == plain.get('custom_imports')


def test_root_aliases_are_the_folder_configs():
    """configs/mca_hourglass_{coco,mpii}.py keep the headline command's
    path; they only name the folder config (scopes need a folder)."""
    for name in ('coco', 'mpii'):
        alias = Config.fromfile(str(ROOT / f'configs/mca_hourglass_{name}.py'))
        real = Config.fromfile(
            str(pf.config_path(f'mca_hourglass/mca_hourglass_{name}.py')))
        assert alias.to_dict() == real.to_dict()
    assert sorted(p.name for p in (ROOT / 'configs').glob('*.py')) == [
        'mca_hourglass_coco.py', 'mca_hourglass_mpii.py']
