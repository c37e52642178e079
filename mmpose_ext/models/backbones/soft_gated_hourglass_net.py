"""Stacked hourglass of soft-gated blocks with a hybrid hourglass/U-Net
decoder.

Bulat et al., "Toward fast and accurate human pose estimation via soft-gated
skip connections", FG 2020 (https://arxiv.org/abs/2002.11098). No official
code exists; this follows the paper's Sec. 3 and Fig. 3 (hybrid decoder) on
the stem, stacking and intermediate supervision of Newell et al.
(https://arxiv.org/abs/1603.06937), which it builds on. MMPose's
``HourglassNet`` has neither the gated blocks nor the concatenating decoder.
"""
from typing import List, Sequence

import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptConfigType, OptMultiConfig
from torch import Tensor, nn

from ..layers.pre_act_bottleneck import PRE_ACT_ORDER
from ..utils import MaxPool2d, interpolate
from .hru_hourglass_net import HRUHourglassNet, _build_block

__all__ = ['SoftGatedHourglassNet']


class SoftGatedHourglassModule(BaseModule):
    """One hybrid hourglass of :class:`SoftGatedHourglassNet`, recursive.

    At a level with ``depth`` poolings below it: ``skip = block(x)``; the
    lower branch max-pools 2x2, applies one ``block`` and the next level
    (one more ``block`` at the bottom) and is upsampled (nearest) to the
    skip size; the two are concatenated (``2C`` channels, the U-Net part),
    fused by a pre-activation ``fuse_kernel_size`` conv ``2C -> C`` (3x3
    in the paper) and refined by one ``block``.

    Args:
        depth (int): Number of poolings ``D`` from this level down.
        channels (int): Feature channels ``C``.
        block (dict): Block config, built with ``in_channels`` and
            ``out_channels``.
        norm_cfg (dict): Norm config of the fusing conv.
        fuse_kernel_size (int): Kernel size of the fusing conv. Defaults
            to ``3``.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to ``None``.
    """

    def __init__(self,
                 depth: int,
                 channels: int,
                 block: ConfigType,
                 norm_cfg: ConfigType,
                 fuse_kernel_size: int = 3,
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        self.depth = depth
        self.skip_branch = _build_block(block, channels, channels)
        self.pool = MaxPool2d(kernel_size=2, stride=2)
        self.down_branch = _build_block(block, channels, channels)
        if depth > 1:
            self.inner = SoftGatedHourglassModule(depth - 1, channels, block,
                                                  norm_cfg, fuse_kernel_size)
        else:
            self.inner = _build_block(block, channels, channels)
        self.fuse = ConvModule(
            2 * channels,
            channels,
            fuse_kernel_size,
            padding=fuse_kernel_size // 2,
            norm_cfg=norm_cfg,
            order=PRE_ACT_ORDER)
        self.out_block = _build_block(block, channels, channels)

    def forward(self, x: Tensor) -> List[Tensor]:
        """Outputs of the decoder, finest first.

        Args:
            x (Tensor): Input ``[B, C, H, W]``.

        Returns:
            list[Tensor]: ``D`` maps ``[B, C, H / 2^d, W / 2^d]`` for ``d =
            0 .. D - 1``; the first is the hourglass output.
        """
        skip = self.skip_branch(x)
        low = self.down_branch(self.pool(x))
        if self.depth > 1:
            inner = self.inner(low)
            low = inner[0]
        else:
            inner = []
            low = self.inner(low)
        up = interpolate(low, skip.shape[-2:])
        out = self.out_block(self.fuse(torch.cat((skip, up), dim=1)))
        return [out, *inner]


@MODELS.register_module()
class SoftGatedHourglassNet(HRUHourglassNet):
    """Stacked hourglass of soft-gated blocks (Bulat et al., FG 2020).

    The network of https://arxiv.org/abs/2002.11098: every residual block
    of a stacked hourglass is a :class:`SoftGatedBlock`, and each
    hourglass level merges its skip branch into the up-sampling path by
    concatenation + 3x3 conv ``2C -> C`` + block (the paper's hybrid
    hourglass/U-Net decoder, :class:`SoftGatedHourglassModule`) instead of
    a sum. Everything around the hourglasses is
    :class:`HRUHourglassNet`'s, i.e. Newell et al.'s:

    - **Stem**: 7x7 conv with ``stem_stride`` + BN-ReLU, then ``block`` of
      the widths in ``stem_block_channels`` with a 2x2 max-pool between
      groups and a last block to ``feat_channels``. Default: 7x7/2 to 64 |
      64, 128 | pool | 128, C: a 64x64 map for a 256x256 input.
    - **Per stack**: two 1x1 conv-BN-ReLU on the hourglass output and a
      1x1 conv to ``K`` heatmaps (or an ``attention`` module, as in
      :class:`HRUHourglassNet`); the next stack's input is ``x + conv1x1(
      heatmaps) + conv1x1-BN-ReLU(features)``.

    Output: a tuple of ``num_stacks`` heatmaps ``[B, K, H / r, W / r]``
    with ``r = stem_stride * 2 ** (len(stem_block_channels) - 1)`` (4 by
    default), consumed by ``MultiStageHeatmapHead(heatmap_inputs=True,
    num_stages=num_stacks)``.

    Args:
        num_keypoints (int): Number of heatmaps ``K`` per stack. Defaults
            to ``17``.
        num_stacks (int): Number of hourglasses. Defaults to ``4`` (the
            paper's).
        in_channels (int): Image channels. Defaults to ``3``.
        feat_channels (int): Hourglass width ``C`` (a multiple of 4 for
            the default block). Defaults to ``144`` (the paper's).
        num_poolings (int): Poolings per hourglass. Defaults to ``4``.
        stem_stride (int): Stride of the 7x7 stem conv. Defaults to ``2``.
        stem_block_channels (Sequence[Sequence[int]]): Widths of the stem
            blocks per resolution, a 2x2 max-pool between groups; the stem
            conv has the first width. Defaults to ``((64, 128), (128, ))``.
        block (dict, optional): Block config, built with ``in_channels``
            and ``out_channels``. Defaults to ``None``: ``dict(type=
            'SoftGatedBlock', norm_cfg=norm_cfg)``.
        fuse_kernel_size (int): Kernel size of the decoder's ``2C -> C``
            fusing conv: 3 in the paper, 1 for a smaller variant
            (parameter counts in ``docs/soft_gated.md``). Defaults to
            ``3``.
        attention (dict, optional): Attention module config (see
            :class:`HRUHourglassNet`). Defaults to ``None``.
        norm_cfg (dict, optional): Norm config of the stem, fusing and
            1x1 convs and of the default block. Defaults to ``None``:
            ``dict(type='BN')``.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to ``None``.

    Example:
        >>> net = SoftGatedHourglassNet(num_stacks=2, feat_channels=64)
        >>> [tuple(o.shape) for o in net(torch.rand(1, 3, 256, 256))]
        [(1, 17, 64, 64), (1, 17, 64, 64)]
    """

    def __init__(self,
                 num_keypoints: int = 17,
                 num_stacks: int = 4,
                 in_channels: int = 3,
                 feat_channels: int = 144,
                 num_poolings: int = 4,
                 stem_stride: int = 2,
                 stem_block_channels: Sequence[Sequence[int]] = ((64, 128),
                                                                 (128, )),
                 block: OptConfigType = None,
                 fuse_kernel_size: int = 3,
                 attention: OptConfigType = None,
                 norm_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None):
        if fuse_kernel_size not in (1, 3, 5, 7):
            raise ValueError(f'fuse_kernel_size must be 1, 3, 5 or 7, got '
                             f'{fuse_kernel_size!r}')
        self.fuse_kernel_size = fuse_kernel_size
        norm_cfg = dict(norm_cfg or dict(type='BN'))
        if block is None:
            block = dict(type='SoftGatedBlock', norm_cfg=norm_cfg)
        super().__init__(
            num_keypoints=num_keypoints,
            num_stacks=num_stacks,
            in_channels=in_channels,
            feat_channels=feat_channels,
            num_poolings=num_poolings,
            stem_stride=stem_stride,
            stem_block_channels=stem_block_channels,
            block=block,
            skip_block=block,
            num_skip_blocks=[0] * num_poolings if isinstance(
                num_poolings, int) else None,
            attention=attention,
            norm_cfg=norm_cfg,
            init_cfg=init_cfg)

    def _make_hourglass(self) -> nn.Module:
        """One hybrid hourglass (every block is ``block``, once)."""
        return SoftGatedHourglassModule(self.num_poolings,
                                        self.feat_channels, self.block_cfg,
                                        self.norm_cfg, self.fuse_kernel_size)
