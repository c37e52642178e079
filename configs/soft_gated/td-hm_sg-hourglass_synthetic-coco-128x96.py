# Soft-gated stacked hourglass for the synthetic COCO set: the plain
# reference ../hourglass/td-hm_res-hourglass_synthetic-coco-128x96.py (2
# stacks, 3 poolings, same stem, head, data and schedule) with the backbone
# swapped for SoftGatedHourglassNet at 36 features, i.e. 144 / 256 of the
# reference's 64 as in the paper's 4x144 against Newell's 4x256.
_base_ = '../hourglass/td-hm_res-hourglass_synthetic-coco-128x96.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='SoftGatedHourglassNet',
        num_keypoints=17,
        num_stacks=2,
        feat_channels=36,
        num_poolings=3,
        stem_stride=2,
        stem_block_channels=((32, ), (64, 64))))
