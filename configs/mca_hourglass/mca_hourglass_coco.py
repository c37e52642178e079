# Multi-Context Attention hourglass (Chu et al., CVPR 2017,
# https://arxiv.org/abs/1702.07432) on COCO, top-down, 256x256:
# 8 stacks of Hourglass Residual Units (released layout), CRF attention on
# all 4 resolutions of every stack's up-sampling path, holistic in stacks
# 1-4 and hierarchical part attention in stacks 5-8 (mmpose_ext's
# HRUHourglassNet + MultiContextAttention), every stack supervised with an
# MSE against the same Gaussian target (MultiStageHeatmapHead).
#
# Schedule: RMSprop, lr 2.5e-4 as in the paper, for MMPose's 210-epoch COCO
# schedule (500-iteration warm-up, lr x0.1 at epochs 170 and 200) at a total
# batch of 8 GPUs x 32; flip test on, evaluated with CocoMetric on the
# person detections of MMPose's base config.
# Fastest on a CPU with bfloat16 units (docs/fast_path.md, --grid): --amp
# (bfloat16 mixed precision, 2.01x training throughput here); compile=True
# on top adds 1.14x.
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/'
    'td-hm_hourglass52_8xb32-210e_coco-256x256.py',
    '../_base_/mmpose_ext_runtime.py'
]
default_hooks = _base_.mmpose_ext_default_hooks

optim_wrapper = dict(
    _base_.mmpose_ext_optim_wrapper,
    optimizer=dict(_delete_=True, type='RMSprop', lr=2.5e-4))
auto_scale_lr = dict(base_batch_size=256)

num_stacks = 8
model = dict(
    backbone=dict(
        _delete_=True,
        type='HRUHourglassNet',
        num_keypoints=17,
        num_stacks=num_stacks,
        attention=dict(type='MultiContextAttention', kernel_size=11)),
    head=dict(
        _delete_=True,
        type='MultiStageHeatmapHead',
        in_channels=17,
        out_channels=17,
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
