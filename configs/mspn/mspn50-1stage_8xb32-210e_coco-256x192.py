# MMPose's 1-stage MSPN-50 (COCO, 256x192) built from this package's
# components: the recipe of mspn50-2stage_8xb32-210e_coco-256x192.py (see
# there) with one stage, so no cross-stage aggregation, and the final
# stage's units j against target levels j + 1 (kernels 11, 9, 7, 5, as
# MMPose's 1-stage config; level 0 goes unused). MMPose's mspn50 config
# differs from its 2xmspn50 one only in the model and codec, which the
# 2-stage config replaces entirely.
_base_ = './mspn50-2stage_8xb32-210e_coco-256x192.py'

num_stages = 1
model = dict(backbone=dict(num_stages=num_stages),
             head=dict(num_stages=num_stages))
