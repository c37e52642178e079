# Claims row "HRU", arm without HRUs: the attention hourglass of
# ../mca_attention/mca-hourglass_synthetic-coco-128x96.py with plain
# pre-activation bottlenecks in place of the Hourglass Residual Units on
# the skip branches (same count and places, same attention).
_base_ = '../mca_attention/mca-hourglass_synthetic-coco-128x96.py'
model = dict(backbone=dict(skip_block=dict(type='PreActBottleneck')))
