"""Online hard keypoint mining loss (CPN)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from mmpose.registry import MODELS
from torch import Tensor, nn

from ...utils import check_positive_int
from .heatmap_loss_utils import check_heatmap_inputs

_CRITERIA = ('mse', 'l1', 'smooth_l1')


@MODELS.register_module()
class OHKMLoss(nn.Module):
    """Heatmap loss with online hard keypoint mining.

    From CPN (https://arxiv.org/abs/1711.07319), used by the last unit of
    MSPN (https://arxiv.org/abs/1901.00148). For every sample:

    1. the per-keypoint loss is ``mean over H, W of criterion(p, g)``,
       multiplied by the keypoint weight ``w`` when ``use_target_weight``
       (``w * criterion``, the convention of ``WeightedHeatmapMSELoss``,
       not MMPose ``KeypointOHKMMSELoss``'s ``criterion(w * p, w * g)``);
    2. among the valid keypoints (non-zero weight, whatever
       ``use_target_weight`` says) the ``k_eff = min(topk, N_valid)``
       largest losses are kept;
    3. the sample's loss is their mean.

    The batch loss is the mean over samples with at least one valid
    keypoint, or 0 (still attached to the graph) if there is none.
    Unlike ``KeypointOHKMMSELoss`` this never mines padding / unlabelled
    keypoints, accepts ``K < topk`` and has no Python loop over samples.

    Args:
        topk (int): Number of hardest keypoints kept per sample. Defaults
            to ``8``.
        criterion (str): Element-wise criterion, one of ``'mse'``
            (squared error), ``'l1'`` (absolute error) or ``'smooth_l1'``
            (Huber with ``beta=1``). Defaults to ``'mse'``.
        use_target_weight (bool): Whether to multiply each keypoint's loss
            by its weight. Defaults to ``True``.
        loss_weight (float): Weight of the loss. Defaults to ``1.0``.
    """

    def __init__(self,
                 topk: int = 8,
                 criterion: str = 'mse',
                 use_target_weight: bool = True,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        check_positive_int('topk', topk)
        if criterion not in _CRITERIA:
            raise ValueError(f'criterion must be one of {_CRITERIA}, '
                             f'got {criterion!r}')
        self.topk = topk
        self.criterion = criterion
        self.use_target_weight = use_target_weight
        self.loss_weight = loss_weight

    def per_keypoint(self, pred: Tensor, target: Tensor) -> Tensor:
        """Unweighted criterion averaged over each heatmap.

        Args:
            pred (Tensor): Predicted heatmaps, shape [B, K, H, W].
            target (Tensor): Target heatmaps, shape [B, K, H, W].

        Returns:
            Tensor: Per-keypoint loss, shape [B, K].
        """
        if self.criterion == 'mse':
            err = (pred - target).pow(2)
        elif self.criterion == 'l1':
            err = (pred - target).abs()
        else:
            err = F.smooth_l1_loss(pred, target, reduction='none', beta=1.0)
        return err.mean(dim=(2, 3))

    def forward(self,
                pred: Tensor,
                target: Tensor,
                keypoint_weights: Tensor | None = None) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): Predicted heatmaps, shape [B, K, H, W].
            target (Tensor): Target heatmaps, shape [B, K, H, W].
            keypoint_weights (Tensor, optional): Keypoint weights, shape
                [B, K]; 0 marks an unlabelled keypoint. ``None`` means
                every keypoint is valid with weight 1. Defaults to
                ``None``.

        Returns:
            Tensor: The scalar loss.
        """
        check_heatmap_inputs(pred, target, keypoint_weights)
        if keypoint_weights is None:
            keypoint_weights = pred.new_ones(pred.shape[:2])

        losses = self.per_keypoint(pred, target)  # [B, K]
        if self.use_target_weight:
            losses = losses * keypoint_weights
        valid = keypoint_weights != 0  # [B, K]

        # invalid keypoints sort last; selected ones are masked back out
        k = min(self.topk, losses.shape[1])
        ranked = losses.masked_fill(~valid, float('-inf'))
        top, idx = torch.topk(ranked, k, dim=1)  # [B, k]
        top = top.where(valid.gather(1, idx), top.new_zeros(()))

        num_valid = valid.sum(dim=1)  # [B]
        k_eff = num_valid.clamp(max=self.topk, min=1)
        per_sample = top.sum(dim=1) / k_eff  # 0 for samples w/o valid kpts
        num_samples = (num_valid > 0).sum().clamp(min=1)
        loss = per_sample.sum() / num_samples
        return loss * self.loss_weight
