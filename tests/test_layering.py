"""The package's folders import only from lower layers (so no cycles):

    private_state, version, utils                 0
    package_files                                 1
    codecs, models, datasets, testing, registry   2
    engine                                        3  (engine may use models)
    apis                                          4
    analysis, visualization                       5  (not each other)

``mmpose_ext/__init__.py`` and ``__main__.py`` sit above all of them.
Imports are read with :mod:`ast`, module-level and function-level alike.
"""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / 'mmpose_ext'
LAYERS = {
    'private_state': 0, 'version': 0, 'utils': 0, 'package_files': 1,
    'codecs': 2, 'models': 2, 'datasets': 2, 'testing': 2, 'registry': 2,
    'engine': 3, 'apis': 4, 'analysis': 5, 'visualization': 5,
}


def imported_parts(path: Path):
    """``(line, top-level part of mmpose_ext)`` of every import in
    ``path``."""
    rel = path.relative_to(ROOT)
    package = ['mmpose_ext', *rel.parts[:-1]]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = base + (node.module.split('.') if node.module
                                 else [])
                if len(target) == 1:  # from .. import x
                    for alias in node.names:
                        yield node.lineno, alias.name
                    continue
            else:
                target = (node.module or '').split('.')
            if target[0] == 'mmpose_ext' and len(target) > 1:
                yield node.lineno, target[1]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                target = alias.name.split('.')
                if target[0] == 'mmpose_ext' and len(target) > 1:
                    yield node.lineno, target[1]


def test_every_folder_has_a_layer():
    parts = {p.name.removesuffix('.py') for p in ROOT.iterdir()
             if p.suffix == '.py' or (p / '__init__.py').is_file()}
    assert parts - {'__init__', '__main__'} == set(LAYERS)


def test_imports_go_to_lower_layers_only():
    wrong = []
    for path in sorted(ROOT.rglob('*.py')):
        part = path.relative_to(ROOT).parts[0].removesuffix('.py')
        if part in ('__init__', '__main__'):
            continue
        for line, target in imported_parts(path):
            if target != part and LAYERS[target] >= LAYERS[part]:
                wrong.append(f'{path.relative_to(ROOT.parent)}:{line} '
                             f'({part}, layer {LAYERS[part]}) imports '
                             f'{target} (layer {LAYERS[target]})')
    assert not wrong, '\n'.join(wrong)


def test_the_rule_catches_an_upward_import(tmp_path, monkeypatch):
    """The reader itself: a models module importing apis is reported."""
    fake = tmp_path / 'mmpose_ext'
    (fake / 'models').mkdir(parents=True)
    (fake / 'models' / 'x.py').write_text(
        'from ..apis import init_model\nfrom . import y\n')
    monkeypatch.setattr('tests.test_layering.ROOT', fake)
    assert list(imported_parts(fake / 'models' / 'x.py')) == [
        (1, 'apis'), (2, 'models')]
