# Claims row "HRNet", SimpleBaseline arm: MMPose's SimpleBaseline (ResNet +
# deconv head) of ../../synthetic/td-hm_res18_synthetic-coco-128x96.py,
# its ResNet-18 widened from 32 to 56 base channels so that its FLOPs match
# the HRNet arm's, at the claims budget.
_base_ = [
    '../../synthetic/td-hm_res18_synthetic-coco-128x96.py',
    '../_base_/claims_budget.py'
]
epochs = 10  # the row's budget: 10 epochs of 49 iterations
train_cfg = dict(_base_.claims_train_cfg, max_epochs=epochs)
param_scheduler = [_base_.claims_warmup,
                   dict(_base_.claims_cosine, end=epochs, T_max=epochs)]
default_hooks = dict(checkpoint=dict(_base_.claims_checkpoint,
                                     interval=epochs))
model = dict(backbone=dict(base_channels=56), head=dict(in_channels=448))
