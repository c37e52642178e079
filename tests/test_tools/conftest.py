"""Fixtures for the install tools: the stdlib scripts of ``tools/`` loaded
as modules, and virtual environments holding a fake PyTorch."""
import hashlib
import importlib
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, Optional

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / 'tools'


def load_tool(name: str):
    """``tools/<name>.py`` as a module (tools/ is on ``sys.path`` only while
    it is imported: it also holds scripts named ``test`` and ``train``)."""
    sys.path.insert(0, str(TOOLS))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(TOOLS))


def tree_digest(path: Path) -> Dict[str, str]:
    """``{relative path: sha256}`` of every file under ``path``."""
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob('*')) if p.is_file()
    }


@pytest.fixture
def fake_torch_venv(tmp_path) -> Callable[..., Path]:
    """``make(version, cuda=None, opencv=None)``: a venv without pip whose
    site-packages holds a tiny ``torch`` package (``__version__`` and
    ``version.cuda``, with a distribution record as pip writes one) and,
    if asked, an OpenCV distribution record."""

    def make(version: str, cuda: Optional[str] = None,
             opencv: Optional[str] = None) -> Path:
        venv = tmp_path / 'venv'
        subprocess.run([sys.executable, '-m', 'venv', '--without-pip',
                        str(venv)], check=True, timeout=60)
        site, = venv.glob('lib/python*/site-packages')
        torch = site / 'torch'
        torch.mkdir()
        (torch / '__init__.py').write_text(
            f'__version__ = {version!r}\nfrom . import version\n')
        (torch / 'version.py').write_text(f'cuda = {cuda!r}\n')
        public = version.split('+')[0]
        dist_info = site / f'torch-{public}.dist-info'
        dist_info.mkdir()
        (dist_info / 'METADATA').write_text(
            f'Metadata-Version: 2.1\nName: torch\nVersion: {public}\n')
        if opencv:
            name, _, cv_version = opencv.partition('==')
            cv_info = site / f'{name.replace("-", "_")}-{cv_version}.dist-info'
            cv_info.mkdir()
            (cv_info / 'METADATA').write_text(
                f'Metadata-Version: 2.1\nName: {name}\nVersion: '
                f'{cv_version}\n')
        return venv

    return make
