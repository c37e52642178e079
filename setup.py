"""Installation of mmpose_ext (``pip install -e .``).

The OpenMMLab stack is installed by ``make install`` (``tools/install.sh``)
in a fixed order, because mmcv needs torch present at build time and mmpose
must be installed without its unbuildable ``chumpy`` dependency;
``install_requires`` only names what this package imports.
"""
from pathlib import Path

from setuptools import find_packages, setup


def get_version() -> str:
    ns: dict = {}
    exec(Path('mmpose_ext/version.py').read_text(), ns)
    return ns['__version__']


setup(
    name='mmpose_ext',
    version=get_version(),
    description='Multi-stage and attention pose models for MMPose 1.x',
    long_description=Path('README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmpose_ext', 'mmpose_ext.*']),
    python_requires='>=3.8',
    install_requires=['mmpose>=1.3.0', 'mmengine>=0.10.0', 'mmcv>=2.0.1'],
    license='Apache-2.0',
)
