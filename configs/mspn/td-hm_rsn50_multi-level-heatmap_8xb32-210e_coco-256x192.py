# MMPose's own RSN-50 config (RSN + MSPNHead, its losses and its
# MegviiHeatmap decoder unchanged) with its targets made by one
# MultiLevelHeatmap in MMPose's multi-level layout (multilevel=True) instead
# of four MegviiHeatmap encoders with GenerateTarget(multilevel=True): the
# same targets (peak 255), in one vectorised pass.
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/'
    'td-hm_rsn50_8xb32-210e_coco-256x192.py',
    '../_base_/mmpose_ext_runtime.py'
]
default_hooks = _base_.mmpose_ext_default_hooks
optim_wrapper = _base_.mmpose_ext_optim_wrapper

codec = dict(
    type='MultiLevelHeatmap', input_size=(192, 256), heatmap_size=(48, 64),
    kernel_sizes=(11, 9, 7, 5), peak=255., multilevel=True)
# the base's training pipeline, its GenerateTarget step swapped
train_pipeline = [
    dict(type='GenerateTarget', encoder=codec)
    if step['type'] == 'GenerateTarget' else step
    for step in _base_.train_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

# the base's codec is a list of MegviiHeatmap encoders: replace it
codec = dict(codec, _delete_=True)
