# Synthetic-data variant of td-hm_hrnet-w32_ohkm_8xb64-210e_coco-256x192.py:
# the same HRNet-W32 + MultiLevelHeatmap + OHKM recipe at 128x96, trained from
# scratch on data/synthetic_coco (tools/make_synthetic_coco.py).
_base_ = [
    './td-hm_hrnet-w32_ohkm_8xb64-210e_coco-256x192.py',
    '../_base_/synthetic_coco.py'
]

train_cfg = dict(max_epochs=10, val_interval=2)
optim_wrapper = dict(optimizer=dict(lr=2e-3))
# the base's 500-iteration warm-up would span the whole run
param_scheduler = [
    dict(type='LinearLR', begin=0, end=50, start_factor=0.01,
         by_epoch=False),
    dict(type='CosineAnnealingLR', begin=0, end=10, T_max=10,
         eta_min=1e-5, by_epoch=True),
]
auto_scale_lr = dict(base_batch_size=32)
default_hooks = dict(logger=dict(interval=10),
                     checkpoint=dict(interval=2, max_keep_ckpts=1))

codec = dict(type='MultiLevelHeatmap', input_size=(96, 128),
             heatmap_size=(24, 32), sigmas=(1., ), refine='shift')
model = dict(backbone=dict(init_cfg=None),
             head=dict(decoder=dict(_delete_=True, **codec)))

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec,
         use_dataset_keypoint_weights=True),
    dict(type='PackPoseInputs')
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs')
]
train_dataloader = dict(
    batch_size=32,
    dataset=dict(**_base_.synthetic_train_dataset, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    dataset=dict(**_base_.synthetic_val_dataset, pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = _base_.synthetic_evaluator
test_evaluator = val_evaluator
