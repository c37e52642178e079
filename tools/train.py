"""Train a pose model: MMPose's ``tools/train.py`` with mmpose_ext loaded.

Same flags as MMPose (``--work-dir``, ``--resume``, ``--amp``,
``--cfg-options``, ``--launcher``, ...), plus ``--trust-checkpoint`` to load
checkpoints with full unpickling (only for files you trust). The config is
checked before anything is built, checkpoints are written atomically,
``--resume`` skips incomplete checkpoints and training stops at a NaN loss:
see README, "Training at scale and recovering from failures".
"""
from mmpose_ext.utils.run_tool import run_mmpose_tool

if __name__ == '__main__':
    run_mmpose_tool('train')
