# Claims row "MCA attention" (and "HRU"), arm with attention: the demo's
# multi-context attention hourglass (2 stacks of 64 HRU features, holistic
# attention in stack 1, part attention in stack 2) at the claims budget.
_base_ = [
    '../../synthetic/mca_hourglass_synthetic-coco-128x96.py',
    '../_base_/claims_budget.py'
]
epochs = 10  # the row's budget: 10 epochs of 49 iterations
train_cfg = dict(_base_.claims_train_cfg, max_epochs=epochs)
param_scheduler = [_base_.claims_warmup,
                   dict(_base_.claims_cosine, end=epochs, T_max=epochs)]
default_hooks = dict(checkpoint=dict(_base_.claims_checkpoint,
                                     interval=epochs))
