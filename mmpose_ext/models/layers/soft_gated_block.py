"""Soft-gated residual block.

Bulat et al., "Toward fast and accurate human pose estimation via soft-gated
skip connections", FG 2020 (https://arxiv.org/abs/2002.11098), Sec. 3.1. The
authors released no code; the conv branch is the hierarchical, parallel and
multi-scale block of Bulat & Tzimiropoulos (https://arxiv.org/abs/1703.00862)
that the paper builds on. MMPose has no gated skip connection, hence this
module.
"""

import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from mmpose.utils.typing import OptConfigType, OptMultiConfig
from torch import Tensor, nn

from ...utils import check_positive_int
from .pre_act_bottleneck import PRE_ACT_ORDER

__all__ = ['SoftGatedBlock']

#: Gate kinds: a learned per-channel vector, or a squeeze-and-excitation
#: branch that computes it from the input.
GATE_TYPES = ('channel', 'se')


@MODELS.register_module()
class SoftGatedBlock(BaseModule):
    """Multi-scale residual block whose skip connection is soft-gated.

    ``out = cat(y1, y2, y3) + alpha * skip(x)`` with

    - ``y1 = conv3x3(x)`` (``N_in -> N/2``, with ``stride``), ``y2 =
      conv3x3(y1)`` (``N/2 -> N/4``), ``y3 = conv3x3(y2)`` (``N/4 ->
      N/4``), each a pre-activation BN -> ReLU -> conv unit; the
      concatenation has ``N`` channels, so the block sees 3x3, 5x5 and 7x7
      receptive fields at the cost of about one ``N -> N`` 3x3 conv;
    - ``skip``: the identity, or a 1x1 conv (with ``stride``) when the
      channels or the resolution change;
    - ``alpha``: the soft gate, ``[1, N, 1, 1]`` per channel. With
      ``gate='channel'`` (the paper) it is a learned vector initialised
      to ``init_alpha``; with ``gate='se'`` it is input-dependent,
      ``sigmoid(fc(relu(fc(avgpool(skip(x))))))`` of shape ``[B, N, 1,
      1]``, so it lies in ``[0, 1]``.

    The paper does not state the gate's initial value: ``init_alpha=1``
    starts the block as an ordinary residual block, as public soft-gating
    layers do (``docs/soft_gated.md``).

    The constructor takes ``in_channels`` and ``out_channels`` like
    :class:`PreActBottleneck`, so ``dict(type='SoftGatedBlock')`` can
    replace the blocks of :class:`HRUHourglassNet` through config.

    Args:
        in_channels (int): Input channels ``N_in``.
        out_channels (int): Output channels ``N`` (a multiple of 4).
        stride (int): Stride of the first 3x3 conv and of the skip
            projection. Defaults to ``1``.
        gate (str): ``'channel'`` (learned per-channel ``alpha``) or
            ``'se'`` (squeeze-and-excitation ``alpha``). Defaults to
            ``'channel'``.
        init_alpha (float): Initial value of the ``'channel'`` gate.
            Defaults to ``1.0``.
        se_ratio (float): Hidden width of the ``'se'`` gate as a fraction
            of ``N``. Defaults to ``0.25``.
        norm_cfg (dict, optional): Norm layer config. Defaults to
            ``None``: ``dict(type='BN')``.
        act_cfg (dict, optional): Activation config. Defaults to ``None``:
            ``dict(type='ReLU')``.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to ``None``.

    Example:
        >>> block = SoftGatedBlock(64, 128, stride=2)
        >>> block(torch.rand(2, 64, 16, 16)).shape
        torch.Size([2, 128, 8, 8])
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 gate: str = 'channel',
                 init_alpha: float = 1.0,
                 se_ratio: float = 0.25,
                 norm_cfg: OptConfigType = None,
                 act_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        for name, value in (('in_channels', in_channels),
                            ('out_channels', out_channels),
                            ('stride', stride)):
            check_positive_int(name, value)
        if out_channels % 4:
            raise ValueError(
                f'out_channels={out_channels} must be a multiple of 4 (the '
                f'branches have N/2, N/4 and N/4 channels)')
        if gate not in GATE_TYPES:
            raise ValueError(
                f'gate={gate!r} is not one of {GATE_TYPES}')
        if not 0 < se_ratio <= 1:
            raise ValueError(f'se_ratio must be in (0, 1], got {se_ratio!r}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.gate = gate
        self.norm_cfg = dict(norm_cfg or dict(type='BN'))
        self.act_cfg = dict(act_cfg or dict(type='ReLU'))

        half, quarter = out_channels // 2, out_channels // 4
        self.conv1 = self._pre_act_conv(in_channels, half, stride)
        self.conv2 = self._pre_act_conv(half, quarter, 1)
        self.conv3 = self._pre_act_conv(quarter, quarter, 1)
        if in_channels == out_channels and stride == 1:
            self.skip = nn.Identity()
        else:
            self.skip = nn.Conv2d(
                in_channels, out_channels, kernel_size=1, stride=stride)
        if gate == 'channel':
            self.alpha = nn.Parameter(
                torch.full((1, out_channels, 1, 1), float(init_alpha)))
            self.se = None
        else:
            self.alpha = None
            hidden = max(1, round(out_channels * se_ratio))
            self.se = nn.Sequential(
                nn.AdaptiveAvgPool2d(1),
                nn.Conv2d(out_channels, hidden, 1),
                nn.ReLU(inplace=True),
                nn.Conv2d(hidden, out_channels, 1),
                nn.Sigmoid())

    def _pre_act_conv(self, in_channels: int, out_channels: int,
                      stride: int) -> ConvModule:
        """BN -> ReLU -> 3x3 conv."""
        return ConvModule(
            in_channels,
            out_channels,
            3,
            stride=stride,
            padding=1,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg,
            order=PRE_ACT_ORDER)

    def gate_values(self, skip: Tensor) -> Tensor:
        """The gate ``alpha`` for the skip features ``[B, N, H, W]``:
        ``[1, N, 1, 1]`` (``'channel'``) or ``[B, N, 1, 1]`` (``'se'``)."""
        return self.alpha if self.se is None else self.se(skip)

    def forward(self, x: Tensor) -> Tensor:
        """Gated residual output.

        Args:
            x (Tensor): Input ``[B, N_in, H, W]``.

        Returns:
            Tensor: ``[B, N, H / stride, W / stride]`` (ceil division).
        """
        y1 = self.conv1(x)
        y2 = self.conv2(y1)
        y3 = self.conv3(y2)
        skip = self.skip(x)
        out = torch.cat((y1, y2, y3), dim=1)
        # in the convolutions' dtype: under autocast the float32 gate (or
        # a float32 identity skip) would otherwise promote every block's
        # output, and all that follows, to float32
        return out + (self.gate_values(skip) * skip).to(out.dtype)
