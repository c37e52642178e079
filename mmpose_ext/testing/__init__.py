"""Helpers for testing and benchmarking the package's components, as
``mmpose.testing`` is for MMPose's (not imported by ``import mmpose_ext``).
"""
from .topdown_batch import (
    COCO_FLIP_INDICES,
    COCO_KEYPOINT_WEIGHTS,
    config_topdown_batch,
    make_topdown_batch,
    resize_codec,
)

__all__ = [
    'COCO_FLIP_INDICES', 'COCO_KEYPOINT_WEIGHTS', 'config_topdown_batch',
    'make_topdown_batch', 'resize_codec'
]
