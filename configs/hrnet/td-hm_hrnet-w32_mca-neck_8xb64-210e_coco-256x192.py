# MMPose's stock HRNet-W32 (COCO, 256x192) with mmpose_ext's multi-context
# attention (https://arxiv.org/abs/1702.07432) as an ordinary neck: CRF
# holistic attention, then per-keypoint part attention, on HRNet's 32-channel
# output; the attended heatmaps go to MultiStageHeatmapHead with the MSE
# loss of the base config.
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/'
    'td-hm_hrnet-w32_8xb64-210e_coco-256x192.py',
    '../_base_/mmpose_ext_runtime.py'
]
default_hooks = _base_.mmpose_ext_default_hooks
optim_wrapper = _base_.mmpose_ext_optim_wrapper

model = dict(
    neck=dict(type='MultiContextAttention', in_channels=32,
              num_keypoints=17, part_attention=True, kernel_size=11),
    head=dict(
        _delete_=True,
        type='MultiStageHeatmapHead',
        in_channels=17,
        out_channels=17,
        heatmap_inputs=True,
        loss=dict(
            type='CoarseToFineLoss',
            num_stages=1,
            num_units=1,
            level_map='last',
            unit_losses=dict(type='WeightedHeatmapMSELoss'),
            unit_weights=[1.0]),
        decoder={{_base_.codec}}))
