"""Cascaded Pyramid Network head: GlobalNet + RefineNet.

CPN (https://arxiv.org/abs/1711.07319), after the authors' released
TensorFlow code (https://github.com/chenyilun95/tf-cpn, ``network.py`` and
``mptest.py``) with MMPose's building blocks and this package's supervision
toolkit (``MultiLevelHeatmap``, ``WeightedHeatmapMSELoss``, ``OHKMLoss``).
"""
from typing import List, Optional, Sequence, Tuple

import torch
from mmcv.cnn import ConvModule
from mmpose.models.backbones.resnet import Bottleneck
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

from ...utils import check_int, check_int_sequence, check_positive_int, is_int
from ..losses.target_levels import resolve_target_level
from ..utils import interpolate
from .heatmap_head_utils import (
    add_accuracy,
    level_targets,
    predict_final_heatmaps,
)

__all__ = ['CPNHead']

CPNOutputs = Tuple[List[Tensor], Optional[Tensor]]


@MODELS.register_module()
class CPNHead(BaseHead):
    """GlobalNet and RefineNet of the `Cascaded Pyramid Network`_.

    The head takes ``N`` feature levels (four for CPN: C2..C5 of a ResNet
    with ``out_indices=(0, 1, 2, 3)``, or the four branches of an HRNet
    with ``multiscale_output=True``), highest resolution first as MMPose
    backbones return them, each coarser level about half the size of the
    previous one.

    - **GlobalNet** (a feature pyramid): every level gets a lateral 1x1
      conv to ``feat_channels`` (BN, ReLU); from the coarsest level down,
      the coarser merged map passes a 1x1 conv with BN (no ReLU), is
      upsampled bilinearly and added to the lateral. Each merged level
      predicts ``K`` heatmaps with a 1x1 conv (BN, ReLU) and a 3x3 conv
      (BN), resized to the heatmap size.
    - **RefineNet**: merged level ``i`` passes ``i`` bottlenecks
      (``feat_channels`` out, ``feat_channels // 2`` mid), is upsampled to
      the heatmap size, the levels are concatenated (``N * feat_channels``
      channels), then one bottleneck (with a 1x1 conv + BN projection
      shortcut) and a 3x3 conv to ``K`` with BN give the final heatmaps.

    The bottlenecks are MMPose's ResNet ``Bottleneck`` with
    ``expansion=2`` (the shortcut and conv-BN-ReLU order of the released
    ``resnet_v1.bottleneck``); the convs are MMCV ``ConvModule``.

    Supervision: the targets are the ``L`` levels of a ``MultiLevelHeatmap``
    codec in kernel mode (``[B, L*K, H, W]`` heatmaps, ``[B, L, K]`` or, if
    ``L == 1``, ``[B, K]`` weights). GlobalNet output ``i`` is compared
    with target level ``global_levels[i]`` by ``loss_global`` and the
    per-level losses are averaged into ``loss_global``; the RefineNet
    output is compared with level ``refine_level`` by ``loss_refine``
    (levels resolved by
    :func:`~mmpose_ext.models.losses.target_levels.resolve_target_level`).
    Prediction runs the pyramid and the RefineNet only and decodes the
    RefineNet output (flip-averaged when ``test_cfg['flip_test']``) with
    ``decoder``.

    ``refine_net=False`` gives GlobalNet alone, the baseline of the paper's
    RefineNet ablation: no RefineNet layers and no ``loss_refine``; the
    keypoints are decoded from GlobalNet output 0 (the highest-resolution
    one) and ``acc_pose`` is measured on it.

    Outputs: :meth:`forward` returns ``N`` GlobalNet heatmaps and the
    RefineNet heatmaps; :meth:`output_names` names them ``global0`` ..
    ``global{N-1}``, ``refine`` (the flattened order, for ONNX export).

    Targets must have peak 255 (``MultiLevelHeatmap(..., peak=255.)``, as
    every CPN config here): each output ends in BN, as released, and
    unit-peak targets are swamped by its unit variance (``docs/cpn.md``).

    Deviations from the released code (tf-cpn), explained in
    ``docs/cpn.md``:

    - The top-down 1x1 conv + BN runs before the upsampling, not after:
      the same map in inference at a quarter of the cost.
    - Both losses count only the labelled keypoints (non-zero weight):
      MMPose's datasets fold COCO's visibility into 0/1 weights.
    - Test-time refinement: ``MultiLevelHeatmap(..., blur_kernel_size=21,
      refine='shift')`` blurs as CPN's test does but shifts a quarter
      pixel towards the higher neighbour per axis (as HRNet), not towards
      the second maximum.

    Args:
        in_channels (Sequence[int]): Channels of the ``N`` feature levels,
            highest resolution first, e.g. ``(256, 512, 1024, 2048)`` for
            ResNet-50 or ``(32, 64, 128, 256)`` for HRNet-W32.
        out_channels (int): Number of keypoints ``K``.
        feat_channels (int): Channels of the pyramid and of the RefineNet
            bottlenecks (their mid channels are half of it). Defaults to
            ``256``.
        out_shape (tuple[int, int], optional): Heatmap size ``(H, W)``.
            Defaults to ``None``: the size of the highest-resolution
            feature level (1/4 of the input for ResNet and HRNet).
        global_levels (Sequence[int], optional): Target level of each
            GlobalNet output, highest resolution first; negative values
            count from the last level. Defaults to ``None``:
            ``(0, 1, ..., N - 1)``, the pairing of the released models (the
            widest kernel on the highest-resolution output; the authors'
            comment says ``(N - 1, ..., 0)`` was intended).
        refine_level (int): Target level of the RefineNet output. Defaults
            to ``-1`` (the last, finest level).
        refine_net (bool): Whether the head has a RefineNet. Defaults to
            ``True``.
        norm_cfg (dict, optional): Normalization layer config. Defaults to
            ``None``: ``dict(type='BN')``.
        align_corners (bool): ``align_corners`` of the bilinear resizes.
            Defaults to ``False``.
        loss_global (dict, optional): Config of the loss of each GlobalNet
            output, called as ``loss(pred [B, K, H, W], target [B, K, H,
            W], weights [B, K])``. Defaults to ``None``:
            ``WeightedHeatmapMSELoss(average='valid')``, the MSE over the
            labelled keypoints only.
        loss_refine (dict, optional): Config of the RefineNet loss, same
            call. Defaults to ``None``: ``OHKMLoss(topk=8)``, the mean MSE
            of the 8 hardest labelled keypoints of each sample; must be
            ``None`` when ``refine_net=False``.
        decoder (dict, optional): Codec config used to decode the RefineNet
            heatmaps. Defaults to ``None``.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to ``None``: Kaiming-normal convs, unit BN weights.

    Example:
        >>> head = CPNHead(in_channels=(8, 16, 32, 64), out_channels=17,
        ...                feat_channels=16)
        >>> feats = [torch.rand(1, 8 * 2**i, 64 >> i, 48 >> i)
        ...          for i in range(4)]
        >>> global_outs, refine_out = head(feats)
        >>> [o.shape for o in global_outs] == [(1, 17, 64, 48)] * 4
        True
        >>> refine_out.shape
        torch.Size([1, 17, 64, 48])

    .. _`Cascaded Pyramid Network`: https://arxiv.org/abs/1711.07319
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 out_channels: int,
                 feat_channels: int = 256,
                 out_shape: Optional[Tuple[int, int]] = None,
                 global_levels: Optional[Sequence[int]] = None,
                 refine_level: int = -1,
                 refine_net: bool = True,
                 norm_cfg: OptConfigType = None,
                 align_corners: bool = False,
                 loss_global: OptConfigType = None,
                 loss_refine: OptConfigType = None,
                 decoder: OptConfigType = None,
                 init_cfg: OptConfigType = None):
        if init_cfg is None:
            init_cfg = self.default_init_cfg
        super().__init__(init_cfg)
        check_int_sequence('in_channels', in_channels,
                           unit=' (one per feature level)')
        for name, value in (('out_channels', out_channels),
                            ('feat_channels', feat_channels)):
            check_positive_int(name, value)
        if feat_channels % 2:
            raise ValueError('feat_channels must be even (the bottlenecks '
                             f'halve it), got {feat_channels!r}')
        if out_shape is not None:
            out_shape = check_int_sequence('out_shape', out_shape, length=2,
                                           unit=' (H, W)')
        num_levels = len(in_channels)
        if global_levels is None:
            global_levels = tuple(range(num_levels))
        if (not isinstance(global_levels, Sequence)
                or isinstance(global_levels, str)
                or len(global_levels) != num_levels
                or not all(is_int(lv) for lv in global_levels)):
            raise ValueError(
                f'global_levels must give one int target level per feature '
                f'level ({num_levels}), got {global_levels!r}')
        check_int('refine_level', refine_level)
        if not isinstance(refine_net, bool):
            raise ValueError(
                f'refine_net must be a bool, got {refine_net!r}')
        if not refine_net and loss_refine is not None:
            raise ValueError(
                f'loss_refine={loss_refine!r} is set but refine_net=False '
                'leaves no RefineNet to supervise: set loss_refine=None')

        self.in_channels = tuple(int(c) for c in in_channels)
        self.out_channels = out_channels
        self.feat_channels = feat_channels
        self.num_levels = num_levels
        self.out_shape = out_shape
        self.global_levels = tuple(int(lv) for lv in global_levels)
        self.refine_level = int(refine_level)
        self.refine_net = refine_net
        self.norm_cfg = dict(norm_cfg or dict(type='BN'))
        self.align_corners = align_corners

        self.laterals = self._make_laterals()
        self.merges = self._make_merges()
        self.global_predictors = self._make_global_predictors()
        self.refine_blocks = self.refine_final = self.loss_refine = None
        if refine_net:
            self.refine_blocks = self._make_refine_blocks()
            self.refine_final = self._make_refine_final()

        if loss_global is None:
            loss_global = dict(type='WeightedHeatmapMSELoss',
                               average='valid')
        self.loss_global = MODELS.build(loss_global)
        if refine_net:
            self.loss_refine = MODELS.build(
                loss_refine or dict(type='OHKMLoss', topk=8))
        self.decoder = (
            KEYPOINT_CODECS.build(decoder) if decoder is not None else None)

    @property
    def default_init_cfg(self) -> List[dict]:
        return [
            dict(type='Kaiming', layer='Conv2d'),
            dict(type='Constant', layer='BatchNorm2d', val=1),
        ]

    def _conv(self, in_channels: int, out_channels: int, kernel_size: int,
              relu: bool) -> ConvModule:
        """Conv (no bias) + norm (+ ReLU)."""
        return ConvModule(
            in_channels, out_channels, kernel_size,
            padding=kernel_size // 2, norm_cfg=self.norm_cfg,
            act_cfg=dict(type='ReLU') if relu else None)

    def _bottleneck(self, in_channels: int) -> Bottleneck:
        """MMPose's ResNet bottleneck to ``feat_channels`` (mid: half)."""
        C = self.feat_channels
        downsample = None if in_channels == C else self._conv(
            in_channels, C, 1, relu=False)
        return Bottleneck(in_channels, C, expansion=2,
                          downsample=downsample,
                          norm_cfg=dict(self.norm_cfg))

    def _make_laterals(self) -> nn.ModuleList:
        """GlobalNet lateral 1x1 convs (BN, ReLU), one per level."""
        return nn.ModuleList(
            self._conv(c, self.feat_channels, 1, relu=True)
            for c in self.in_channels)

    def _make_merges(self) -> nn.ModuleList:
        """Top-down 1x1 convs (BN, no ReLU); ``merges[i]`` carries merged
        level ``i + 1`` down to level ``i``."""
        C = self.feat_channels
        return nn.ModuleList(
            self._conv(C, C, 1, relu=False)
            for _ in range(self.num_levels - 1))

    def _make_global_predictors(self) -> nn.ModuleList:
        """Per-level 1x1 conv (BN, ReLU) and 3x3 conv to ``K`` (BN)."""
        C, K = self.feat_channels, self.out_channels
        return nn.ModuleList(
            nn.Sequential(
                self._conv(C, C, 1, relu=True),
                self._conv(C, K, 3, relu=False))
            for _ in range(self.num_levels))

    def _make_refine_blocks(self) -> nn.ModuleList:
        """``i`` bottlenecks on level ``i`` (an empty ``Sequential``, the
        identity, on the highest-resolution level)."""
        return nn.ModuleList(
            nn.Sequential(*[
                self._bottleneck(self.feat_channels) for _ in range(i)
            ]) for i in range(self.num_levels))

    def _make_refine_final(self) -> nn.Sequential:
        """Bottleneck on the concatenated levels and a 3x3 conv to ``K``
        (BN)."""
        return nn.Sequential(
            self._bottleneck(self.num_levels * self.feat_channels),
            self._conv(self.feat_channels, self.out_channels, 3, relu=False))

    def _resize(self, x: Tensor, size: Sequence[int]) -> Tensor:
        if tuple(x.shape[-2:]) == tuple(size):
            return x
        return interpolate(x, size, mode='bilinear',
                           align_corners=self.align_corners)

    def _pyramid(self, feats: Sequence[Tensor]) -> List[Tensor]:
        """GlobalNet's merged levels ``[B, feat_channels, h_i, w_i]``,
        highest resolution first."""
        if isinstance(feats, Tensor) or len(feats) != self.num_levels:
            got = 1 if isinstance(feats, Tensor) else len(feats)
            raise ValueError(
                f'{type(self).__name__} expects {self.num_levels} feature '
                f'levels (in_channels={self.in_channels}), got {got}: is '
                'the backbone set to return all of them (ResNet '
                'out_indices, HRNet multiscale_output)?')
        merged: List[Optional[Tensor]] = [None] * self.num_levels
        top = None
        for i in reversed(range(self.num_levels)):  # coarse to fine
            x = self.laterals[i](feats[i])
            if top is not None:
                x = x + self._resize(self.merges[i](top), x.shape[-2:])
            merged[i] = top = x
        return merged

    def _refine(self, merged: Sequence[Tensor],
                size: Tuple[int, int]) -> Tensor:
        """RefineNet heatmaps ``[B, K, H, W]`` from the merged levels."""
        refined = torch.cat([
            self._resize(blocks(x), size)
            for blocks, x in zip(self.refine_blocks, merged)
        ], dim=1)
        return self.refine_final(refined)

    def _heatmap_size(self, feats: Sequence[Tensor]) -> Tuple[int, int]:
        return self.out_shape or tuple(feats[0].shape[-2:])

    def forward(self, feats: Sequence[Tensor]) -> CPNOutputs:
        """GlobalNet and RefineNet heatmaps.

        Args:
            feats (Sequence[Tensor]): ``N`` feature levels, highest
                resolution first, level ``i`` of shape ``[B, C_i, h_i,
                w_i]``.

        Returns:
            tuple:
            - global_heatmaps (list[Tensor]): ``N`` GlobalNet outputs,
                highest-resolution level first, each ``[B, K, H, W]``
            - refine_heatmaps (Tensor | None): RefineNet output,
                ``[B, K, H, W]``; ``None`` with ``refine_net=False``
        """
        merged = self._pyramid(feats)
        size = self._heatmap_size(feats)
        global_heatmaps = [
            self._resize(predict(x), size)
            for predict, x in zip(self.global_predictors, merged)
        ]
        if not self.refine_net:
            return global_heatmaps, None
        return global_heatmaps, self._refine(merged, size)

    def output_names(self) -> List[str]:
        """Names of the :meth:`forward` outputs, flattened depth first.

        Returns:
            list[str]: ``['global0', ..., f'global{N - 1}', 'refine']``
            (no ``'refine'`` with ``refine_net=False``).
        """
        names = [f'global{i}' for i in range(self.num_levels)]
        return names + ['refine'] if self.refine_net else names

    def _final_heatmaps(self, feats: Sequence[Tensor]) -> Tensor:
        """The heatmaps to decode: the RefineNet output without the
        GlobalNet predictors, or GlobalNet output 0 alone."""
        merged = self._pyramid(feats)
        size = self._heatmap_size(feats)
        if not self.refine_net:
            return self._resize(self.global_predictors[0](merged[0]), size)
        return self._refine(merged, size)

    def predict(self,
                feats: Features,
                batch_data_samples: OptSampleList,
                test_cfg: Optional[ConfigType] = None) -> Predictions:
        """Decode keypoints from the RefineNet heatmaps.

        The GlobalNet predictors, whose outputs only the loss uses, are not
        run (with ``refine_net=False``: only that of output 0, which is
        decoded).

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

    def target_levels(self, num_levels: int) -> Tuple[List[int], int]:
        """Target level of each GlobalNet output and of the RefineNet.

        Args:
            num_levels (int): Number of target levels ``L`` the codec
                encodes.

        Returns:
            tuple[list[int], int]: ``global_levels`` and ``refine_level``
            resolved to ``[0, L)``.
        """
        global_levels = [
            resolve_target_level(
                level, num_levels,
                f'GlobalNet output {i} (global_levels={self.global_levels})')
            for i, level in enumerate(self.global_levels)
        ]
        refine_level = resolve_target_level(
            self.refine_level, num_levels,
            f'the RefineNet output (refine_level={self.refine_level})')
        return global_levels, refine_level

    def loss(self,
             feats: Sequence[Tensor],
             batch_data_samples: OptSampleList,
             train_cfg: Optional[ConfigType] = None) -> dict:
        """GlobalNet and RefineNet losses and the RefineNet accuracy.

        Args:
            feats (Sequence[Tensor]): Backbone features (see
                :meth:`forward`).
            batch_data_samples (list[:obj:`PoseDataSample`]): Samples packed
                by ``PackPoseInputs`` with ``gt_fields.heatmaps`` (``[L*K,
                H, W]``) and ``gt_instance_labels.keypoint_weights``
                (``[1, L, K]`` or ``[1, K]``).
            train_cfg (dict, optional): ``compute_acc=False`` skips
                ``acc_pose`` and its copy of the heatmaps to the host, as
                in MMPose's ``HeatmapHead``. Defaults to ``None``.

        Returns:
            dict: ``loss_global`` (mean over the GlobalNet levels),
            ``loss_refine`` (with a RefineNet) and ``acc_pose``.
        """
        targets, weights = level_targets(batch_data_samples,
                                         self.out_channels)
        global_levels, refine_level = self.target_levels(
            targets.shape[1])
        global_heatmaps, refine_heatmaps = self.forward(feats)
        final, final_level = refine_heatmaps, refine_level
        if final is None:
            final, final_level = global_heatmaps[0], global_levels[0]
        if final.shape[-2:] != targets.shape[-2:]:
            raise ValueError(
                f'the head predicts {tuple(final.shape[-2:])} '
                f'heatmaps but the targets are {tuple(targets.shape[-2:])}:'
                ' set out_shape or the codec heatmap_size to match')

        loss_global = sum(
            self.loss_global(pred, targets[:, lv], weights[:, lv])
            for pred, lv in zip(global_heatmaps, global_levels))
        losses = dict(loss_global=loss_global / self.num_levels)
        if refine_heatmaps is not None:
            losses['loss_refine'] = self.loss_refine(
                refine_heatmaps, targets[:, refine_level],
                weights[:, refine_level])

        return add_accuracy(losses, train_cfg, final,
                            targets[:, final_level], weights[:, final_level])

    def extra_repr(self) -> str:
        return (f'in_channels={self.in_channels}, '
                f'out_channels={self.out_channels}, '
                f'global_levels={self.global_levels}, '
                f'refine_level={self.refine_level}, '
                f'refine_net={self.refine_net}')
