# Plain residual stacked hourglass (Newell et al., ECCV 2016,
# https://arxiv.org/abs/1603.06937) on COCO at 256x256: mmpose_ext's
# HRUHourglassNet with pre-activation bottlenecks only (no HRUs, no
# attention), 4 stacks of 256 features, Newell's stem (7x7 stride-2 conv,
# 64 -> 128 | pool | 128 -> 256). The reference that the soft-gated
# hourglass (../soft_gated/) is compared against at the same number of
# stacks. Data, schedule and head are those of
# ../mca_hourglass/mca_hourglass_coco.py.
# Fastest on a CPU with bfloat16 units (docs/fast_path.md, --grid): --amp
# (bfloat16 mixed precision, 1.96x training throughput here); compile=True
# on top adds 1.12x.
_base_ = '../mca_hourglass/mca_hourglass_coco.py'

num_stacks = 4
model = dict(
    backbone=dict(
        num_stacks=num_stacks,
        stem_stride=2,
        stem_block_channels=((64, 128), (128, )),
        num_skip_blocks=(0, 0, 0, 0),
        attention=None),
    head=dict(num_stages=num_stacks, loss=dict(num_stages=num_stacks)))
