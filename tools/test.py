"""Test a pose model: MMPose's ``tools/test.py`` with mmpose_ext loaded.

``python tools/test.py CONFIG CHECKPOINT [--work-dir] [--out] [--dump]
[--cfg-options] [--launcher]``, as in MMPose. Adds only what a config
cannot express: config checks before anything is built, the process group
of a multi-process run on CPUs, ``--trust-checkpoint`` and
``--allow-partial`` (load a checkpoint that does not fit the model,
which is refused otherwise). See
:mod:`mmpose_ext.apis.mmpose_tools`.
"""
from mmpose_ext.apis import run_mmpose_tool

if __name__ == '__main__':
    run_mmpose_tool('test')
