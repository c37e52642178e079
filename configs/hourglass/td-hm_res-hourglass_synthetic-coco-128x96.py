# Plain residual stacked hourglass for the synthetic COCO set: the small
# model of ../synthetic/mca_hourglass_synthetic-coco-128x96.py (2 stacks of
# 64 features, 3 poolings, 128x96 input, 32x24 heatmaps) with plain
# pre-activation bottlenecks only (no HRUs, no attention). The soft-gated
# variant ../soft_gated/td-hm_sg-hourglass_synthetic-coco-128x96.py changes
# only the backbone; the claims table's plain arm widens this model
# (../claims/soft_gated/).
_base_ = '../synthetic/mca_hourglass_synthetic-coco-128x96.py'

model = dict(backbone=dict(num_skip_blocks=(0, 0, 0), attention=None))
