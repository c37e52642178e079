"""Heatmap head for stacked and multi-stage networks.

Stacked hourglass (https://arxiv.org/abs/1603.06937), multi-context attention
(https://arxiv.org/abs/1702.07432), MSPN (https://arxiv.org/abs/1901.00148)
and soft-gated hourglass networks predict heatmaps at every stage, and at
several units (resolutions) per stage, each supervised by its own target.
"""
from typing import List, Optional, Sequence, Union

from mmpose.models.heads.base_head import BaseHead
from mmpose.registry import KEYPOINT_CODECS, MODELS
from mmpose.utils.typing import (
    ConfigType,
    Features,
    OptConfigType,
    OptSampleList,
    Predictions,
)
from torch import Tensor, nn

from ...utils import check_positive_int, is_int
from ..utils import interpolate
from .heatmap_head_utils import (
    add_accuracy,
    level_targets,
    predict_final_heatmaps,
)

__all__ = ['MultiStageHeatmapHead']

NestedFeatures = Sequence[Union[Tensor, Sequence[Tensor]]]


@MODELS.register_module()
class MultiStageHeatmapHead(BaseHead):
    """Per-stage, per-unit heatmap prediction with coarse-to-fine losses.

    MMPose's ``CPMHead`` supervises one output per stage against a single
    target and ``MSPNHead`` fails on keypoint weights as MMPose packs them
    (mmpose issues 2757, 2991). This head supervises every (stage, unit)
    output against the target level a :class:`CoarseToFineLoss` maps it to,
    reads single-level targets of MMPose's codecs (``[K, H, W]`` heatmaps,
    ``[1, K]`` weights) and multi-level ones of ``MultiLevelHeatmap``
    (``[L*K, H, W]``, ``[1, L, K]``), and predicts from the last unit of the
    last stage with MMPose's flip test (only that unit's final layer runs).

    Outputs: :meth:`forward` returns ``num_stages`` lists of ``num_units``
    heatmaps; :meth:`output_names` names them ``stage{s}`` (one unit per
    stage) or ``stage{s}_unit{u}`` (the flattened order, for ONNX export).

    Args:
        in_channels (int | Sequence[int]): Channels of each unit's features
            (one int for all units, or one per unit). Ignored when
            ``heatmap_inputs`` is ``True``.
        out_channels (int): Number of keypoints ``K``.
        num_stages (int): Number of stages ``S`` whose outputs are
            supervised; the backbone's last ``S`` outputs are used.
            Defaults to ``1``.
        num_units (int): Outputs per stage ``U`` (MSPN: 4). Defaults to
            ``1``.
        final_layer (dict, optional): Arguments of the ``nn.Conv2d`` that
            maps each unit's features to ``K`` heatmaps, e.g.
            ``dict(kernel_size=3)``. Defaults to ``None``: a 1x1 conv.
        heatmap_inputs (bool): Whether the backbone already outputs
            heatmaps, so that no final layer is built. Defaults to
            ``False``.
        loss (dict, optional): Config of a loss taking the nested
            predictions, ``[B, L, K, H, W]`` targets and ``[B, L, K]``
            weights and returning a dict of named losses, with a
            ``get_level_map(num_levels)`` method giving the target level
            of every (stage, unit) as ``CoarseToFineLoss`` has. Defaults to
            a ``CoarseToFineLoss`` with MSPN's mapping when ``U > 1`` and
            every output against the last level otherwise.
        decoder (dict, optional): Codec config used to decode the final
            heatmaps. Defaults to ``None``.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to ``None``.

    Example:
        >>> head = MultiStageHeatmapHead(in_channels=64, out_channels=17,
        ...                              num_stages=2)
        >>> feats = [torch.rand(1, 64, 64, 48) for _ in range(2)]
        >>> [[o.shape for o in s] for s in head(feats)]
        [[torch.Size([1, 17, 64, 48])], [torch.Size([1, 17, 64, 48])]]
    """

    def __init__(self,
                 in_channels: Union[int, Sequence[int]],
                 out_channels: int,
                 num_stages: int = 1,
                 num_units: int = 1,
                 final_layer: OptConfigType = None,
                 heatmap_inputs: bool = False,
                 loss: OptConfigType = None,
                 decoder: OptConfigType = None,
                 init_cfg: OptConfigType = None):
        if init_cfg is None:
            init_cfg = self.default_init_cfg
        super().__init__(init_cfg)
        for name, value in (('num_stages', num_stages),
                            ('num_units', num_units),
                            ('out_channels', out_channels)):
            check_positive_int(name, value)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_stages = num_stages
        self.num_units = num_units

        self.final_layers = nn.ModuleList() if heatmap_inputs else \
            self._make_final_layers(in_channels, final_layer)
        if loss is None:
            loss = dict(
                type='CoarseToFineLoss',
                num_stages=num_stages,
                num_units=num_units,
                level_map='mspn' if num_units > 1 else 'last')
        self.loss_module = MODELS.build(loss)
        self.decoder = (
            KEYPOINT_CODECS.build(decoder) if decoder is not None else None)

    @property
    def default_init_cfg(self) -> List[dict]:
        return [
            dict(type='Normal', layer=['Conv2d'], std=0.001, bias=0),
        ]

    def _make_final_layers(self, in_channels: Union[int, Sequence[int]],
                           final_layer: OptConfigType) -> nn.ModuleList:
        """One conv per (stage, unit), stage-major."""
        if is_int(in_channels):
            in_channels = [in_channels] * self.num_units
        if len(in_channels) != self.num_units:
            raise ValueError(
                f'in_channels={in_channels!r} must give one value per unit '
                f'(num_units={self.num_units})')
        cfg = dict(final_layer or {})
        cfg.setdefault('kernel_size', 1)
        cfg.setdefault('padding', cfg['kernel_size'] // 2)
        return nn.ModuleList(
            nn.Conv2d(in_channels[j], self.out_channels, **cfg)
            for _ in range(self.num_stages) for j in range(self.num_units))

    def _stage_units(self, feats: NestedFeatures) -> List[List[Tensor]]:
        """The last ``num_stages`` stages, each a list of unit features."""
        if isinstance(feats, Tensor):
            feats = [feats]
        if len(feats) < self.num_stages:
            raise ValueError(
                f'{type(self).__name__} expects at least num_stages='
                f'{self.num_stages} stage outputs, got {len(feats)}')
        stages = []
        for s, stage in enumerate(feats[len(feats) - self.num_stages:]):
            units = [stage] if isinstance(stage, Tensor) else list(stage)
            if len(units) != self.num_units:
                raise ValueError(
                    f'stage {s} has {len(units)} unit outputs, expected '
                    f'num_units={self.num_units}')
            stages.append(units)
        return stages

    def forward(self, feats: NestedFeatures) -> List[List[Tensor]]:
        """Heatmaps of every (stage, unit).

        Args:
            feats (Sequence[Tensor | Sequence[Tensor]]): Per-stage features,
                each a tensor ``[B, C, h, w]`` (one unit) or a sequence of
                ``num_units`` tensors (coarse to fine).

        Returns:
            list[list[Tensor]]: ``out[s][j]`` of shape ``[B, K, h_j, w_j]``.
        """
        stages = self._stage_units(feats)
        if len(self.final_layers) == 0:
            return stages
        layers = iter(self.final_layers)
        return [[next(layers)(x) for x in units] for units in stages]

    def output_names(self) -> List[str]:
        """Names of the :meth:`forward` outputs, flattened depth first.

        Returns:
            list[str]: ``stage{s}`` for each stage when ``num_units == 1``,
            else ``stage{s}_unit{u}`` for each stage and unit, stage-major.
        """
        if self.num_units == 1:
            return [f'stage{s}' for s in range(self.num_stages)]
        return [f'stage{s}_unit{u}' for s in range(self.num_stages)
                for u in range(self.num_units)]

    def _final_heatmaps(self, feats: NestedFeatures) -> Tensor:
        """``forward(feats)[-1][-1]``, running only that unit's layer."""
        x = self._stage_units(feats)[-1][-1]
        if len(self.final_layers) == 0:
            return x
        return self.final_layers[-1](x)

    def predict(self,
                feats: Features,
                batch_data_samples: OptSampleList,
                test_cfg: Optional[ConfigType] = None) -> Predictions:
        """Decode keypoints from the last unit of the last stage.

        Args:
            feats (Features): Backbone features, or a pair of them (original
                and flipped) when ``test_cfg['flip_test']`` is on.
            batch_data_samples (list[:obj:`PoseDataSample`]): The batch
                data samples.
            test_cfg (dict, optional): ``flip_test``, ``flip_mode``,
                ``shift_heatmap`` and ``output_heatmaps`` as in MMPose's
                ``HeatmapHead``. Defaults to ``None`` (all off).

        Returns:
            list[InstanceData] | tuple: Keypoints ``[N, K, 2]`` and scores
            ``[N, K]`` per sample, and the heatmaps ``[K, H, W]`` when
            ``output_heatmaps`` is set.

        Raises:
            ValueError: if the heatmaps are not the decoder's
                ``heatmap_size`` (the keypoints would be scaled by the
                wrong ratio).
        """
        return predict_final_heatmaps(
            self._final_heatmaps, self.decode, feats, batch_data_samples,
            test_cfg, getattr(self.decoder, 'heatmap_size', None))

    def loss(self,
             feats: Features,
             batch_data_samples: OptSampleList,
             train_cfg: Optional[ConfigType] = None) -> dict:
        """Losses of every stage and the final output's accuracy.

        Args:
            feats (Features): Backbone features (see :meth:`forward`).
            batch_data_samples (list[:obj:`PoseDataSample`]): Samples packed
                by ``PackPoseInputs`` with ``gt_fields.heatmaps`` and
                ``gt_instance_labels.keypoint_weights``.
            train_cfg (dict, optional): ``compute_acc=False`` skips
                ``acc_pose`` and its copy of the heatmaps to the host, as
                in MMPose's ``HeatmapHead``. Defaults to ``None``.

        Returns:
            dict: The loss module's named losses and ``acc_pose``.
        """
        targets, weights = level_targets(batch_data_samples,
                                         self.out_channels)
        size = targets.shape[-2:]
        preds = [[
            p if p.shape[-2:] == size else interpolate(
                p, size, mode='bilinear', align_corners=False)
            for p in units
        ] for units in self.forward(feats)]
        losses = dict(self.loss_module(preds, targets, weights))

        level = self.target_levels(targets.shape[1])[-1][-1]
        return add_accuracy(losses, train_cfg, preds[-1][-1],
                            targets[:, level], weights[:, level])

    def target_levels(self, num_levels: int) -> List[List[int]]:
        """Target level of every (stage, unit), from the loss.

        Args:
            num_levels (int): Number of target levels ``L`` the codec
                encodes.

        Returns:
            list[list[int]]: ``[num_stages][num_units]`` levels in
            ``[0, L)``.
        """
        return self.loss_module.get_level_map(num_levels)

    def extra_repr(self) -> str:
        return (f'num_stages={self.num_stages}, num_units={self.num_units}, '
                f'out_channels={self.out_channels}')

