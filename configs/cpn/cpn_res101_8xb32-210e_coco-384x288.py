# CPN ResNet-101 at 384x288: cpn_res50_8xb64-210e_coco-384x288.py with
# ResNet-101 and, as MMPose's td-hm_res101_8xb32-210e_coco-384x288.py, 32
# images per GPU (Adam 5e-4 for a total batch of 256, auto_scale_lr;
# warm-up, x0.1 at epochs 170 and 200 of 210).
_base_ = './cpn_res50_8xb64-210e_coco-384x288.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet101')))
auto_scale_lr = dict(base_batch_size=256)
train_dataloader = dict(batch_size=32)
