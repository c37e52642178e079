# 4-stage MSPN-50 at 384x288 (the paper's largest single model; MMPose has
# no MSPN config at this size): mspn50-4stage_8xb32-210e_coco-256x192.py
# with 384x288 inputs and 96x72 heatmaps. Kernels 15, 11, 9, 7, 5 as in the
# paper at both sizes.
_base_ = './mspn50-4stage_8xb32-210e_coco-256x192.py'

codec = dict(
    type='MultiLevelHeatmap', input_size=(288, 384), heatmap_size=(72, 96),
    kernel_sizes=(15, 11, 9, 7, 5), peak=255., blur_kernel_size=5,
    refine='shift')
model = dict(head=dict(decoder=dict(_delete_=True, **codec)))

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
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
