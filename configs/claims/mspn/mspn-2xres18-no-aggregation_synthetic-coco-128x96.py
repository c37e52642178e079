# Claims row "MSPN", arm without cross-stage aggregation: stage 2 gets only
# stage 1's finest unit as its input, not its down- and up-sampling
# features at every scale.
_base_ = './mspn-2xres18_synthetic-coco-128x96.py'
model = dict(backbone=dict(cross_stage_aggregation=False))
