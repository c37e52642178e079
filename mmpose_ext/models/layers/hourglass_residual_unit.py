"""Hourglass Residual Unit (HRU) of the multi-context attention network.

Chu et al., "Multi-Context Attention for Human Pose Estimation", CVPR 2017
(https://arxiv.org/abs/1702.07432), Sec. 3.2; original Lua source:
``bearpaw/pose-attention`` (``train/models/layers/ResidualPool.lua``).
"""
from typing import Optional

from mmcv.cnn import ConvModule, build_activation_layer, build_norm_layer
from mmpose.registry import MODELS
from mmpose.utils.typing import OptConfigType, OptMultiConfig
from torch import Tensor, nn

from ..utils import MaxPool2d, interpolate
from .pre_act_bottleneck import PRE_ACT_ORDER, PreActBottleneck

__all__ = ['HourglassResidualUnit']


@MODELS.register_module()
class HourglassResidualUnit(PreActBottleneck):
    """Residual unit with a pooled side branch for a larger receptive field.

    The Hourglass Residual Unit of Chu et al.
    (https://arxiv.org/abs/1702.07432) sums three branches:

    - ``conv_branch``: the pre-activation bottleneck ``N_in -> N/2 -> N/2
      -> N`` of :class:`PreActBottleneck`;
    - ``skip``: the identity, or a 1x1 conv when ``N_in != N``;
    - ``pool_branch``: BN-ReLU -> 2x2 max-pool -> 3x3 conv ``N_in -> N``
      -> BN-ReLU -> 3x3 conv ``N -> N`` -> nearest x2 upsampling (to the
      input size, so odd sizes work too).

    The side branch sees a 2x coarser grid through two 3x3 convs, so its
    receptive field is about 4x that of the bottleneck's single 3x3 conv.

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
        >>> hru = HourglassResidualUnit(64, 64)
        >>> hru(torch.rand(2, 64, 32, 32)).shape
        torch.Size([2, 64, 32, 32])
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 mid_channels: Optional[int] = None,
                 norm_cfg: OptConfigType = None,
                 act_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None):
        super().__init__(
            in_channels,
            out_channels,
            mid_channels=mid_channels,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            init_cfg=init_cfg)
        self.pool_branch = nn.Sequential(
            build_norm_layer(self.norm_cfg, in_channels)[1],
            build_activation_layer(self.act_cfg),
            MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(
                in_channels, out_channels, 3, padding=1, bias=False),
            ConvModule(
                out_channels,
                out_channels,
                3,
                padding=1,
                norm_cfg=self.norm_cfg,
                act_cfg=self.act_cfg,
                order=PRE_ACT_ORDER))

    def forward_pool_branch(self, x: Tensor) -> Tensor:
        """The side branch alone, upsampled back to the input size.

        Args:
            x (Tensor): Input ``[B, N_in, H, W]`` with ``H, W >= 2``.

        Returns:
            Tensor: ``[B, N, H, W]``.
        """
        return interpolate(self.pool_branch(x), x.shape[-2:])

    def forward(self, x: Tensor) -> Tensor:
        """Sum of the bottleneck, skip and pooled branches.

        Args:
            x (Tensor): Input ``[B, N_in, H, W]`` with ``H, W >= 2``.

        Returns:
            Tensor: ``[B, N, H, W]``.
        """
        return super().forward(x) + self.forward_pool_branch(x)
