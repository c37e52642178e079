# Small multi-context attention hourglass for the synthetic COCO set, the
# model of `make demo` (whose faster recipe is
# ./mca_hourglass_amp-lightaug_synthetic-coco-128x96.py) and of the claims
# table's hourglass rows: the model of ../mca_hourglass/mca_hourglass_coco.py
# narrowed
# for a 2-core CPU (2 stacks of width 64 with 3 poolings, a stride-2 stem,
# 128x96 input, 32x24 heatmaps; holistic attention in stack 1, part
# attention in stack 2), trained from scratch with Adam and a cosine
# schedule instead of the paper's RMSprop 2.5e-4 so that it learns within
# minutes. Keypoints are decoded with DARK (unbiased=True): on 32x24
# heatmaps its sub-pixel refinement adds 0.025 AP over argmax + quarter
# shift (docs/demo.md).
_base_ = [
    '../mca_hourglass/mca_hourglass_coco.py',
    '../_base_/synthetic_coco.py'
]

train_cfg = dict(max_epochs=12, val_interval=2)
optim_wrapper = dict(optimizer=dict(_delete_=True, type='Adam', lr=2e-3))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=50, start_factor=0.01,
         by_epoch=False),
    dict(type='CosineAnnealingLR', begin=0, end=12, T_max=12,
         eta_min=1e-5, by_epoch=True),
]
auto_scale_lr = dict(base_batch_size=32)
default_hooks = dict(logger=dict(interval=10),
                     checkpoint=dict(interval=2, max_keep_ckpts=1))
randomness = dict(seed=0)

codec = dict(type='MSRAHeatmap', input_size=(96, 128), heatmap_size=(24, 32),
             sigma=1.5)
num_stacks = 2
model = dict(
    backbone=dict(num_stacks=num_stacks, feat_channels=64, num_poolings=3,
                  stem_stride=2, stem_block_channels=((32, ), (64, 64)),
                  attention=dict(kernel_size=7)),
    head=dict(num_stages=num_stacks,
              loss=dict(num_stages=num_stacks),
              decoder=dict(_delete_=True, **codec, unbiased=True,
                           blur_kernel_size=9)))

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
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
