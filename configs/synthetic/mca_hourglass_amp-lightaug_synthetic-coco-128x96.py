# `make demo`'s recipe: the small attention hourglass of
# ./mca_hourglass_synthetic-coco-128x96.py (same model, schedule and seed)
# trained faster and with augmentation matched to the synthetic set:
# - mixed precision (MMEngine's AmpOptimWrapper: float16 on a GPU; on a CPU
#   the package's constructor makes it CpuAmpOptimWrapper, bfloat16 autocast
#   of the backbone, which needs a CPU with bfloat16 support, e.g. AVX-512
#   BF16 or AMX; without one select optim_wrapper.type='OptimWrapper');
# - light augmentation: rotation within +-30 degrees and scaling within
#   0.75-1.25 instead of MMPose's COCO defaults (+-80, 0.5-1.5), and no
#   half-body crops: the synthetic persons are whole and tilt by a few
#   degrees only, so COCO-strength augmentation mostly slows down a
#   12-epoch run;
# - DARK decoding with a 5x5 instead of a 9x9 heatmap blur.
# Figures, seeds and commands: docs/demo.md.
_base_ = './mca_hourglass_synthetic-coco-128x96.py'

optim_wrapper = dict(type='AmpOptimWrapper')
train_pipeline = [
    dict(step, rotate_factor=30., scale_factor=(0.75, 1.25))
    if step['type'] == 'RandomBBoxTransform' else step
    for step in _base_.train_pipeline if step['type'] != 'RandomHalfBody'
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
model = dict(head=dict(decoder=dict(blur_kernel_size=5)))
