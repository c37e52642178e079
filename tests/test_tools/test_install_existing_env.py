"""tools/install.sh over an environment that already has PyTorch, through
its ``--plan`` switch (nothing is installed), and its argument checks.

The environments hold a fake ``torch`` package: the install reads only its
``__version__``, ``version.cuda`` and distribution record.
"""
import os
import subprocess
import sys

from .conftest import ROOT, tree_digest

INSTALL = ROOT / 'tools' / 'install.sh'


def run_install(*args, venv=None, **env):
    environ = dict(os.environ, PYTHON=sys.executable, **env)
    environ.pop('VENV', None)
    if venv is not None:
        environ['VENV'] = str(venv)
    return subprocess.run(['bash', str(INSTALL), *args], env=environ,
                          capture_output=True, text=True, timeout=60)


def test_plan_keeps_the_environments_torch(fake_torch_venv):
    venv = fake_torch_venv('2.11.0+cu130', cuda='13.0',
                           opencv='opencv-python-headless==4.12.0.88')
    before = tree_digest(venv)
    proc = run_install('--plan', venv=venv)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert f'kept PyTorch 2.11.0+cu130 (CUDA 13.0) from {venv}' in out
    assert 'would not install torch' in out
    assert 'torchvision: would install torchvision==0.26.*' in out
    # OpenCV kept, the stack's opencv-python requirement pointed at it
    assert 'opencv-python-headless 4.12.0.88: kept' in out
    constraints = out.split('constraints:')[1].split()
    assert 'torch==2.11.0' in constraints
    assert 'opencv-python-headless==4.12.0.88' in constraints
    assert not any(c.startswith(('torch==2.14', 'torchvision==',
                                 'opencv-python==')) for c in constraints)
    # nothing was written into the environment
    assert tree_digest(venv) == before


def test_plan_names_a_cpu_build(fake_torch_venv):
    venv = fake_torch_venv('2.14.1+cpu')
    proc = run_install('--plan', venv=venv)
    assert proc.returncode == 0, proc.stderr
    assert 'kept PyTorch 2.14.1+cpu (CPU)' in proc.stdout
    assert 'torchvision: would install torchvision==0.29.*' in proc.stdout


def test_an_older_torch_is_refused(fake_torch_venv):
    venv = fake_torch_venv('2.10.1+cu128', cuda='12.8')
    before = tree_digest(venv)
    for args in (['--plan'], []):
        proc = run_install(*args, venv=venv)
        assert proc.returncode == 2
        assert ('PyTorch 2.10.1+cu128 is older than the supported minimum '
                '2.11') in proc.stderr
        assert 'torch==' not in proc.stdout
    assert tree_digest(venv) == before


def test_cuda_ops_need_a_cuda_build(fake_torch_venv):
    venv = fake_torch_venv('2.11.0+cpu')
    proc = run_install('--cuda-ops', venv=venv)
    assert proc.returncode == 2
    assert '--cuda-ops: PyTorch 2.11.0+cpu (CPU) is not a CUDA build' in (
        proc.stderr)


def test_plan_without_torch_installs_the_pinned_stack(tmp_path):
    venv = tmp_path / 'new-venv'
    proc = run_install('--plan', venv=venv)
    assert proc.returncode == 0, proc.stderr
    assert f'would create {venv}' in proc.stdout
    assert ('would install torch==2.14.1 torchvision==0.29.1'
            in proc.stdout)
    assert not venv.exists()


def test_offline_needs_an_existing_folder(tmp_path):
    venv = tmp_path / 'venv'
    proc = run_install('--offline', venv=venv)
    assert proc.returncode == 2
    assert '--offline needs a folder' in proc.stderr
    proc = run_install('--offline', '--plan', venv=venv)
    assert proc.returncode == 2
    assert '--offline needs a folder' in proc.stderr
    missing = tmp_path / 'no-wheelhouse'
    proc = run_install('--offline', str(missing), venv=venv)
    assert proc.returncode == 2
    assert f'--offline folder {missing} does not exist' in proc.stderr
    assert not venv.exists()


def test_offline_plan_reads_the_wheelhouse_only(fake_torch_venv, tmp_path):
    venv = fake_torch_venv('2.11.0+cu130', cuda='13.0')
    wheelhouse = tmp_path / 'wheelhouse'
    wheelhouse.mkdir()
    proc = run_install('--offline', str(wheelhouse), '--plan', venv=venv)
    assert proc.returncode == 0, proc.stderr
    assert f'packages from: {wheelhouse}' in proc.stdout
    # no test tools offline: the wheelhouse holds the runtime only
    assert 'requirements/tests.txt' not in proc.stdout
