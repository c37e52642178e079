# Claims row "soft-gated", plain arm: the plain residual stacked hourglass
# of ../../hourglass/td-hm_res-hourglass_synthetic-coco-128x96.py (2
# stacks, 3 poolings) at 128 features, so that the soft-gated arm's 36
# features have about a third of its parameters.
_base_ = [
    '../../hourglass/td-hm_res-hourglass_synthetic-coco-128x96.py',
    '../_base_/claims_budget.py'
]
epochs = 10  # the row's budget: 10 epochs of 49 iterations
train_cfg = dict(_base_.claims_train_cfg, max_epochs=epochs)
param_scheduler = [_base_.claims_warmup,
                   dict(_base_.claims_cosine, end=epochs, T_max=epochs)]
default_hooks = dict(checkpoint=dict(_base_.claims_checkpoint,
                                     interval=epochs))
model = dict(backbone=dict(feat_channels=128))
