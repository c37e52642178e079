"""Cross-stage feature aggregation of MSPN.

Li et al., "Rethinking on Multi-Stage Networks for Human Pose Estimation"
(https://arxiv.org/abs/1901.00148), Sec. 3.2 and Fig. 3; original code:
https://github.com/megvii-detection/MSPN (``Upsample_unit``'s ``skip1``,
``skip2`` and ``cross_conv``).
"""
import copy
from typing import List, Sequence, Tuple

from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from mmpose.utils.typing import OptConfigType, OptMultiConfig
from torch import Tensor, nn

from ...utils import check_int_sequence, check_positive_int

__all__ = ['CrossStageAggregation']


@MODELS.register_module()
class CrossStageAggregation(BaseModule):
    """Pass the features of one MSPN stage on to the next.

    For every scale ``i`` (the output of ResNet ``layer{i + 1}``, stride
    ``4 * 2**i``), the previous stage's down-sampling feature and its
    up-sampling feature at that scale each go through a 1x1 conv + BN +
    ReLU to the down-sampling width ``in_channels[i]``; their sum is
    returned as ``skips[i]``, which the next stage adds to the output of
    its ``layer{i + 1}`` (see ``CrossStageMSPN``). The previous stage's
    highest-resolution up-sampling output goes through a 1x1 conv
    (``unit_channels`` -> ``out_channels``, 256 -> 64 in MSPN) + BN + ReLU
    and becomes the next stage's input, in place of the ResNet stem's
    output. BN + ReLU after that conv follow the authors' code and
    MMPose's ``MSPN``.

    Both inputs are indexed by scale, finest first, i.e. in the order of
    the ResNet layers; an up-sampling path that runs coarse to fine must
    be reversed (``up_feats[::-1]``).

    Args:
        in_channels (Sequence[int]): Channels of the previous stage's
            down-sampling features, one per scale, finest first. Defaults
            to ``(256, 512, 1024, 2048)`` (ResNet-50).
        unit_channels (int): Channels of the up-sampling features.
            Defaults to ``256``.
        out_channels (int): Channels of the next stage's input (the ResNet
            stem's width). Defaults to ``64``.
        with_skips (bool): Whether to pass the down- and up-sampling
            features on (``skips``); ``False`` keeps only the next stage's
            input and returns ``skips=None``, the "no cross-stage
            aggregation" baseline of the MSPN ablation. Defaults to
            ``True``.
        norm_cfg (dict, optional): Config of the norm layers. Defaults to
            ``None``: ``dict(type='BN')``.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to ``None``.

    Example:
        >>> agg = CrossStageAggregation(in_channels=(8, 16), unit_channels=4,
        ...                             out_channels=2)
        >>> down = [torch.rand(1, 8, 16, 12), torch.rand(1, 16, 8, 6)]
        >>> up = [torch.rand(1, 4, 16, 12), torch.rand(1, 4, 8, 6)]
        >>> skips, next_input = agg(down, up)
        >>> [tuple(s.shape) for s in skips], tuple(next_input.shape)
        ([(1, 8, 16, 12), (1, 16, 8, 6)], (1, 2, 16, 12))
    """

    def __init__(self,
                 in_channels: Sequence[int] = (256, 512, 1024, 2048),
                 unit_channels: int = 256,
                 out_channels: int = 64,
                 with_skips: bool = True,
                 norm_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        in_channels = check_int_sequence('in_channels', in_channels)
        for name, value in (('unit_channels', unit_channels),
                            ('out_channels', out_channels)):
            check_positive_int(name, value)
        if not isinstance(with_skips, bool):
            raise ValueError(
                f'with_skips must be a bool, got {with_skips!r}')
        self.in_channels = in_channels
        self.with_skips = with_skips
        self.unit_channels = unit_channels
        self.out_channels = out_channels
        self.norm_cfg = copy.deepcopy(norm_cfg or dict(type='BN'))

        self.down_convs = self.up_convs = None
        if with_skips:
            self.down_convs = nn.ModuleList(
                self._make_conv(c, c) for c in in_channels)
            self.up_convs = nn.ModuleList(
                self._make_conv(unit_channels, c) for c in in_channels)
        self.cross_conv = self._make_conv(unit_channels, out_channels)

    def _make_conv(self, in_channels: int, out_channels: int) -> ConvModule:
        """1x1 conv + norm + ReLU."""
        return ConvModule(
            in_channels,
            out_channels,
            kernel_size=1,
            norm_cfg=self.norm_cfg,
            inplace=True)

    def forward(self, down_feats: Sequence[Tensor],
                up_feats: Sequence[Tensor]) -> Tuple[List[Tensor], Tensor]:
        """Aggregate a stage's features for the next stage.

        Args:
            down_feats (Sequence[Tensor]): The previous stage's
                down-sampling features, finest first, ``down_feats[i]`` of
                shape ``[B, in_channels[i], H_i, W_i]``.
            up_feats (Sequence[Tensor]): The previous stage's up-sampling
                features at the same scales, finest first, of shape
                ``[B, unit_channels, H_i, W_i]``.

        Returns:
            tuple:
            - skips (list[Tensor] | None): ``[B, in_channels[i], H_i, W_i]``
              to add to the next stage's down-sampling path after layer
              ``i``; ``None`` with ``with_skips=False``.
            - next_input (Tensor): The next stage's input,
              ``[B, out_channels, H_0, W_0]``.
        """
        num_scales = len(self.in_channels)
        if len(down_feats) != num_scales or len(up_feats) != num_scales:
            raise ValueError(
                f'expected {num_scales} down- and up-sampling features '
                f'(one per in_channels entry), got {len(down_feats)} and '
                f'{len(up_feats)}')
        for i, (down, up) in enumerate(zip(down_feats, up_feats)):
            if down.shape[-2:] != up.shape[-2:]:
                raise ValueError(
                    f'scale {i}: down-sampling feature of size '
                    f'{tuple(down.shape[-2:])} and up-sampling feature of '
                    f'size {tuple(up.shape[-2:])} differ; pass both finest '
                    'first')
        next_input = self.cross_conv(up_feats[0])
        if not self.with_skips:
            return None, next_input
        skips = [
            down_conv(down) + up_conv(up) for down_conv, up_conv, down, up in
            zip(self.down_convs, self.up_convs, down_feats, up_feats)
        ]
        return skips, next_input

    def extra_repr(self) -> str:
        return (f'in_channels={self.in_channels}, unit_channels='
                f'{self.unit_channels}, out_channels={self.out_channels}, '
                f'with_skips={self.with_skips}')
