"""Unreadable images: skipped in training with a warning, fatal in eval."""
import io
import logging
import shutil
from types import SimpleNamespace

import pytest
from mmengine.logging import MMLogger
from mmpose.registry import DATASETS, HOOKS

from mmpose_ext.engine import UnreadableImageError, UnreadableImageHook
from mmpose_ext.engine.hooks.unreadable_image_hook import (
    GuardedImageLoading,
    guard_dataset,
)

PIPELINE = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=(48, 64)),
    dict(type='PackPoseInputs'),
]


def _dataset_cfg(root, split, test_mode, ann_file=None, **kwargs):
    return dict(
        type='CocoDataset', data_root=str(root), data_mode='topdown',
        ann_file=ann_file or f'annotations/person_keypoints_{split}.json',
        data_prefix=dict(img=f'images/{split}/'), test_mode=test_mode,
        pipeline=PIPELINE, **kwargs)


def _dataset(root, split, test_mode, ann_file=None, **kwargs):
    return DATASETS.build(
        _dataset_cfg(root, split, test_mode, ann_file, **kwargs))


def smoke():
    """Built from its registered name, it guards the loops' datasets."""
    hook = HOOKS.build(dict(type='UnreadableImageHook'))
    assert isinstance(hook, UnreadableImageHook)
    dataset = SimpleNamespace(
        test_mode=False, pipeline=SimpleNamespace(transforms=[
            _load_image()]))
    runner = SimpleNamespace(
        train_dataloader=SimpleNamespace(dataset=dataset, num_workers=0),
        train_loop=SimpleNamespace())
    hook.before_train(runner)
    assert isinstance(dataset.pipeline.transforms[0], GuardedImageLoading)
    assert dataset.pipeline.transforms[0].skip


def _load_image():
    from mmpose.registry import TRANSFORMS
    return TRANSFORMS.build(dict(type='LoadImage'))


def test_smoke():
    smoke()


@pytest.fixture
def damaged_coco(synthetic_coco, tmp_path):
    """A copy of the synthetic set whose first train and val images are
    bad."""
    root = tmp_path / 'coco'
    shutil.copytree(synthetic_coco, root)
    train = sorted((root / 'images/train').iterdir())[0]
    train.write_bytes(train.read_bytes()[:64])  # truncated download
    val = sorted((root / 'images/val').iterdir())[0]
    val.write_bytes(b'')
    return root, train, val


def test_training_skips_undecodable_image_with_warning(damaged_coco):
    root, bad, _ = damaged_coco
    dataset = _dataset(root, 'train', test_mode=False)
    guard_dataset(dataset)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    bad_indices = [i for i in range(len(dataset))
                   if dataset.get_data_info(i)['img_path'] == str(bad)]
    assert bad_indices
    try:
        for _ in range(3):  # warned once per file
            sample = dataset[bad_indices[0]]
            assert sample['data_samples'].img_path != str(bad)
    finally:
        logger.removeHandler(handler)
    log = stream.getvalue()
    assert log.count(f'Skipping training image {bad}') == 1
    assert 'cannot be decoded' in log


def test_evaluation_fails_naming_the_image(damaged_coco):
    root, _, bad = damaged_coco
    dataset = _dataset(root, 'val', test_mode=True)
    guard_dataset(dataset)
    with pytest.raises(UnreadableImageError) as err:
        dataset[0]
    message = str(err.value)
    assert f'Cannot load image {bad}: it is empty (0 bytes)' in message
    assert 'imdecode' not in message.split('(')[0]


def test_missing_image_is_named(damaged_coco):
    root, _, bad = damaged_coco
    bad.unlink()
    dataset = _dataset(root, 'val', test_mode=True)
    guard_dataset(dataset)
    with pytest.raises(UnreadableImageError, match='does not exist'):
        dataset[0]


def test_skip_in_training_false_makes_training_images_fatal(damaged_coco):
    root, bad, _ = damaged_coco
    dataset = _dataset(root, 'train', test_mode=False)
    hook = UnreadableImageHook(skip_in_training=False)
    hook.before_train(SimpleNamespace(
        train_dataloader=SimpleNamespace(dataset=dataset, num_workers=0),
        train_loop=SimpleNamespace()))
    index = next(i for i in range(len(dataset))
                 if dataset.get_data_info(i)['img_path'] == str(bad))
    with pytest.raises(UnreadableImageError, match='cannot be decoded'):
        dataset[index]


@pytest.mark.slow
def test_iteration_based_training_with_workers_skips(damaged_coco,
                                                     synthetic_coco,
                                                     tmp_path):
    """MMEngine's IterBasedTrainLoop forks its workers before any hook
    runs; the hook restarts them with the guarded pipeline, so a training
    through tools/train.py with two workers skips the truncated image."""
    import subprocess
    import sys

    from ...test_apis.tool_runs import RES18, ROOT, TINY, data_options
    root, bad, bad_val = damaged_coco
    # the validation at the end of training reads every val image
    shutil.copy(synthetic_coco / bad_val.relative_to(root), bad_val)
    config = tmp_path / 'iter_based.py'
    config.write_text(
        f"_base_ = [{str(ROOT / RES18)!r}]\n"
        "train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', "
        "max_iters=6, val_interval=100)\n"
        "param_scheduler = []\n"
        "log_processor = dict(by_epoch=False)\n"
        "default_hooks = dict(checkpoint=dict(by_epoch=False, "
        "interval=100))\n"
        "train_dataloader = dict(sampler=dict(type='InfiniteSampler'))\n")
    options = [o.replace('num_workers=0', 'num_workers=2')
               for o in data_options(root, batch_size=16)]
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', str(config), '--work-dir',
         str(tmp_path / 'work'), '--cfg-options', *options, *TINY[RES18]],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert f'Skipping training image {bad}' in log
    assert 'Iter(train) [6/6]' in log


@pytest.mark.slow
def test_one_rank_unreadable_image_stops_every_rank(tmp_path):
    """Two-process validation where only rank 1's share holds an empty
    image: rank 1 raises the package's error naming it, rank 0 stops with
    it at the same batch instead of waiting in the result collection."""
    import cv2
    import numpy as np

    from ..toy_ddp import run_two_ranks, toy_val_kwargs
    for i in range(4):
        cv2.imwrite(str(tmp_path / f'img{i}.png'),
                    np.full((8, 8, 3), 40 * i, np.uint8))
    (tmp_path / 'img3.png').write_bytes(b'')  # rank 1's second sample
    outcomes = run_two_ranks(tmp_path, max_iters=1,
                             **toy_val_kwargs(tmp_path))
    assert outcomes[1].startswith('UnreadableImageError: Cannot load image '
                                  f'{tmp_path}/img3.png: it is empty'), \
        outcomes
    assert outcomes[0].startswith(
        'RankFailedError: stopped because another rank failed while '
        'loading data for validation: rank 1: UnreadableImageError: '), \
        outcomes


@pytest.mark.slow
def test_two_ranks_validate_readable_images(tmp_path):
    """Control: with every image readable both ranks finish."""
    import cv2
    import numpy as np

    from ..toy_ddp import run_two_ranks, toy_val_kwargs
    for i in range(4):
        cv2.imwrite(str(tmp_path / f'img{i}.png'),
                    np.full((8, 8, 3), 40 * i, np.uint8))
    outcomes = run_two_ranks(tmp_path, max_iters=1,
                             **toy_val_kwargs(tmp_path))
    assert outcomes == {0: 'finished', 1: 'finished'}, outcomes
