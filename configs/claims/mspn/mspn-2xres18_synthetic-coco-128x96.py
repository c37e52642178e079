# Claims row "MSPN", arm 2 stages: the synthetic 2-stage MSPN
# (CrossStageMSPN with cross-stage aggregation, coarse-to-fine targets)
# shrunk to ResNet-18 stages of half width (stem and units 32 / 64
# channels) at the claims budget. The claim is relative (2xRes-18 against
# Res-50 of about the same FLOPs, as in the paper).
_base_ = [
    '../../mspn/mspn50-2stage_synthetic-coco-128x96.py',
    '../_base_/claims_budget.py'
]
epochs = 6  # the row's budget: 6 epochs of 49 iterations
train_cfg = dict(_base_.claims_train_cfg, max_epochs=epochs)
param_scheduler = [_base_.claims_warmup,
                   dict(_base_.claims_cosine, end=epochs, T_max=epochs)]
default_hooks = dict(checkpoint=dict(_base_.claims_checkpoint,
                                     interval=epochs))
model = dict(backbone=dict(depth=18, base_channels=32, stem_channels=32,
                           unit_channels=64))
