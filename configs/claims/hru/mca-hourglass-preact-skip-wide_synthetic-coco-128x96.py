# Claims row "HRU", arm of plain units at the HRU arm's parameter count:
# ./mca-hourglass-preact-skip_synthetic-coco-128x96.py with the
# pre-activation bottlenecks on the skip branches widened from 32 to 92 mid
# channels (0.537 M parameters against the HRU arm's 0.535 M, by
# mmpose_ext.analysis.complexity.measure).
_base_ = './mca-hourglass-preact-skip_synthetic-coco-128x96.py'
model = dict(backbone=dict(skip_block=dict(mid_channels=92)))
