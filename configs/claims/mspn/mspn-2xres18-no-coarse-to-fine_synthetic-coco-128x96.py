# Claims row "MSPN", arm without coarse-to-fine supervision: every unit of
# both stages is supervised with the finest target (kernel 5) instead of
# kernels that shrink from unit to unit and from stage to stage.
_base_ = './mspn-2xres18_synthetic-coco-128x96.py'
model = dict(head=dict(loss=dict(type='CoarseToFineLoss', num_stages=2,
                                 num_units=4, level_map='last')))
