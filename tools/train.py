"""Train a pose model: MMPose's ``tools/train.py`` with mmpose_ext loaded.

Same flags as MMPose (``--work-dir``, ``--resume``, ``--amp``,
``--cfg-options``, ``--launcher``, ...), plus ``--trust-checkpoint`` to load
checkpoints with full unpickling (only for files you trust).
"""
from mmpose_ext.utils.run_tool import run_mmpose_tool

if __name__ == '__main__':
    run_mmpose_tool('train')
