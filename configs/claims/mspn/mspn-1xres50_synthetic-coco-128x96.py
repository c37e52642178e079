# Claims row "MSPN", arm 1 stage: one deeper stage (ResNet-50 layout, same
# widths) of about the FLOPs of the two ResNet-18 stages.
_base_ = './mspn-2xres18_synthetic-coco-128x96.py'
num_stages = 1
model = dict(backbone=dict(depth=50, num_stages=num_stages),
             head=dict(num_stages=num_stages))
