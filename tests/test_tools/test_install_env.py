"""tools/install_env.py (what the install keeps, its pins) and the pure
helpers of tools/wheelhouse.py (no download)."""
import pytest

from .conftest import ROOT, load_tool

install_env = load_tool('install_env')
wheelhouse = load_tool('wheelhouse')

NOTHING = dict(TORCH_VERSION='', TORCH_DIST_VERSION='', TORCH_CUDA='',
               TORCH_ERROR='', TORCHVISION_VERSION='', NUMPY_VERSION='',
               OPENCV_DIST='', OPENCV_VERSION='', PYTHON_VERSION='3.12')
CONSTRAINTS = (ROOT / 'requirements' / 'constraints.txt').read_text()


@pytest.mark.parametrize('torch, vision', [
    ('2.11.0+cu130', 'torchvision==0.26.*'),
    ('2.12.1', 'torchvision==0.27.*'),
    ('2.13.0+cpu', 'torchvision==0.28.*'),
    ('2.14.1', 'torchvision==0.29.*'),
])
def test_torchvision_for(torch, vision):
    assert install_env.torchvision_for(torch) == vision


def test_version_tuple_and_minimum():
    assert install_env.version_tuple('2.11.0+cu130') == (2, 11, 0)
    assert install_env.version_tuple('2.12.0a0+git123') == (2, 12, 0)
    assert install_env.check_torch('2.11.0') is None
    assert 'older than the supported minimum 2.11' in (
        install_env.check_torch('2.10.2'))


def test_plan_over_the_gpu_target():
    found = dict(NOTHING, TORCH_VERSION='2.11.0+cu130',
                 TORCH_DIST_VERSION='2.11.0', TORCH_CUDA='13.0',
                 NUMPY_VERSION='2.2.6', OPENCV_DIST='opencv-python-headless',
                 OPENCV_VERSION='4.12.0.88')
    out, constraints = install_env.plan(found, CONSTRAINTS)
    assert out['TORCHVISION_SPEC'] == 'torchvision==0.26.*'
    assert out['OPENCV_REWRITE'] == 'opencv-python-headless'
    assert out['NUMPY_MAJOR'] == '2'
    pins = [line for line in constraints.splitlines()
            if line and not line.startswith('#')]
    for kept in ('torch==2.11.0', 'numpy==2.2.6',
                 'opencv-python-headless==4.12.0.88'):
        assert pins.count(kept) == 1
    assert not any(p.startswith(('torch==2.14', 'torchvision', 'numpy==1',
                                 'opencv-python==')) for p in pins)
    # the rest of the repository's pins stay
    assert 'mmengine==0.10.7' in pins and 'setuptools>=77.0.3,<82' in pins


def test_plan_over_an_empty_environment_keeps_the_pins():
    out, constraints = install_env.plan(NOTHING, CONSTRAINTS)
    assert constraints == CONSTRAINTS.rstrip('\n') + '\n'
    assert out['TORCHVISION_SPEC'] == out['OPENCV_REWRITE'] == ''


def test_plan_refuses_a_broken_torch():
    with pytest.raises(ValueError, match='does not import'):
        install_env.plan(dict(NOTHING, TORCH_ERROR='OSError: libcudart'),
                         CONSTRAINTS)


def test_wheelhouse_platform_tags():
    tags = wheelhouse.platform_tags('manylinux_2_28_x86_64')
    assert tags[0] == 'manylinux_2_28_x86_64'
    assert 'manylinux_2_17_x86_64' in tags and tags[-1] == 'manylinux1_x86_64'
    assert 'manylinux2014_x86_64' in tags
    assert wheelhouse.platform_tags('macosx_11_0_arm64') == [
        'macosx_11_0_arm64']


def test_wheelhouse_numpy_spec():
    assert wheelhouse.numpy_spec('2') == 'numpy==2.*'
    assert wheelhouse.numpy_spec('2.1') == 'numpy==2.1.*'
    assert wheelhouse.numpy_spec('1.26.4') == 'numpy==1.26.4'
    assert wheelhouse.numpy_spec('>=2,<3') == 'numpy>=2,<3'


def test_wheelhouse_resolves_everything_but_the_special_packages():
    lines = wheelhouse.resolution_requirements(
        [ROOT / 'requirements/runtime.txt', ROOT / 'requirements/build.txt'])
    names = {line.split('>')[0].split('=')[0].split('<')[0] for line in lines}
    assert {'mmengine', 'mmdet', 'scipy', 'cython',
            'setuptools'} <= names
    assert not names & {'mmcv', 'mmpose', 'xtcocotools', 'torch',
                        'torchvision'}


def test_wheelhouse_reads_a_target_freeze(tmp_path):
    freeze = tmp_path / 'freeze.txt'
    freeze.write_text('torch==2.11.0\nNumPy==2.2.6\n-e git+x#egg=y\n'
                      'opencv_python_headless==4.12.0.88\n')
    assert wheelhouse.read_freeze(freeze) == {
        'torch': '2.11.0', 'numpy': '2.2.6',
        'opencv-python-headless': '4.12.0.88'}
