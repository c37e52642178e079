"""The package built as a wheel and used from a folder outside the checkout.

The wheel is installed into a temporary ``--target`` folder that alone is
put on ``PYTHONPATH`` (the environment's editable install of the checkout
comes later in the import order, and every run asserts it is not the one
imported); the working directory is a temporary folder. User configs there
name the package's configs by scope, as a user project would.
"""
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The synthetic set (data/synthetic_coco/, the package's base names it) for
# training and validation; one training iteration per person (batch 1) on
# two persons (``indices``): two iterations, then the validation at the
# end of training.
TRAIN_TWO_ITERATIONS = """
train_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    dataset=dict(**_base_.synthetic_train_dataset, indices=2))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(**_base_.synthetic_val_dataset))
test_dataloader = val_dataloader
val_evaluator = _base_.synthetic_evaluator
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=1, val_interval=10)
default_hooks = dict(logger=dict(interval=1))
"""

USER_CONFIGS = {
    # a package model config as the base; no pretrained download
    'cpn_user.py': """
_base_ = ['mmpose_ext::cpn/cpn_res50_8xb64-210e_coco-256x192.py',
          'mmpose_ext::_base_/synthetic_coco.py']
model = dict(backbone=dict(init_cfg=None))
""" + TRAIN_TWO_ITERATIONS,
    # MMPose's own config with the package's runtime, as the README shows
    'runtime_user.py': """
_base_ = ['mmpose::body_2d_keypoint/topdown_heatmap/coco/'
          'td-hm_res50_8xb64-210e_coco-256x192.py',
          'mmpose_ext::_base_/mmpose_ext_runtime.py',
          'mmpose_ext::_base_/synthetic_coco.py']
default_hooks = _base_.mmpose_ext_default_hooks
optim_wrapper = _base_.mmpose_ext_optim_wrapper
model = dict(backbone=dict(init_cfg=None, depth=18),
             head=dict(in_channels=512))
""" + TRAIN_TWO_ITERATIONS,
}


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """(site folder, user folder with generated data) of the wheel."""
    base = tmp_path_factory.mktemp('wheel')
    dist, site, user = base / 'dist', base / 'site', base / 'user'
    subprocess.run([
        sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
        '--no-build-isolation', '-w', str(dist), str(ROOT)
    ], check=True, capture_output=True, timeout=300)
    wheel, = dist.glob('mmpose_ext-*.whl')
    subprocess.run([
        sys.executable, '-m', 'pip', 'install', '-q', '--no-deps',
        '--target', str(site), str(wheel)
    ], check=True, capture_output=True, timeout=300)
    user.mkdir()
    for name, text in USER_CONFIGS.items():
        (user / name).write_text(text)
    run(site, user, 'make_synthetic_coco', '--out', 'data/synthetic_coco',
        '--num-train',
        '2', '--num-val', '1', '--img-size', '128', '--workers', '1')
    return site, user, wheel


def run(site, cwd, *args, code=None):
    """``python -m mmpose_ext ARGS`` (or ``python -c CODE``) with only the
    installed wheel on ``PYTHONPATH``, from ``cwd``."""
    env = dict(os.environ, PYTHONPATH=str(site), OMP_NUM_THREADS='1')
    check = ('import mmpose_ext, pathlib; '
             f'assert pathlib.Path(mmpose_ext.__file__).is_relative_to('
             f'{str(site)!r}), mmpose_ext.__file__; ')
    cmd = ([sys.executable, '-c', check + code] if code else [
        sys.executable, '-c',
        check + 'from mmpose_ext.__main__ import main; main()', *args
    ])
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.mark.slow
def test_wheel_carries_configs_tools_and_model_index(installed):
    _, _, wheel = installed
    names = zipfile.ZipFile(wheel).namelist()
    for expected in ('mmpose_ext/.mim/model-index.yml',
                     'mmpose_ext/.mim/configs/_base_/mmpose_ext_runtime.py',
                     'mmpose_ext/.mim/configs/cpn/'
                     'cpn_res50_8xb64-210e_coco-256x192.py',
                     'mmpose_ext/.mim/tools/train.py'):
        assert expected in names
    configs = {n for n in names if n.startswith('mmpose_ext/.mim/configs/')}
    in_checkout = {
        'mmpose_ext/.mim/' + str(p.relative_to(ROOT))
        for p in (ROOT / 'configs').rglob('*') if p.is_file()
    }
    assert configs == in_checkout
    assert not any('__pycache__' in n for n in names)


@pytest.mark.slow
def test_package_files_come_from_the_wheel(installed):
    site, user, _ = installed
    out = run(site, user, code=(
        'from mmpose_ext import package_files as pf; import json; '
        'print(json.dumps([str(pf.configs_dir()), str(pf.tools_dir()), '
        'str(pf.checkout_root())]))'))
    configs, tools, checkout = json.loads(out.strip().splitlines()[-1])
    assert configs == str(site / 'mmpose_ext' / '.mim' / 'configs')
    assert tools == str(site / 'mmpose_ext' / '.mim' / 'tools')
    assert checkout == 'None'


@pytest.mark.slow
@pytest.mark.parametrize('config', sorted(USER_CONFIGS))
def test_user_config_by_scope_trains_two_iterations(installed, config):
    site, user, _ = installed
    work_dir = user / 'work_dirs' / Path(config).stem
    log = run(site, user, 'train', config, '--work-dir', str(work_dir))
    assert "Epoch(train) [1][2/2]" in log, log[-6000:]
    # the package's runtime is on: its checkpoint hook wrote the file
    assert 'AtomicCheckpointHook' in log
    assert (work_dir / 'epoch_1.pth').is_file()


@pytest.mark.slow
def test_checkpoint_fit_suggests_installed_configs(installed):
    site, user, _ = installed
    out = run(site, user, code=(
        'from mmpose_ext.engine.checkpoint_fit import suggest_configs; '
        'meta = dict(experiment_name='
        '"cpn_res18_synthetic-coco-128x96_20260101_000000"); '
        'print(suggest_configs(dict(meta=meta, state_dict={})))'))
    assert ('.mim/configs/cpn/cpn_res18_synthetic-coco-128x96.py'
            in out.strip().splitlines()[-1])


def run_mim(site, cwd, *args):
    """OpenMMLab's ``mim`` with only the wheel on ``PYTHONPATH``."""
    pytest.importorskip('mim', reason='openmim is not installed '
                        '(requirements/tests.txt installs it)')
    env = dict(os.environ, PYTHONPATH=str(site), OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, '-m', 'mim', *args], cwd=cwd,
                          env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_mim_search_lists_the_model_index(installed):
    import yaml
    site, user, _ = installed
    out = run_mim(site, user, 'search', 'mmpose_ext', '--field',
                  'parameters')
    index = site / 'mmpose_ext' / '.mim'
    names = [
        model['Name']
        for path in yaml.safe_load((index / 'model-index.yml').read_text())
        ['Import']
        for model in yaml.safe_load((index / path).read_text())['Models']
    ]
    assert len(names) >= 20
    for name in names:
        assert name in out


@pytest.mark.slow
def test_mim_train_trains_a_synthetic_config(installed):
    site, user, _ = installed
    work_dir = user / 'work_dirs' / 'mim'
    out = run_mim(
        site, user, 'train', 'mmpose_ext',
        'td-hm_res18_synthetic-coco-128x96.py', '--work-dir', str(work_dir),
        '--cfg-options', 'train_dataloader.dataset.indices=2',
        'train_dataloader.batch_size=1',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'train_cfg.max_epochs=1',
        'train_cfg.val_interval=10', 'model.backbone.base_channels=8',
        'model.backbone.stem_channels=16', 'model.head.in_channels=64',
        'model.head.deconv_out_channels=(16,16,16)')
    assert 'Training finished successfully' in out
    assert (work_dir / 'epoch_1.pth').is_file()
