"""Input checks shared by the heatmap losses."""
from __future__ import annotations

from torch import Tensor


def check_heatmap_inputs(pred: Tensor, target: Tensor,
                         keypoint_weights: Tensor | None) -> None:
    """Raise a ``ValueError`` naming the shapes unless ``pred`` and
    ``target`` are both ``[B, K, H, W]`` and ``keypoint_weights`` is
    ``None`` or ``[B, K]``."""
    if pred.shape != target.shape or pred.dim() != 4:
        raise ValueError('pred and target must both be [B, K, H, W], '
                         f'got {tuple(pred.shape)} and '
                         f'{tuple(target.shape)}')
    if (keypoint_weights is not None
            and keypoint_weights.shape != pred.shape[:2]):
        raise ValueError('keypoint_weights must be [B, K] = '
                         f'{tuple(pred.shape[:2])}, got '
                         f'{tuple(keypoint_weights.shape)}')
