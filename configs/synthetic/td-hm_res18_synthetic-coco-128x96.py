# Stock-model baseline on the synthetic COCO set (make_synthetic_coco.py):
# MMPose's SimpleBaseline top-down heatmap model (ResNet + deconv head) shrunk
# to a half-width ResNet-18 at 128x96, trained from scratch; the tests' small
# end-to-end model. `make demo` trains the attention hourglass instead.
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/'
    'td-hm_res50_8xb64-210e_coco-256x192.py',
    '../_base_/synthetic_coco.py',
    '../_base_/mmpose_ext_runtime.py'
]

# runtime: a few minutes on 2 CPU cores
train_cfg = dict(max_epochs=12, val_interval=2)
optim_wrapper = dict(_base_.mmpose_ext_optim_wrapper, optimizer=dict(lr=2e-3))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=50, start_factor=0.01,
         by_epoch=False),
    dict(type='CosineAnnealingLR', begin=0, end=12, T_max=12,
         eta_min=1e-5, by_epoch=True),
]
auto_scale_lr = dict(base_batch_size=32)
default_hooks = dict(
    _base_.mmpose_ext_default_hooks,
    logger=dict(interval=10),
    checkpoint=dict(type='AtomicCheckpointHook', interval=2,
                    max_keep_ckpts=1))
randomness = dict(seed=0)

codec = dict(type='MSRAHeatmap', input_size=(96, 128), heatmap_size=(24, 32),
             sigma=1)
model = dict(
    backbone=dict(depth=18, base_channels=32, init_cfg=None),
    head=dict(in_channels=256, deconv_out_channels=(64, 64, 64),
              decoder=codec))

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
