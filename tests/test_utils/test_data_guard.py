"""Unreadable images: skipped in training with a warning, fatal in eval."""
import io
import json
import logging
import shutil

import pytest
from mmengine.logging import MMLogger
from mmpose.registry import DATASETS

from mmpose_ext.utils import UnreadableImageError, guard_dataset
from mmpose_ext.utils.run_tool import _AdaptingRunner

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


@pytest.fixture
def damaged_coco(tiny_coco, tmp_path):
    """A copy of the tiny set whose first train and val images are bad."""
    root = tmp_path / 'coco'
    shutil.copytree(tiny_coco, root)
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


def test_dataset_without_samples_fails_early(tiny_coco, tmp_path):
    coco = json.loads(
        (tiny_coco / 'annotations/person_keypoints_val.json').read_text())
    coco['annotations'] = []
    ann_file = tmp_path / 'no_people.json'
    ann_file.write_text(json.dumps(coco))
    loader = dict(batch_size=1, dataset=_dataset_cfg(
        tiny_coco, 'val', test_mode=False, ann_file=str(ann_file)),
                  sampler=dict(type='DefaultSampler', shuffle=False))
    # MMEngine alone: "need at least one array to concatenate"
    with pytest.raises(ValueError, match='no_people.json.*no samples'):
        _AdaptingRunner.build_dataloader(loader)
    dataset = _dataset(tiny_coco, 'val', test_mode=False,
                       ann_file=str(ann_file), serialize_data=False)
    with pytest.raises(ValueError, match='no_people.json.*no samples'):
        guard_dataset(dataset)
