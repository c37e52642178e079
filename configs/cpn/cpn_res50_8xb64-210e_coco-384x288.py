# CPN ResNet-50 at 384x288: cpn_res50_8xb64-210e_coco-256x192.py on MMPose's
# 384x288 ResNet-50 config, with the released 384x288 target kernels
# 23/17/13/9 (tf-cpn COCO.res50.384x288.CPN) and the 21x21 test blur scaled
# by the same 1.5 (31x31). Schedule as the 256x192 config (MMPose's stock:
# Adam 5e-4 for batch 8x64, 500-iteration warm-up, x0.1 at epochs 170 and
# 200 of 210).
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/'
    'td-hm_res50_8xb64-210e_coco-384x288.py',
    '../_base_/mmpose_ext_runtime.py'
]
default_hooks = _base_.mmpose_ext_default_hooks
optim_wrapper = _base_.mmpose_ext_optim_wrapper

codec = dict(type='MultiLevelHeatmap', input_size=(288, 384),
             heatmap_size=(72, 96), kernel_sizes=(23, 17, 13, 9),
             blur_kernel_size=31, refine='shift', peak=255.)
model = dict(
    backbone=dict(out_indices=(0, 1, 2, 3)),
    head=dict(
        _delete_=True,
        type='CPNHead',
        in_channels=(256, 512, 1024, 2048),
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
