# CPN (https://arxiv.org/abs/1711.07319): ResNet-50 C2..C5 -> CPNHead
# (GlobalNet + RefineNet), COCO 256x192. Targets: MultiLevelHeatmap in kernel
# mode with CPN's Gaussian kernels 15/11/9/7 and peak 255, as released (the
# outputs end in BN, and unit-peak targets do not train: see CPNHead); the
# widest kernel on the highest-resolution GlobalNet output (the released
# pairing); RefineNet against kernel 7 with OHKM top-8; no per-keypoint
# dataset weights (CPN used none). Test: flip (no one-pixel shift:
# kernel-mode targets are flip-aligned as in the released test), 21x21 blur
# and quarter-pixel shift.
#
# Schedule (MMPose's stock top-down ResNet schedule, inherited): Adam, lr 5e-4
# for a total batch of 512 (8 GPUs x 64, auto_scale_lr), linear warm-up over
# 500 iterations, lr x0.1 at epochs 170 and 200, 210 epochs, validation every
# 10 epochs. The released CPN (github.com/chenyilun95/tf-cpn) instead trained
# with Adam 5e-4, weight decay 1e-5, batch 32 per GPU, and halved the lr every
# 3.6M iterations (lr_dec_epoch=60 x epoch_size=60000).
# Fastest on a CPU with bfloat16 units (docs/fast_path.md): --amp
# (bfloat16 mixed precision, 1.25x training throughput here) with
# --cfg-options optim_wrapper.autocast_head=True, CPNHead's network in
# bfloat16 too (1.32x more, no accuracy loss measured); for long runs add
# optim_wrapper.optimizer.fused=True compile=True (1.10x more). Not set
# here: the claims table's CPN configs inherit this file.
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/'
    'td-hm_res50_8xb64-210e_coco-256x192.py',
    '../_base_/mmpose_ext_runtime.py'
]
default_hooks = _base_.mmpose_ext_default_hooks
optim_wrapper = _base_.mmpose_ext_optim_wrapper

codec = dict(type='MultiLevelHeatmap', input_size=(192, 256),
             heatmap_size=(48, 64), kernel_sizes=(15, 11, 9, 7),
             blur_kernel_size=21, refine='shift', peak=255.)
model = dict(
    backbone=dict(out_indices=(0, 1, 2, 3)),
    head=dict(
        _delete_=True,
        type='CPNHead',
        in_channels=(256, 512, 1024, 2048),
        out_channels=17,
        global_levels=(0, 1, 2, 3),  # (3, 2, 1, 0): the authors' intent
        refine_level=-1,
        loss_global=dict(type='WeightedHeatmapMSELoss', average='valid'),
        loss_refine=dict(type='OHKMLoss', topk=8),
        decoder=codec),
    test_cfg=dict(shift_heatmap=False))

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

# The base's codec is an MSRAHeatmap: replace it rather than merge into it
# (the pipeline and decoder above keep the dict without `_delete_`).
codec = dict(codec, _delete_=True)
