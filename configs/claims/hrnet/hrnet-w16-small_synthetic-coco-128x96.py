# Claims row "HRNet", HRNet arm: MMPose's HRNet backbone with the heatmap
# read from its highest-resolution branch by a 1x1 conv (MMPose's HRNet
# config, no deconvs), narrowed to W16 with one module in stages 3 and 4
# and 2 blocks per branch (about the SimpleBaseline arm's FLOPs), in place
# of the SimpleBaseline arm's ResNet + deconv head; everything else is the
# SimpleBaseline arm's.
_base_ = './simplebaseline-res18_synthetic-coco-128x96.py'
width = 16
model = dict(
    backbone=dict(
        _delete_=True,
        type='HRNet',
        in_channels=3,
        extra=dict(
            stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK',
                        num_blocks=(4, ), num_channels=(64, )),
            stage2=dict(num_modules=1, num_branches=2, block='BASIC',
                        num_blocks=(2, 2), num_channels=(width, 2 * width)),
            stage3=dict(num_modules=1, num_branches=3, block='BASIC',
                        num_blocks=(2, 2, 2),
                        num_channels=(width, 2 * width, 4 * width)),
            stage4=dict(num_modules=1, num_branches=4, block='BASIC',
                        num_blocks=(2, 2, 2, 2),
                        num_channels=(width, 2 * width, 4 * width,
                                      8 * width)))),
    head=dict(in_channels=width, deconv_out_channels=None))
