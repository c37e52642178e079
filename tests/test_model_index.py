"""The OpenMMLab model index (model-index.yml, configs/*/metafile.yml): it
lists every model config once, with its true parameter count, and the
``mmpose_ext::`` config scope that reads it resolves package configs.

The index is written by ``tools/analysis/model_complexity.py --all
--metafiles`` (:mod:`mmpose_ext.analysis.complexity`); FLOPs are not
recounted here (minutes on a CPU), parameters are, on the meta device.
"""
import ast
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml
from mmengine.config import Config

import mmpose_ext  # noqa: F401  (registers the models and the config scope)
from mmpose_ext import package_files
from mmpose_ext.analysis import complexity
from mmpose_ext.engine.checkpoint_fit import build_meta_model

CONFIGS = package_files.configs_dir()
INDEX = package_files.model_index_file()
RES18 = CONFIGS / 'synthetic/td-hm_res18_synthetic-coco-128x96.py'
# an 8-channel ResNet-18 SimpleBaseline: built and counted in a second
TINY = f"""_base_ = ['{RES18}']
model = dict(backbone=dict(base_channels=8),
             head=dict(in_channels=64, deconv_out_channels=(16, 16, 16)))
"""


def load_index(index: Path = INDEX) -> dict:
    """The metafiles imported by ``index``, by their import path."""
    imports = yaml.safe_load(index.read_text())['Import']
    return {name: yaml.safe_load((index.parent / name).read_text())
            for name in imports}


def listed_models(index: Path = INDEX) -> list:
    """Every ``Models`` entry of every imported metafile."""
    return [model for meta in load_index(index).values()
            for model in meta['Models']]


def config_name(model: dict) -> str:
    """A listed model's config relative to ``configs/``."""
    folder, _, name = model['Config'].partition('/')
    assert folder == 'configs', model['Config']
    return name


@pytest.fixture(scope='module')
def param_counts() -> dict:
    """Parameters of every listed model, built on the meta device and
    counted as MMEngine's counter counts them (each parameter once)."""
    counts = {}
    for model in listed_models():
        cfg = Config.fromfile(CONFIGS / config_name(model))
        counts[config_name(model)] = sum(
            p.numel() for p in build_meta_model(cfg).parameters())
    return counts


def test_every_model_config_is_listed_exactly_once():
    # the rule: configs in a family folder, not _base_/ nor claims/ (arms
    # of the claims table), nor the aliases directly in configs/
    expected = {
        p.relative_to(CONFIGS).as_posix()
        for p in package_files.find_configs(CONFIGS, include_claims=False)
        if p.parent != CONFIGS
    }
    listed = Counter(config_name(m) for m in listed_models())
    assert {n for n, c in listed.items() if c > 1} == set()
    assert set(listed) == expected
    # the index's own rule agrees
    assert {p.relative_to(CONFIGS).as_posix()
            for p in complexity.model_configs()} == expected
    assert {'cpn', 'hourglass', 'hrnet', 'mca_hourglass', 'mspn',
            'soft_gated', 'synthetic'} == {n.split('/')[0] for n in expected}


def test_listed_configs_and_metafiles_exist_and_all_are_imported():
    metafiles = load_index()
    for name in metafiles:
        assert (INDEX.parent / name).is_file(), name
    for model in listed_models():
        assert (CONFIGS / config_name(model)).is_file(), model['Config']
        assert model['Name'] == Path(model['Config']).stem
    on_disk = {f'configs/{p.relative_to(CONFIGS).as_posix()}'
               for p in CONFIGS.rglob('metafile.yml')}
    assert on_disk == set(metafiles)
    # one metafile per family folder, listing that folder's configs only
    for name, meta in metafiles.items():
        family = Path(name).parent.name
        assert {config_name(m).split('/')[0] for m in meta['Models']} == {
            family}
        collections = {c['Name'] for c in meta['Collections']}
        assert {m['In Collection'] for m in meta['Models']} == collections
        for collection in meta['Collections']:
            assert collection['Paper']['URL'].startswith('http')
            readme = collection['README'].partition('#')[0]
            root = package_files.checkout_root()
            if root is not None:
                assert (root / readme).is_file(), collection['README']


def test_root_configs_are_only_base_aliases():
    listed = {config_name(m) for m in listed_models()}
    aliases = sorted(CONFIGS.glob('*.py'))
    assert aliases, 'expected the short aliases in configs/'
    for alias in aliases:
        body = ast.parse(alias.read_text()).body
        assert len(body) == 1 and isinstance(body[0], ast.Assign), alias
        (target, ), value = body[0].targets, body[0].value
        assert isinstance(target, ast.Name) and target.id == '_base_'
        bases = ast.literal_eval(value)
        assert len(bases) == 1 and bases[0] in listed, (alias, bases)


