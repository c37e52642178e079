# Claims row "CPN", arm GlobalNet alone on RefineNet's target: as
# ./cpn-res18-globalnet_synthetic-coco-128x96.py, but GlobalNet output 0
# (the decoded one) is trained on the finest target level (kernel 3, what
# the RefineNet arms' decoded output is trained on) instead of the widest
# (kernel 9); outputs 1-3 keep levels 1-3.
_base_ = './cpn-res18-globalnet_synthetic-coco-128x96.py'
model = dict(head=dict(global_levels=(3, 1, 2, 3)))
