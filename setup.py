"""Installation of mmpose_ext (``pip install .``, ``pip install -e .``).

As OpenMMLab codebases do (MMPose's ``add_mim_extension``), the package
carries its ``configs/``, ``tools/``, ``model-index.yml`` and the CUDA
test tier ``tests/test_cuda`` in ``mmpose_ext/.mim``: copied there in a
built wheel, linked to the checkout in an editable install. That is what
makes ``mmpose_ext::<folder>/<config>.py`` bases and ``mim`` work (see
``mmpose_ext/package_files.py``).

The OpenMMLab stack itself is installed by ``tools/install.sh`` in a fixed
order (mmcv needs torch present at build time; mmpose is installed from
its wheel without its unbuildable ``chumpy`` requirement); see README
"Installation". ``install_requires`` states the tested ranges.
"""
import os
import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: What ``mmpose_ext/.mim`` holds (``tests/test_cuda``: the CUDA tier of
#: the test suite, run by ``python -m mmpose_ext verify_gpu``).
MIM_FILES = ('configs', 'tools', 'model-index.yml', 'tests/test_cuda')


def get_version() -> str:
    ns: dict = {}
    exec((ROOT / 'mmpose_ext' / 'version.py').read_text(), ns)
    return ns['__version__']


def link_mim_files(mim: Path) -> None:
    """``mmpose_ext/.mim/<name>`` -> ``../../<name>`` for an editable
    install (a copy where links are not possible, e.g. Windows)."""
    mim.mkdir(parents=True, exist_ok=True)
    for name in MIM_FILES:
        src, dst = ROOT / name, mim / name
        if not src.exists():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        if dst.is_symlink() or dst.is_file():
            dst.unlink()
        elif dst.is_dir():
            shutil.rmtree(dst)
        try:
            os.symlink(os.path.relpath(src, dst.parent), dst)
        except OSError:
            copy_mim_file(src, dst)


def copy_mim_file(src: Path, dst: Path) -> None:
    if src.is_dir():
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns(
            '__pycache__', '*.pyc'))
    else:
        shutil.copyfile(src, dst)


class BuildPyWithMim(build_py):
    """``build_py`` that also puts :data:`MIM_FILES` (``configs/``,
    ``tools/``, ...) into ``mmpose_ext/.mim``: links in the checkout
    for an editable install, copies in the built package otherwise (the
    checkout's own ``.mim`` is left alone)."""

    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False):
            link_mim_files(ROOT / 'mmpose_ext' / '.mim')
            return
        mim = Path(self.build_lib) / 'mmpose_ext' / '.mim'
        if mim.exists():
            shutil.rmtree(mim)
        mim.mkdir(parents=True)
        for name in MIM_FILES:
            if (ROOT / name).exists():
                copy_mim_file(ROOT / name, mim / name)


setup(
    name='mmpose_ext',
    version=get_version(),
    description='Multi-stage and attention pose models for MMPose 1.x',
    long_description=(ROOT / 'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmpose_ext', 'mmpose_ext.*']),
    package_data={'mmpose_ext.analysis.claims': ['claims.md.tmpl']},
    cmdclass={'build_py': BuildPyWithMim},
    # Tested on 3.11 (this project's machines) and 3.12 (the GPU target).
    python_requires='>=3.11',
    install_requires=[
        # tested: 2.11 (Python 3.12) and 2.14.1 (Python 3.11)
        'torch>=2.11',
        'numpy>=1.26',
        'scipy',
        'mmpose>=1.3.2,<1.4',
        # internals verified on 0.10.7 only (mmpose_ext/private_state.py)
        'mmengine>=0.10.7,<0.11',
        'mmcv>=2.1.0,<2.2',
        # MMEngine's config scopes (mmpose::, mmpose_ext::) import
        # pkg_resources, which setuptools 82 removed
        'setuptools<82',
    ],
    extras_require={
        'tests': ['pytest', 'ruff==0.17.5'],
        'onnx': ['onnx', 'onnxruntime', 'ml_dtypes'],
    },
    license='Apache-2.0',
)
