"""Where the package's configs, tools and model index are, installed or not.

The one module that knows the package's files outside its Python code:

* an installed wheel carries them in ``mmpose_ext/.mim/`` (``configs/``,
  ``tools/``, ``model-index.yml`` and the CUDA tier ``tests/test_cuda``),
  as OpenMMLab codebases ship theirs (``setup.py`` copies them there when
  it builds a wheel);
* an editable install (``pip install -e .``, ``make install``) has
  ``mmpose_ext/.mim/`` as links into the checkout;
* a checkout used without installing (on ``PYTHONPATH``) has them beside the
  package.

It also makes ``mmpose_ext::`` a config scope, so a config anywhere can
name a package config as its base, as ``mmpose::`` names MMPose's::

    _base_ = ['mmpose_ext::cpn/cpn_res50_8xb64-210e_coco-256x192.py']

MMEngine 0.10 resolves ``<scope>::`` only for the codebases listed in
``mmengine.config.utils.MODULE2PACKAGE``; :func:`register_config_scope`
(run by ``import mmpose_ext``) adds this package there (see
:mod:`mmpose_ext.private_state`). A process must therefore import
``mmpose_ext`` before it parses such a config: the package's tools,
``python -m mmpose_ext`` and ``mim train mmpose_ext`` do.

Nothing here imports torch or the rest of the package.
"""
from pathlib import Path
from typing import List, Optional

__all__ = [
    'SCOPE', 'PackageFilesNotFound', 'checkout_root', 'config_path',
    'configs_dir', 'cuda_tier_dir', 'find_configs', 'mim_dir',
    'model_index_file', 'package_dir', 'register_config_scope',
    'tool_names', 'tool_path', 'tools_dir'
]

#: The config scope (``mmpose_ext::<folder>/<config>.py``).
SCOPE = 'mmpose_ext'
#: The module MMEngine is pointed at to find the installed package: it is
#: not a distribution, so MMEngine falls back to ``importlib`` and gets this
#: file's folder, right for wheel and editable installs alike.
_SCOPE_MODULE = f'{SCOPE}.package_files'


class PackageFilesNotFound(FileNotFoundError):
    """The package's configs or tools are in neither an installed
    ``.mim`` folder nor a checkout."""


def package_dir() -> Path:
    """The folder of the ``mmpose_ext`` Python package."""
    return Path(__file__).resolve().parent


def mim_dir() -> Path:
    """``mmpose_ext/.mim``: where an installed package keeps its configs,
    tools and model index (it may not exist in a bare checkout)."""
    return Path(__file__).parent / '.mim'


def checkout_root() -> Optional[Path]:
    """The source checkout the package is imported from, or ``None`` when
    it is an installed wheel.

    A checkout is recognised by ``setup.py`` and ``configs/`` beside the
    package folder. Only development commands that write into a checkout
    (the claims table, the model zoo page) need it.
    """
    root = package_dir().parent
    if (root / 'setup.py').is_file() and (root / 'configs').is_dir():
        return root
    return None


def _resource(name: str) -> Path:
    """``name`` (``configs``, ``tools``, ``model-index.yml``) under
    ``.mim`` if there, else in the checkout; links resolved."""
    candidates = [mim_dir() / name]
    root = checkout_root()
    if root is not None:
        candidates.append(root / name)
    for candidate in candidates:
        if candidate.exists():
            # an editable install's links resolve to the checkout's files
            return candidate.resolve()
    raise PackageFilesNotFound(
        f'mmpose_ext\'s {name} not found (looked in '
        f'{", ".join(str(c) for c in candidates)}): install the package from '
        'its wheel or checkout (`pip install .` / `pip install -e .`), '
        'which puts them in mmpose_ext/.mim')


def configs_dir() -> Path:
    """The package's ``configs/`` folder."""
    return _resource('configs')


def cuda_tier_dir() -> Path:
    """The CUDA tier of the test suite (``tests/test_cuda``: ``pytest -m
    cuda``), which an installed wheel carries too, for
    ``python -m mmpose_ext verify_gpu``."""
    return _resource('tests/test_cuda')


def tools_dir() -> Path:
    """The package's ``tools/`` folder (``train.py``, ``test.py``, ...)."""
    return _resource('tools')


def model_index_file() -> Path:
    """The OpenMMLab model index, ``model-index.yml``."""
    return _resource('model-index.yml')


def config_path(name: str) -> Path:
    """The file of a package config.

    Args:
        name (str): Relative to ``configs/``, with or without the
            ``mmpose_ext::`` scope, e.g. ``cpn/cpn_res18_synthetic-coco-
            128x96.py``.

    Raises:
        PackageFilesNotFound: naming the config and the folder searched.
    """
    prefix = f'{SCOPE}::'
    rel = name[len(prefix):] if name.startswith(prefix) else name
    path = configs_dir() / rel
    if not path.is_file():
        raise PackageFilesNotFound(
            f'{name}: no such config in {configs_dir()}')
    return path


def tool_path(name: str) -> Path:
    """The file of a package tool.

    Args:
        name (str): Relative to ``tools/``, with or without ``.py``, e.g.
            ``train`` or ``analysis/model_complexity``.
    """
    rel = name if name.endswith(('.py', '.sh')) else f'{name}.py'
    path = tools_dir() / rel
    if not path.is_file():
        raise PackageFilesNotFound(
            f'{name}: no such tool in {tools_dir()}; the tools are: '
            f'{", ".join(tool_names())}')
    return path


def tool_names() -> List[str]:
    """The package's Python tools, relative to ``tools/`` without
    ``.py`` (``train``, ``analysis/model_complexity``, ...)."""
    root = tools_dir()
    return sorted(
        str(p.relative_to(root).with_suffix('')) for p in root.rglob('*.py')
        if '__pycache__' not in p.parts)


def find_configs(root: Optional[Path] = None,
                 include_claims: bool = True) -> List[Path]:
    """Every config under ``root`` except the ``_base_`` folders, sorted.

    Args:
        root (Path, optional): Defaults to :func:`configs_dir`.
        include_claims (bool): Keep the arms of the claims table
            (``configs/claims/``). Defaults to ``True``.
    """
    root = Path(root) if root is not None else configs_dir()
    found = []
    for path in sorted(root.rglob('*.py')):
        parts = path.relative_to(root).parts
        if '_base_' in parts or (not include_claims and parts[0] == 'claims'):
            continue
        found.append(path)
    return found


def register_config_scope() -> None:
    """Make ``mmpose_ext::<folder>/<config>.py`` resolve in MMEngine's
    ``Config`` (idempotent)."""
    from .private_state import register_mmengine_config_scope
    register_mmengine_config_scope(SCOPE, _SCOPE_MODULE)