@pytest.mark.slow
def test_parameters_are_the_models_parameter_counts(param_counts):
    listed = {config_name(m): m['Metadata'] for m in listed_models()}
    wrong = {name: (meta['Parameters'], param_counts[name])
             for name, meta in listed.items()
             if meta['Parameters'] != param_counts[name]}
    assert wrong == {}
    for meta in listed.values():
        assert isinstance(meta['FLOPs'], int) and meta['FLOPs'] > 0
        assert meta['Training Data'] in ('COCO', 'MPII', 'synthetic COCO')


@pytest.mark.slow
def test_index_is_what_the_generator_writes(param_counts):
    # regenerated from the listed FLOPs and the counted parameters: the
    # collections, metadata and results must be the generator's
    flops = {config_name(m): m['Metadata']['FLOPs'] for m in listed_models()}
    measured = {p: dict(params=param_counts[n], flops=flops[n])
                for n, p in ((p.relative_to(CONFIGS).as_posix(), p)
                             for p in complexity.model_configs())}
    for name, text in complexity.model_index(measured).items():
        path = INDEX.parent / name
        assert path.read_text() == text, (
            f'{name} is stale: rerun `python tools/analysis/'
            'model_complexity.py --all --metafiles`')


def test_results_are_documented_synthetic_measurements():
    root = package_files.checkout_root()
    readme = ' '.join((root / 'README.md').read_text().split()) if root \
        else None
    with_results = [m for m in listed_models() if 'Results' in m]
    assert {config_name(m) for m in with_results} == set(complexity.RESULTS)
    for model in with_results:
        assert model['Metadata']['Training Data'] == 'synthetic COCO'
        assert 'Weights' not in model
        for result in model['Results']:
            assert result['Dataset'] == complexity.SYNTHETIC_DATASET
            assert result['Task'] == 'Body 2D Keypoint'
            if readme is not None:  # the figure and its command are there
                assert f'{result["Metrics"]["AP"]:.3f}' in readme
                command = complexity.RESULTS[config_name(model)].command
                assert command in readme, command


@pytest.mark.slow
def test_metafiles_cover_family_folders_only(tmp_path, capsys):
    root = tmp_path / 'configs'
    (root / 'cpn').mkdir(parents=True)
    (root / 'cpn' / 'cpn_tiny.py').write_text(TINY)
    (root / 'claims' / 'cpn').mkdir(parents=True)
    (root / 'claims' / 'cpn' / 'arm.py').write_text(TINY)
    (root / '_base_').mkdir()
    (root / '_base_' / 'not_a_model.py').write_text('x = 1\n')
    (root / 'cpn_tiny.py').write_text("_base_ = ['cpn/cpn_tiny.py']\n")
    assert complexity.main(['--all', '--root', str(root), '--metafiles']) == 0
    params = int(re.search(r'params:\s+[\d.]+ M \(([\d,]+)\)',
                           capsys.readouterr().out).group(1).replace(',', ''))

    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'configs', 'model-index.yml']
    (meta, ) = load_index(tmp_path / 'model-index.yml').values()
    assert list(load_index(tmp_path / 'model-index.yml')) == [
        'configs/cpn/metafile.yml']
    assert meta['Collections'] == [{
        'Name': 'CPN',
        'Paper': {'Title': complexity.COLLECTIONS['CPN'].title,
                  'URL': 'https://arxiv.org/abs/1711.07319'},
        'README': 'docs/cpn.md'}]
    (model, ) = meta['Models']
    assert model['Name'] == 'cpn_tiny'
    assert model['Config'] == 'configs/cpn/cpn_tiny.py'
    assert model['Metadata']['Architecture'] == [
        'CPN', 'ResNet', 'HeatmapHead']
    assert model['Metadata']['Training Data'] == 'synthetic COCO'
    assert model['Metadata']['Parameters'] == params == sum(
        p.numel() for p in build_meta_model(
            Config.fromfile(root / 'cpn' / 'cpn_tiny.py')).parameters())
    assert 'Results' not in model


@pytest.mark.slow
def test_metafiles_refuse_a_family_without_collection(tmp_path, capsys):
    root = tmp_path / 'configs'
    (root / 'newfamily').mkdir(parents=True)
    (root / 'newfamily' / 'tiny.py').write_text(TINY)
    assert complexity.main(['--all', '--root', str(root), '--metafiles']) == 1
    assert 'newfamily/tiny.py: no entry of MODEL_COLLECTIONS' in (
        capsys.readouterr().err)
    assert not (tmp_path / 'model-index.yml').exists()
    with pytest.raises(SystemExit):  # the index needs every model: --all
        complexity.parse_args([str(root / 'newfamily' / 'tiny.py'),
                               '--metafiles'])
