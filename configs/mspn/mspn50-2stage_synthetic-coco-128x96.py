# Synthetic-data variant of mspn50-2stage_8xb32-210e_coco-256x192.py: the
# same 2-stage MSPN-50 (CrossStageMSPN + MultiStageHeatmapHead, five
# MultiLevelHeatmap target levels) at 128x96, trained from scratch (no
# ImageNet weights) on data/synthetic_coco (tools/make_synthetic_coco.py).
_base_ = [
    './mspn50-2stage_8xb32-210e_coco-256x192.py',
    '../_base_/synthetic_coco.py'
]

# 10 epochs of 49 iterations: a 50-iteration warm-up (MMPose's: 500)
train_cfg = dict(max_epochs=10, val_interval=2)
param_scheduler = [
    dict(type='LinearLR', begin=0, end=50, start_factor=0.01,
         by_epoch=False),
    dict(type='CosineAnnealingLR', begin=0, end=10, T_max=10,
         eta_min=1e-5, by_epoch=True),
]
auto_scale_lr = dict(base_batch_size=32)
default_hooks = dict(logger=dict(interval=10),
                     checkpoint=dict(interval=2, max_keep_ckpts=1))
randomness = dict(seed=0)

codec = dict(
    type='MultiLevelHeatmap', input_size=(96, 128), heatmap_size=(24, 32),
    kernel_sizes=(15, 11, 9, 7, 5), peak=255., blur_kernel_size=5,
    refine='shift')
model = dict(backbone=dict(init_cfg=None),
             head=dict(decoder=dict(_delete_=True, **codec)))

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
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
