# MMPose's stock HRNet-W32 (COCO, 256x192) supervised with this package's
# codec and loss: MultiLevelHeatmap with one sigma-2 level (quarter-pixel
# shift decoding, COCO's per-keypoint weights applied by GenerateTarget) and
# OHKM over the 8 hardest labelled keypoints.
# Fastest on a CPU with bfloat16 units (docs/fast_path.md): --amp
# (bfloat16 mixed precision, 1.52x training throughput here); for long runs
# --cfg-options optim_wrapper.optimizer.fused=True compile=True on top
# (1.12x after about 3.3 min of compiling; 1.11x without the fused step).
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/'
    'td-hm_hrnet-w32_8xb64-210e_coco-256x192.py',
    '../_base_/mmpose_ext_runtime.py'
]
default_hooks = _base_.mmpose_ext_default_hooks
optim_wrapper = _base_.mmpose_ext_optim_wrapper

codec = dict(type='MultiLevelHeatmap', input_size=(192, 256),
             heatmap_size=(48, 64), sigmas=(2., ), refine='shift')
model = dict(
    head=dict(loss=dict(type='OHKMLoss', topk=8, _delete_=True),
              decoder=dict(_delete_=True, **codec)))

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec,
         use_dataset_keypoint_weights=True),
    dict(type='PackPoseInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

# The base's codec is an MSRAHeatmap: replace it rather than merge into it
# (the pipeline and decoder above keep the dict without `_delete_`).
codec = dict(codec, _delete_=True)
