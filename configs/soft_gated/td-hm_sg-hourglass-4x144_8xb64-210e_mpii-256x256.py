# Soft-gated stacked hourglass (Bulat et al., FG 2020,
# https://arxiv.org/abs/2002.11098) on MPII at 256x256, evaluated with
# MMPose's PCKh@0.5: 4 stacks of 144 features (the paper's setting) for
# MPII's 16 keypoints, on the data and schedule of
# ../mca_hourglass/mca_hourglass_mpii.py.
_base_ = '../mca_hourglass/mca_hourglass_mpii.py'

num_stacks = 4
model = dict(
    backbone=dict(
        _delete_=True,
        type='SoftGatedHourglassNet',
        num_keypoints=16,
        num_stacks=num_stacks,
        feat_channels=144),
    head=dict(num_stages=num_stacks, loss=dict(num_stages=num_stacks)))
