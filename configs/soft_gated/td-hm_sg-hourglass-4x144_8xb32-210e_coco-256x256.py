# Soft-gated stacked hourglass (Bulat et al., FG 2020,
# https://arxiv.org/abs/2002.11098) on COCO at 256x256: 4 stacks of 144
# features built from SoftGatedBlock with the hybrid hourglass/U-Net decoder
# (the paper's setting), every stack supervised by MultiStageHeatmapHead.
# Differs from the plain residual reference
# ../hourglass/td-hm_res-hourglass-4x256_8xb32-210e_coco-256x256.py only in
# the backbone. Schedule: that of ../mca_hourglass/mca_hourglass_coco.py
# (RMSprop 2.5e-4,
# MMPose's 210-epoch COCO schedule); the paper's own schedule is not
# reproduced here.
# Fastest on a CPU with bfloat16 units (docs/fast_path.md, --grid): --amp
# (bfloat16 mixed precision, 1.88x training throughput here); compile=True
# on top adds 1.28x.
_base_ = '../hourglass/td-hm_res-hourglass-4x256_8xb32-210e_coco-256x256.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='SoftGatedHourglassNet',
        num_keypoints=17,
        num_stacks=4,
        feat_channels=144))
