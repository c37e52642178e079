# The training budget of the claims table (docs/claims.md, `make claims`):
# batch 32 of the synthetic COCO train set, a 50-iteration linear warm-up
# then a cosine decay, a validation after every epoch (the AP-against-epoch
# curves) and one checkpoint at the end. The first config of each row sets
# the row's epoch count (the same for all its arms) and merges the pieces:
#   epochs = 10
#   train_cfg = dict(_base_.claims_train_cfg, max_epochs=epochs)
#   param_scheduler = [_base_.claims_warmup,
#                      dict(_base_.claims_cosine, end=epochs, T_max=epochs)]
#   default_hooks = dict(checkpoint=dict(_base_.claims_checkpoint,
#                                        interval=epochs))
# The seed is set per run by the claims tool (randomness.seed).
claims_train_cfg = dict(by_epoch=True, val_interval=1)
claims_warmup = dict(type='LinearLR', begin=0, end=50, start_factor=0.01,
                     by_epoch=False)
claims_cosine = dict(type='CosineAnnealingLR', begin=0, eta_min=1e-5,
                     by_epoch=True)
claims_checkpoint = dict(max_keep_ckpts=1, save_last=True, save_best=None)
