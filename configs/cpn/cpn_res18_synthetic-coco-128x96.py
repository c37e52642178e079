# Synthetic-data variant of cpn_res50_8xb64-210e_coco-256x192.py: the
# CPNHead recipe (GlobalNet at four levels, RefineNet, OHKM, the multi-level
# codec) on a half-width ResNet-18 at 128x96, trained from scratch (no
# pretrained weights) on data/synthetic_coco (tools/make_synthetic_coco.py).
# The heatmap is half as large, so the target kernels 15/11/9/7 become
# 9/7/5/3 (about half the Gaussian sigma) and the test blur 21 becomes 11.
# ResNet-50 (4.6 s per iteration) is too slow for a quick CPU schedule.
_base_ = [
    './cpn_res50_8xb64-210e_coco-256x192.py',
    '../_base_/synthetic_coco.py'
]

# The recipe of the other synthetic variants: Adam 2e-3, 50-iteration
# warm-up, cosine decay over 10 epochs of 49 iterations.
train_cfg = dict(max_epochs=10, val_interval=2)
optim_wrapper = dict(optimizer=dict(lr=2e-3))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=50, start_factor=0.01,
         by_epoch=False),
    dict(type='CosineAnnealingLR', begin=0, end=10, T_max=10,
         eta_min=1e-5, by_epoch=True),
]
auto_scale_lr = dict(base_batch_size=32)
randomness = dict(seed=0)
default_hooks = dict(logger=dict(interval=10),
                     checkpoint=dict(interval=2, max_keep_ckpts=1))

codec = dict(type='MultiLevelHeatmap', input_size=(96, 128),
             heatmap_size=(24, 32), kernel_sizes=(9, 7, 5, 3),
             blur_kernel_size=11, refine='shift', peak=255.)
model = dict(
    backbone=dict(depth=18, base_channels=32, init_cfg=None),
    head=dict(in_channels=(32, 64, 128, 256), feat_channels=128,
              decoder=dict(_delete_=True, **codec)))

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
