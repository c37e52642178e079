# Mixing: the multi-context attention hourglass of
# ../mca_hourglass/mca_hourglass_coco.py
# with every residual (the plain blocks and the HRUs of the skip branches)
# replaced by SoftGatedBlock through config alone.
_base_ = '../mca_hourglass/mca_hourglass_coco.py'

model = dict(
    backbone=dict(
        block=dict(type='SoftGatedBlock'),
        skip_block=dict(type='SoftGatedBlock')))
