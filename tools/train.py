"""Train a pose model: MMPose's ``tools/train.py`` with mmpose_ext loaded.

Same flags as MMPose (``--work-dir``, ``--resume``, ``--amp``,
``--cfg-options``, ``--launcher``, ...). Atomic checkpoints, the NaN stop,
unreadable-image handling and CPU AMP come from the config (its
``configs/_base_/mmpose_ext_runtime.py`` engine components), so MMPose's
stock script gives them too. This wrapper adds only what a config cannot
express: config checks before anything is built, the process group of a
multi-process run on CPUs, ``--trust-checkpoint`` (full unpickling,
only for files you trust) and ``--allow-partial`` (fine-tune from a
``load_from`` checkpoint that fits the model only partly). See
:mod:`mmpose_ext.apis.mmpose_tools`.
"""
from mmpose_ext.apis import run_mmpose_tool

if __name__ == '__main__':
    run_mmpose_tool('train')
