# Claims row "CPN", arm GlobalNet + RefineNet + OHKM: the synthetic CPN
# (half-width ResNet-18, four GlobalNet levels, RefineNet with the top-8
# OHKM loss) at the claims budget.
_base_ = [
    '../../cpn/cpn_res18_synthetic-coco-128x96.py',
    '../_base_/claims_budget.py'
]
epochs = 8  # the row's budget: 8 epochs of 49 iterations
train_cfg = dict(_base_.claims_train_cfg, max_epochs=epochs)
param_scheduler = [_base_.claims_warmup,
                   dict(_base_.claims_cosine, end=epochs, T_max=epochs)]
default_hooks = dict(checkpoint=dict(_base_.claims_checkpoint,
                                     interval=epochs))
