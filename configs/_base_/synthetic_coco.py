# The synthetic COCO set written by tools/make_synthetic_coco.py, for
# synthetic-data variants: list this file after the model's base config and
# merge the ``synthetic_*`` pieces into the dataloaders and evaluators, e.g.
#   train_dataloader = dict(dataset=dict(
#       **_base_.synthetic_train_dataset, pipeline=train_pipeline))
synthetic_data_root = 'data/synthetic_coco/'
synthetic_train_dataset = dict(
    data_root=synthetic_data_root,
    ann_file='annotations/person_keypoints_train.json',
    data_prefix=dict(img='images/train/'))
synthetic_val_dataset = dict(
    data_root=synthetic_data_root,
    ann_file='annotations/person_keypoints_val.json',
    bbox_file=None,
    data_prefix=dict(img='images/val/'))
synthetic_evaluator = dict(
    ann_file=synthetic_data_root + 'annotations/person_keypoints_val.json')
