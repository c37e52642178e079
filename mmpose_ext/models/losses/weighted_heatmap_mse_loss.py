"""Heatmap MSE loss that honours per-keypoint weights."""
from __future__ import annotations

from mmpose.registry import MODELS
from torch import Tensor, nn

from .heatmap_loss_utils import check_heatmap_inputs

_AVERAGES = ('all', 'valid')


@MODELS.register_module()
class WeightedHeatmapMSELoss(nn.Module):
    """Heatmap MSE loss weighted per keypoint.

    This loss exists because MMPose 1.3.2's ``KeypointMSELoss`` stores
    ``use_target_weight`` but never reads it: it applies ``target_weights``
    whenever they are passed, so the flag cannot switch the weighting off.
    Here ``use_target_weight`` is honoured, and the averaging convention is
    selectable so that both HRNet (https://arxiv.org/abs/1902.09212) and
    CPN / MSPN (https://arxiv.org/abs/1711.07319,
    https://arxiv.org/abs/1901.00148) can be reproduced.

    Weight convention (shared with ``OHKMLoss`` and ``CoarseToFineLoss``):
    the per-element squared error is multiplied by the keypoint weight
    once, i.e. ``w * (p - g) ** 2``. This is *not* the ``(w * p - w * g)
    ** 2 = w ** 2 * (p - g) ** 2`` of MMPose's ``KeypointOHKMMSELoss``
    and ``CombinedTargetMSELoss``; both coincide for 0/1 weights and
    differ for dataset weights such as 1.5 (factor 1.5 here, 2.25 there).

    A keypoint is *valid* (labelled) when its weight is non-zero. Validity
    is read from ``keypoint_weights`` whatever ``use_target_weight`` says;
    ``use_target_weight`` only decides whether the error is scaled by the
    weight. The loss is

    - ``average='all'``: ``sum(e) / (B * K * H * W)`` where ``e`` is the
      (weighted, if ``use_target_weight``) squared error. Keypoints with
      weight 0 contribute 0 to the sum when weighted but still count in
      the denominator (HRNet). With ``use_target_weight=False`` the
      weights are not used at all: plain MSE.
    - ``average='valid'``: ``sum(e over valid keypoints) / (N_valid * H *
      W)``, counting only labelled keypoints (CPN / MSPN). With no valid
      keypoint the loss is 0, still attached to the graph.

    ``half=True`` multiplies the result by 0.5 (HRNet's ``0.5 * mean``).

    Args:
        use_target_weight (bool): Whether to multiply the squared error of
            each keypoint by its weight. Defaults to ``True``.
        average (str): Normaliser, ``'all'`` (mean over B*K*H*W) or
            ``'valid'`` (mean over the elements of valid keypoints).
            Defaults to ``'all'``.
        half (bool): Whether to multiply the loss by 0.5. Defaults to
            ``False``.
        loss_weight (float): Weight of the loss. Defaults to ``1.0``.
    """

    def __init__(self,
                 use_target_weight: bool = True,
                 average: str = 'all',
                 half: bool = False,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if average not in _AVERAGES:
            raise ValueError(f'average must be one of {_AVERAGES}, '
                             f'got {average!r}')
        self.use_target_weight = use_target_weight
        self.average = average
        self.half = half
        self.loss_weight = loss_weight

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
        B, K, H, W = pred.shape
        # per-keypoint sum over H, W of the unweighted squared error
        err = (pred - target).pow(2).sum(dim=(2, 3))  # [B, K]

        if keypoint_weights is None:
            loss = err.sum() / (B * K * H * W)
        elif self.average == 'all':
            if self.use_target_weight:
                err = err * keypoint_weights
            loss = err.sum() / (B * K * H * W)
        else:
            valid = keypoint_weights != 0
            scale = keypoint_weights if self.use_target_weight else 1.0
            # mask explicitly: with use_target_weight=False the weight
            # does not zero the unlabelled keypoints
            err = (err * scale).where(valid, err.new_zeros(()))
            num_valid = valid.sum().clamp(min=1)
            loss = err.sum() / (num_valid * H * W)

        if self.half:
            loss = loss * 0.5
        return loss * self.loss_weight
