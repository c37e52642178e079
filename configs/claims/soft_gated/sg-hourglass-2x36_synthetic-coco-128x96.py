# Claims row "soft-gated", soft-gated arm: the plain arm with the backbone
# swapped for SoftGatedHourglassNet (2 stacks, 3 poolings, same stem) at 36
# features and the paper's 3x3 fuse conv: about a third of the parameters.
_base_ = './res-hourglass-2x128_synthetic-coco-128x96.py'
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
