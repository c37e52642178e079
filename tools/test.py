"""Test a pose model: MMPose's ``tools/test.py`` with mmpose_ext loaded.

``python tools/test.py CONFIG CHECKPOINT [--work-dir] [--out] [--dump]
[--cfg-options] [--launcher]``, as in MMPose, plus ``--trust-checkpoint``.
"""
from mmpose_ext.utils.run_tool import run_mmpose_tool

if __name__ == '__main__':
    run_mmpose_tool('test')
