"""Multi-stage, multi-unit coarse-to-fine heatmap supervision (MSPN)."""
from __future__ import annotations

import copy
from collections.abc import Sequence

from mmpose.registry import MODELS
from mmpose.utils.typing import OptMultiConfig
from torch import Tensor, nn

from ...utils import check_positive_int
from .ohkm_loss import OHKMLoss
from .target_levels import stage_unit_levels
from .weighted_heatmap_mse_loss import WeightedHeatmapMSELoss


@MODELS.register_module()
class CoarseToFineLoss(nn.Module):
    """Coarse-to-fine supervision of a multi-stage, multi-unit pose net.

    MSPN (https://arxiv.org/abs/1901.00148) supervises the ``num_units``
    upsampling units of each of its ``num_stages`` stages with heatmaps
    of decreasing Gaussian size (coarse to fine), following CPN
    (https://arxiv.org/abs/1711.07319). The targets come stacked as ``L``
    levels, and ``level_map`` says which level supervises unit ``j`` of
    stage ``s`` (built and resolved by
    :func:`~mmpose_ext.models.losses.target_levels.stage_unit_levels`):

    - ``'mspn'``: level ``j`` in every stage except the last, level
      ``j + 1`` in the last one (so ``L >= num_units + 1``; a 1-stage
      model only has its last stage). This is MMPose's MSPN config.
    - ``'same'``: level ``j`` in every stage.
    - ``'last'``: level ``L - 1`` everywhere (e.g. stacked hourglasses
      with a single target); stored as ``-1``.
    - an explicit ``[num_stages][num_units]`` list of ints; negative
      entries index from the end like Python (``-1`` = last level).

    Levels are checked against ``L`` when :meth:`forward` is called.

    The loss of stage ``s`` is ``sum_j unit_weights[j] *
    unit_losses[j](preds[s][j], targets[:, l], keypoint_weights[:, l])``
    with ``l = level_map[s][j]``; one entry per stage is returned so that
    MMEngine logs each stage. The unit losses should follow the weight
    convention of ``WeightedHeatmapMSELoss`` (``w * err``), as the
    defaults do.

    Args:
        num_stages (int): Number of stages.
        num_units (int): Number of supervised units per stage. Defaults
            to ``4``.
        level_map (str | Sequence[Sequence[int]]): ``'mspn'``, ``'same'``,
            ``'last'`` or an explicit ``[num_stages][num_units]`` map of
            target levels. Defaults to ``'mspn'``.
        unit_losses (dict | list[dict], optional): Loss config(s) built
            with ``MODELS.build``; a list of ``num_units`` configs or one
            config shared (copied) by every unit. ``None`` gives the
            MSPN / CPN setup: ``WeightedHeatmapMSELoss(average='valid')``
            for units ``0 .. num_units - 2`` and ``OHKMLoss(topk=8)`` for
            the last unit. Defaults to ``None``.
        unit_weights (Sequence[float], optional): Weight of each unit's
            loss. ``None`` gives MSPN's ``[0.25] * (num_units - 1) +
            [1.0]``. Defaults to ``None``.
        loss_name (str): Prefix of the returned keys (``f'{loss_name}{s}'``);
            must contain ``'loss'`` so MMEngine sums it. Defaults to
            ``'loss_stage'``.
    """

    def __init__(self,
                 num_stages: int,
                 num_units: int = 4,
                 level_map: str | Sequence[Sequence[int]] = 'mspn',
                 unit_losses: OptMultiConfig = None,
                 unit_weights: Sequence[float] | None = None,
                 loss_name: str = 'loss_stage') -> None:
        super().__init__()
        for name, value in (('num_stages', num_stages),
                            ('num_units', num_units)):
            check_positive_int(name, value)
        if 'loss' not in loss_name:
            raise ValueError(
                f"loss_name must contain 'loss', got {loss_name!r}")
        self.num_stages = num_stages
        self.num_units = num_units
        self.loss_name = loss_name
        self._level_map = stage_unit_levels(level_map, num_stages,
                                            num_units)

        if unit_losses is None:
            unit_losses = [
                {'type': WeightedHeatmapMSELoss.__name__, 'average': 'valid'}
            ] * (num_units - 1) + [{'type': OHKMLoss.__name__, 'topk': 8}]
        elif isinstance(unit_losses, dict):
            unit_losses = [unit_losses] * num_units
        if len(unit_losses) != num_units:
            raise ValueError(f'unit_losses must have num_units={num_units} '
                             f'entries, got {len(unit_losses)}')
        # deepcopy: MODELS.build may pop keys, and units must not share
        self.unit_losses = nn.ModuleList(
            MODELS.build(copy.deepcopy(cfg)) for cfg in unit_losses)

        if unit_weights is None:
            unit_weights = [0.25] * (num_units - 1) + [1.0]
        if len(unit_weights) != num_units:
            raise ValueError(f'unit_weights must have num_units={num_units} '
                             f'entries, got {len(unit_weights)}')
        self.unit_weights = [float(w) for w in unit_weights]

    @property
    def level_map(self) -> list[list[int]]:
        """list[list[int]]: Target level of (stage, unit), as configured.

        ``-1`` (and other negative entries) count from the last level;
        use :meth:`get_level_map` with ``num_levels`` to resolve them.
        """
        return [list(row) for row in self._level_map]

    def get_level_map(self,
                      num_levels: int | None = None) -> list[list[int]]:
        """Target level of every (stage, unit).

        ``MultiStageHeatmapHead`` reads the level of its final output here.

        Args:
            num_levels (int, optional): Number of target levels ``L``. If
                given, negative entries are resolved and every entry is
                checked to lie in ``[0, L)``. Defaults to ``None``.

        Returns:
            list[list[int]]: ``[num_stages][num_units]`` levels.
        """
        if num_levels is None:
            return self.level_map
        return stage_unit_levels(self._level_map, self.num_stages,
                                 self.num_units, num_levels)

    def forward(self, preds: Sequence[Sequence[Tensor]], targets: Tensor,
                keypoint_weights: Tensor) -> dict[str, Tensor]:
        """Compute one loss per stage.

        Args:
            preds (Sequence[Sequence[Tensor]]): ``preds[s][j]`` is the
                output of unit ``j`` of stage ``s``, shape [B, K, H, W].
            targets (Tensor): Target heatmaps of every level, shape
                [B, L, K, H, W].
            keypoint_weights (Tensor): Keypoint weights of every level,
                shape [B, L, K].

        Returns:
            dict[str, Tensor]: ``{f'{loss_name}{s}': loss of stage s}``.
        """
        if targets.dim() != 5:
            raise ValueError('targets must be [B, L, K, H, W], got '
                             f'{tuple(targets.shape)}')
        B, L, K, H, W = targets.shape
        if keypoint_weights.shape != (B, L, K):
            raise ValueError(f'keypoint_weights must be [B, L, K] = '
                             f'{(B, L, K)}, got '
                             f'{tuple(keypoint_weights.shape)}')
        if len(preds) != self.num_stages:
            raise ValueError(f'expected {self.num_stages} stages of '
                             f'predictions, got {len(preds)}')
        level_map = self.get_level_map(L)

        losses = {}
        for s, stage_preds in enumerate(preds):
            if len(stage_preds) != self.num_units:
                raise ValueError(f'stage {s} has {len(stage_preds)} unit '
                                 f'outputs, expected {self.num_units}')
            stage_loss = 0.
            for j, pred in enumerate(stage_preds):
                if pred.shape != (B, K, H, W):
                    raise ValueError(
                        f'(stage {s}, unit {j}) output has shape '
                        f'{tuple(pred.shape)}, expected {(B, K, H, W)}')
                level = level_map[s][j]
                stage_loss = stage_loss + self.unit_weights[j] * \
                    self.unit_losses[j](pred, targets[:, level],
                                        keypoint_weights[:, level])
            losses[f'{self.loss_name}{s}'] = stage_loss
        return losses
