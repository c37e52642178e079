"""Pre-activation bottleneck residual block of stacked hourglass networks.

The residual module of Newell et al., "Stacked Hourglass Networks for Human
Pose Estimation" (https://arxiv.org/abs/1603.06937), following the
pre-activation ResNet of He et al. (https://arxiv.org/abs/1603.05027);
original Lua source: ``anewell/pose-hg-train`` (``layers/Residual.lua``).
"""
from typing import Optional

from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from mmpose.utils.typing import OptConfigType, OptMultiConfig
from torch import Tensor, nn

from ...utils import check_positive_int

__all__ = ['PreActBottleneck']

#: ConvModule order of a pre-activation unit: BN -> ReLU -> conv.
PRE_ACT_ORDER = ('norm', 'act', 'conv')


@MODELS.register_module()
class PreActBottleneck(BaseModule):
    """Pre-activation bottleneck residual block (N -> N/2 -> N/2 -> N).

    The residual module of stacked hourglass networks
    (https://arxiv.org/abs/1603.06937): three BN-ReLU-conv units (1x1
    ``in -> mid``, 3x3 ``mid -> mid``, 1x1 ``mid -> out``) added to the
    identity, or to a 1x1 projection of the input when ``in_channels !=
    out_channels``. It is the plain ``block`` of :class:`HRUHourglassNet`
    and the first two branches of :class:`HourglassResidualUnit`.

    Any module registered with the same constructor keywords
    (``in_channels``, ``out_channels``) and a size-preserving
    ``[B, in, H, W] -> [B, out, H, W]`` forward can replace it in
    :class:`HRUHourglassNet` through config.

    Args:
        in_channels (int): Input channels ``N_in``.
        out_channels (int): Output channels ``N``.
        mid_channels (int, optional): Bottleneck width. Defaults to
            ``None``: ``out_channels // 2``.
        norm_cfg (dict, optional): Norm layer config. Defaults to
            ``None``: ``dict(type='BN')``.
        act_cfg (dict, optional): Activation config. Defaults to ``None``:
            ``dict(type='ReLU')``.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to ``None``.

    Example:
        >>> block = PreActBottleneck(64, 128)
        >>> block(torch.rand(2, 64, 16, 16)).shape
        torch.Size([2, 128, 16, 16])
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 mid_channels: Optional[int] = None,
                 norm_cfg: OptConfigType = None,
                 act_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        if mid_channels is None:
            mid_channels = out_channels // 2
        for name, value in (('in_channels', in_channels),
                            ('out_channels', out_channels),
                            ('mid_channels', mid_channels)):
            check_positive_int(name, value)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.mid_channels = mid_channels
        self.norm_cfg = dict(norm_cfg or dict(type='BN'))
        self.act_cfg = dict(act_cfg or dict(type='ReLU'))

        self.conv_branch = nn.Sequential(
            self._pre_act_conv(in_channels, mid_channels, 1),
            self._pre_act_conv(mid_channels, mid_channels, 3),
            self._pre_act_conv(mid_channels, out_channels, 1))
        self.skip = (
            nn.Identity() if in_channels == out_channels else nn.Conv2d(
                in_channels, out_channels, kernel_size=1))

    def _pre_act_conv(self, in_channels: int, out_channels: int,
                      kernel_size: int) -> ConvModule:
        """BN -> ReLU -> conv (no conv bias, as the next unit normalises
        or the sum feeds the next block's norm)."""
        return ConvModule(
            in_channels,
            out_channels,
            kernel_size,
            padding=kernel_size // 2,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg,
            order=PRE_ACT_ORDER)

    def forward(self, x: Tensor) -> Tensor:
        """Residual output.

        Args:
            x (Tensor): Input ``[B, N_in, H, W]``.

        Returns:
            Tensor: ``[B, N, H, W]``.
        """
        return self.conv_branch(x) + self.skip(x)
