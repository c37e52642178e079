# Multi-Context Attention hourglass (https://arxiv.org/abs/1702.07432) on
# MPII at 256x256, evaluated with MMPose's PCKh@0.5 (MpiiPCKAccuracy): the
# model of mca_hourglass_coco.py for MPII's 16 keypoints. RMSprop, lr 2.5e-4
# as in the paper, on MMPose's 210-epoch MPII schedule of its base config.
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/mpii/'
    'td-hm_hourglass52_8xb64-210e_mpii-256x256.py',
    '../_base_/mmpose_ext_runtime.py'
]
default_hooks = _base_.mmpose_ext_default_hooks

optim_wrapper = dict(
    _base_.mmpose_ext_optim_wrapper,
    optimizer=dict(_delete_=True, type='RMSprop', lr=2.5e-4))

num_stacks = 8
model = dict(
    backbone=dict(
        _delete_=True,
        type='HRUHourglassNet',
        num_keypoints=16,
        num_stacks=num_stacks,
        attention=dict(type='MultiContextAttention', kernel_size=11)),
    head=dict(
        _delete_=True,
        type='MultiStageHeatmapHead',
        in_channels=16,
        out_channels=16,
        num_stages=num_stacks,
        heatmap_inputs=True,
        loss=dict(
            type='CoarseToFineLoss',
            num_stages=num_stacks,
            num_units=1,
            level_map='last',
            unit_losses=dict(type='WeightedHeatmapMSELoss'),
            unit_weights=[1.0]),
        decoder={{_base_.codec}}))
