"""Config mistakes fail before anything is built, naming key and value."""
import json
import re
from pathlib import Path

import pytest
from mmengine.config import Config

from mmpose_ext.apis import (
    PreflightRunner,
    UnknownComponentError,
    check_config,
)

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'configs/synthetic/td-hm_res18_synthetic-coco-128x96.py'


def synthetic_cfg(root: Path, **options) -> Config:
    """The synthetic res18 config on ``root``, with ``options`` merged."""
    cfg = Config.fromfile(CONFIG)
    merged = {f'{s}_dataloader.dataset.data_root': str(root)
              for s in ('train', 'val', 'test')}
    ann = str(root / 'annotations/person_keypoints_val.json')
    merged.update({'val_evaluator.ann_file': ann,
                   'test_evaluator.ann_file': ann})
    merged.update(options)
    cfg.merge_from_dict(merged)
    return cfg


def test_valid_config_passes(synthetic_coco):
    check_config(synthetic_cfg(synthetic_coco))


def test_head_keypoints_differ_from_dataset(synthetic_coco):
    cfg = synthetic_cfg(synthetic_coco, **{'model.head.out_channels': 16})
    with pytest.raises(ValueError) as err:
        check_config(cfg)
    message = str(err.value)
    assert 'model.head.out_channels=16' in message
    assert 'train_dataloader.dataset' in message
    assert 'num_keypoints=17' in message and 'coco.py' in message


def test_checked_before_the_runner_builds_anything(synthetic_coco, tmp_path):
    cfg = synthetic_cfg(synthetic_coco, **{'model.head.out_channels': 16})
    cfg.work_dir = str(tmp_path / 'work')
    with pytest.raises(ValueError, match='model.head.out_channels=16'):
        PreflightRunner.from_cfg(cfg)
    assert not (tmp_path / 'work').exists()


@pytest.mark.parametrize('key,value,error,expected', [
    ('train_dataloader.dataset.ann_file', 'annotations/missing.json',
     FileNotFoundError, 'annotations/missing.json'),
    ('val_dataloader.dataset.data_prefix.img', 'images/missing/',
     FileNotFoundError, 'images/missing/'),
    ('val_evaluator.ann_file', '/nonexistent/val.json', FileNotFoundError,
     '/nonexistent/val.json'),
    ('train_dataloader.dataset.ann_file', 'empty.json', ValueError,
     'is empty'),
    ('train_dataloader.dataset.data_prefix.img', 'empty_dir/', ValueError,
     'is empty'),
])
def test_missing_or_empty_data(key, value, error, expected, synthetic_coco,
                               tmp_path):
    root = tmp_path / 'data'
    root.mkdir()
    for name in ('annotations', 'images'):
        (root / name).symlink_to(synthetic_coco / name)
    (root / 'empty.json').write_text('')
    (root / 'empty_dir').mkdir()
    with pytest.raises(error) as err:
        check_config(synthetic_cfg(root, **{key: value}))
    assert key in str(err.value) and expected in str(err.value)


def test_only_the_splits_in_use_are_checked(synthetic_coco):
    cfg = synthetic_cfg(synthetic_coco, **{
        'train_dataloader.dataset.ann_file': 'missing.json'})
    check_config(cfg, splits=('test', ))  # tools/test.py reads no train data
    cfg.val_cfg = None  # --no-validate
    cfg.train_dataloader.dataset.ann_file = (
        'annotations/person_keypoints_train.json')
    cfg.val_evaluator.ann_file = 'missing.json'
    check_config(cfg, splits=('train', 'val'))


@pytest.mark.parametrize('key,name,close', [
    ('model.head.loss.type', 'KeypointMSELos', 'KeypointMSELoss (model)'),
    ('model.backbone.type', 'HRNett', 'HRNet (model)'),
    ('train_dataloader.dataset.pipeline.1.type', 'GetBBoxCentreScale',
     'GetBBoxCenterScale (transform)'),
    ('val_evaluator.type', 'CocoMetrics', 'CocoMetric (metric)'),
    ('model.head.loss.type', 'ohkmloss', 'OHKMLoss (model)'),  # mmpose_ext
])
def test_unknown_component_lists_close_names(key, name, close, synthetic_coco):
    with pytest.raises(UnknownComponentError) as err:
        check_config(synthetic_cfg(synthetic_coco, **{key: name}))
    message = str(err.value)
    shown_key = re.sub(r'\.(\d+)\.', r'[\1].', key)
    assert f'{shown_key}={name!r}' in message
    assert close in message
    assert isinstance(err.value, KeyError)


def test_no_false_alarms_on_stock_idioms(synthetic_coco):
    cfg = synthetic_cfg(synthetic_coco)
    # another package's scope is left to MMEngine's lazy import
    cfg.custom_hooks = [dict(type='mmdet.PipelineSwitchHook',
                             switch_epoch=1, switch_pipeline=[])]
    check_config(cfg)
    # a head trained on more keypoints, evaluated on a subset of them
    cfg.model.head.out_channels = 19
    cfg.model.test_cfg.output_keypoint_indices = list(range(17))
    check_config(cfg, splits=('val', 'test'))
    with pytest.raises(ValueError, match='out_channels=19'):
        check_config(cfg, splits=('train', ))


def test_dataset_without_samples_fails_early(synthetic_coco, tmp_path):
    coco = json.loads(
        (synthetic_coco / 'annotations/person_keypoints_val.json').read_text())
    coco['annotations'] = []
    ann_file = tmp_path / 'no_people.json'
    ann_file.write_text(json.dumps(coco))
    loader = dict(batch_size=1, sampler=dict(type='DefaultSampler'),
                  dataset=dict(
                      type='CocoDataset', data_root=str(synthetic_coco),
                      data_mode='topdown', ann_file=str(ann_file),
                      data_prefix=dict(img='images/val/'), pipeline=[]))
    # MMEngine alone: "need at least one array to concatenate"
    with pytest.raises(ValueError, match='no_people.json.*no samples'):
        PreflightRunner.build_dataloader(loader)


def test_truncated_annotation_file_is_named(synthetic_coco, tmp_path):
    text = (synthetic_coco / 'annotations/person_keypoints_val.json'
            ).read_text()
    ann_file = tmp_path / 'truncated.json'
    ann_file.write_text(text[:len(text) // 2])
    loader = dict(batch_size=1, sampler=dict(type='DefaultSampler'),
                  dataset=dict(
                      type='CocoDataset', data_root=str(synthetic_coco),
                      data_mode='topdown', ann_file=str(ann_file),
                      data_prefix=dict(img='images/val/'), pipeline=[]))
    with pytest.raises(ValueError, match=f'annotation file {ann_file} of '
                       r'CocoDataset is not valid JSON \(.* at line 1, '
                       'column'):
        PreflightRunner.build_dataloader(loader)
