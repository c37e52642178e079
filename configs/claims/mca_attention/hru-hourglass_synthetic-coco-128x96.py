# Claims row "MCA attention", arm without attention: the same HRU hourglass
# with plain 1x1 heatmap convs instead of the attention modules.
_base_ = './mca-hourglass_synthetic-coco-128x96.py'
model = dict(backbone=dict(attention=None))
