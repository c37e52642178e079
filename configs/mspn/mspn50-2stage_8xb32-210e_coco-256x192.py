# MMPose's 2-stage MSPN-50 (COCO, 256x192) built from this package's
# components; everything else (data, schedule, Adam 5e-3, flip test) is
# MMPose's config:
# - backbone: CrossStageMSPN (cross-stage aggregation between the stages)
#   with MSPN's per-unit heatmap predictors, the same parameters as MMPose's
#   MSPN + MSPNHead;
# - head: MultiStageHeatmapHead with CoarseToFineLoss's defaults: unit j of
#   a non-final stage against target level j, of the final stage against
#   level j + 1; MSE over labelled keypoints (weight 0.25) for the three
#   coarse units, OHKM top-8 (weight 1.0) for the finest;
# - targets: all five levels (kernels 15, 11, 9, 7, 5, peak 255 as
#   MegviiHeatmap) from one MultiLevelHeatmap instead of five MegviiHeatmap
#   encoders with GenerateTarget(multilevel=True); decoding blurs with the
#   finest kernel and shifts a quarter pixel, as MegviiHeatmap does.
# Fastest on a CPU with bfloat16 units (docs/fast_path.md): --amp
# (bfloat16 mixed precision, 1.66x training throughput here); compile=True
# on top adds only 1.01x, 1.06x with optim_wrapper.optimizer.fused=True:
# half its step is oneDNN convolutions either way, and fusing the rest
# saves little (profile in docs/fast_path.md). For runs of more than about
# 70 min add compile.options.cpp_wrapper=True too (inductor's C++
# wrapper): 1.10x after about 7 min of compiling.
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/'
    'td-hm_2xmspn50_8xb32-210e_coco-256x192.py',
    '../_base_/mmpose_ext_runtime.py'
]
default_hooks = _base_.mmpose_ext_default_hooks
optim_wrapper = _base_.mmpose_ext_optim_wrapper

num_stages = 2
codec = dict(
    type='MultiLevelHeatmap', input_size=(192, 256), heatmap_size=(48, 64),
    kernel_sizes=(15, 11, 9, 7, 5), peak=255., blur_kernel_size=5,
    refine='shift')
model = dict(
    backbone=dict(
        _delete_=True, type='CrossStageMSPN', depth=50,
        num_stages=num_stages, unit_channels=256, num_keypoints=17,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet50')),
    head=dict(
        _delete_=True, type='MultiStageHeatmapHead', in_channels=17,
        out_channels=17, num_stages=num_stages, num_units=4,
        heatmap_inputs=True, decoder=codec))

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
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

# The base's codec is a list of MegviiHeatmap encoders: replace it rather
# than merge into it (the pipeline and decoder above keep the dict without
# `_delete_`).
codec = dict(codec, _delete_=True)
