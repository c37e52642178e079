# Claims row "HRNet", SimpleBaseline arm with the HRNet arm's initialisation
# scheme (MMPose's HRNet default: convs Normal(0, 0.001), norm layers weight
# 1 and bias 0, no zero-initialised last norm in the residual blocks) in
# place of ./simplebaseline-res18_synthetic-coco-128x96.py's (PyTorch's
# default conv init, the last BN of every BasicBlock initialised to 0).
_base_ = './simplebaseline-res18_synthetic-coco-128x96.py'
model = dict(backbone=dict(
    zero_init_residual=False,
    init_cfg=[
        dict(type='Normal', std=0.001, layer=['Conv2d']),
        dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
    ]))
