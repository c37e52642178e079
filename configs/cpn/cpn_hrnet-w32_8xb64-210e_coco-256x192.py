# CPNHead on MMPose's stock HRNet-W32 (COCO, 256x192): with
# stage4.multiscale_output=True HRNet returns its four branches (32/64/128/256
# channels at strides 4/8/16/32), which take the place of ResNet's C2..C5.
# Targets, losses and test as cpn_res50_8xb64-210e_coco-256x192.py; schedule
# of MMPose's HRNet config (Adam 5e-4 for batch 8x64, 500-iteration warm-up,
# x0.1 at epochs 170 and 200 of 210).
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/'
    'td-hm_hrnet-w32_8xb64-210e_coco-256x192.py',
    '../_base_/mmpose_ext_runtime.py'
]
default_hooks = _base_.mmpose_ext_default_hooks
optim_wrapper = _base_.mmpose_ext_optim_wrapper

codec = dict(type='MultiLevelHeatmap', input_size=(192, 256),
             heatmap_size=(48, 64), kernel_sizes=(15, 11, 9, 7),
             blur_kernel_size=21, refine='shift', peak=255.)
model = dict(
    backbone=dict(extra=dict(stage4=dict(multiscale_output=True))),
    head=dict(
        _delete_=True,
        type='CPNHead',
        in_channels=(32, 64, 128, 256),
        out_channels=17,
        global_levels=(0, 1, 2, 3),  # released pairing, see CPNHead
        refine_level=-1,
        loss_global=dict(type='WeightedHeatmapMSELoss', average='valid'),
        loss_refine=dict(type='OHKMLoss', topk=8),
        decoder=codec),
    test_cfg=dict(shift_heatmap=False))

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

# The base's codec is an MSRAHeatmap: replace it rather than merge into it
# (the pipeline and decoder above keep the dict without `_delete_`).
codec = dict(codec, _delete_=True)
