# MMPose's 4-stage MSPN-50 (COCO, 256x192) built from this package's
# components: the recipe of mspn50-2stage_8xb32-210e_coco-256x192.py (see
# there) with 4 stages. MMPose's 4xmspn50 config differs from its 2-stage
# one only in the model, which the 2-stage config replaces entirely.
_base_ = './mspn50-2stage_8xb32-210e_coco-256x192.py'

num_stages = 4
model = dict(backbone=dict(num_stages=num_stages),
             head=dict(num_stages=num_stages))
