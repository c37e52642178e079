"""Multi-context attention: CRF attention maps, holistic and part attention.

Chu et al., "Multi-Context Attention for Human Pose Estimation", CVPR 2017
(https://arxiv.org/abs/1702.07432), Sec. 4; original Lua source:
``bearpaw/pose-attention`` (``train/models/layers/AttentionPartsCRF.lua``
and ``train/models/hg-attention.lua``).
"""
import functools
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from mmpose.utils.typing import OptMultiConfig
from torch import Tensor, nn

from ...utils import check_int_sequence, check_positive_int, is_int
from ..utils import interpolate

__all__ = ['MultiContextAttention']

_COMBINE_MODES = ('mean', 'sum')


class CRFAttention(nn.Module):
    """Attention maps refined by mean-field CRF iterations (Sec. 4.1).

    ``U = conv3x3(x)`` (``C -> M``), then ``Q_1 = sigmoid(k * U + U)`` and
    ``Q_t = sigmoid(k * Q_{t-1} + U)`` for ``t = 2 .. T``, where ``k`` is a
    spatial ``kernel_size x kernel_size`` kernel shared by all iterations
    (one kernel per map: a grouped conv with ``groups=M``). With ``M = 1``
    this is the holistic attention map; with ``M = K`` it is ``K``
    independent part attention maps computed at once.

    Args:
        in_channels (int): Feature channels ``C``.
        num_maps (int): Number of attention maps ``M``. Defaults to ``1``.
        kernel_size (int): Odd size of the shared spatial kernel. Defaults
            to ``11``.
        num_iters (int): Mean-field iterations ``T``. Defaults to ``3``.
    """

    def __init__(self,
                 in_channels: int,
                 num_maps: int = 1,
                 kernel_size: int = 11,
                 num_iters: int = 3):
        super().__init__()
        self.num_iters = num_iters
        self.unary = nn.Conv2d(in_channels, num_maps, 3, padding=1)
        self.spatial = nn.Conv2d(
            num_maps,
            num_maps,
            kernel_size,
            padding=kernel_size // 2,
            groups=num_maps)

    def forward(self, x: Tensor) -> Tensor:
        """Attention maps ``Q_T``.

        Args:
            x (Tensor): Features ``[B, C, H, W]``.

        Returns:
            Tensor: Maps in ``(0, 1)``, ``[B, M, H, W]``.
        """
        unary = self.unary(x)
        q = unary
        for _ in range(self.num_iters):
            q = torch.sigmoid(self.spatial(q) + unary)
        return q


@MODELS.register_module()
class MultiContextAttention(BaseModule):
    """Multi-resolution holistic and hierarchical part attention.

    The attention of Chu et al. (https://arxiv.org/abs/1702.07432) as one
    module that turns features into attended ``K``-keypoint heatmaps:

    1. **Multi-resolution holistic attention** (paper Fig. 2): one
       CRF-modelled attention map (see :class:`CRFAttention`: 3x3 unary
       conv ``C_r -> 1``, ``num_iters`` mean-field steps with a shared
       ``kernel_size`` spatial kernel) per selected feature map ``r``,
       bilinearly upsampled to the size of the first selected map (the
       *main* map) and combined by ``combine``. The main features are
       multiplied by the combined map: ``h = x_0 * Q_holistic``.
    2. Holistic mode (``part_attention=False``, the paper's stacks 1-4):
       heatmaps = 1x1 conv ``C_0 -> K`` of ``h``.
    3. Hierarchical mode (``part_attention=True``, stacks 5-8): ``K``
       CRF part attention maps ``Q_k`` computed from ``h`` (one unary
       conv ``C_0 -> K`` and a grouped spatial conv: the ``K`` part
       modules of the released code vectorised), and the heatmap of
       keypoint ``k`` predicted from its own attended features ``h *
       Q_k`` by its own 1x1 conv ``w_k``. Since the 1x1 conv is linear
       and ``Q_k`` is one value per pixel, ``w_k . (h * Q_k) + b_k = Q_k
       * (w_k . h) + b_k``: all ``K`` heatmaps come from one 1x1 conv and
       one product, without materialising ``K`` copies of ``h``.

    Combining resolutions: the paper's Fig. 2 leaves the combination open
    and the released code attends at one resolution only; ``'mean'``
    (default) keeps the combined map in ``[0, 1]``, an attention map
    itself, while ``'sum'`` differs by the factor ``R`` only
    (``docs/mca_hourglass.md``).

    Two uses:

    - Embedded in :class:`HRUHourglassNet` (``attention=dict(type=
      'MultiContextAttention', ...)``): the backbone builds one module
      per stack, passes ``(x_0, u_1, ..., u_{P-1})`` -- the stack's output
      features and the hourglass up-sampling path at 1/2 .. 1/2^(P-1) of
      the output size -- and feeds the attended heatmaps to the next
      stack, as in the paper. ``in_indices`` picks the resolutions
      (``(0,)`` = the released code's output-only attention).
    - As an ordinary ``neck=`` after any backbone yielding feature maps
      (stock HRNet's single map, ResNet's last map, ...), followed by
      ``MultiStageHeatmapHead(heatmap_inputs=True, num_stages=1)``; it
      returns ``(heatmaps, )`` at the main map's resolution, which the
      codec's ``heatmap_size`` should match.

    After each forward, :attr:`attention_maps` holds the (detached) maps
    for visualisation: ``'holistic'`` ``[B, 1, H, W]`` (combined),
    ``'levels'`` (one ``[B, 1, h_r, w_r]`` per selected map, before
    upsampling) and ``'parts'`` ``[B, K, H, W]`` (``None`` in holistic
    mode).

    The 1x1 ``predictor`` starts at std 0.001 with zero bias, as the last
    conv of MMPose's heatmap heads, so that the heatmaps start near the
    near-zero targets (``docs/mca_hourglass.md``).

    Args:
        in_channels (int | Sequence[int]): Channels of the selected feature
            maps, the main map first; an int means one map, or the same
            for every map ``in_indices`` selects.
        num_keypoints (int): Number of keypoints ``K``.
        part_attention (bool): Whether to add the per-keypoint part
            attention (hierarchical mode). Defaults to ``False``.
        in_indices (int | Sequence[int], optional): Indices of the input
            tuple's maps to use, the main map first; as many as
            ``in_channels`` gives. Defaults to ``None``: the first
            ``len(in_channels)`` maps.
        kernel_size (int): Odd size of the CRF spatial kernels; the
            released training script used 11 (its option's default was
            1). Defaults to ``11``.
        num_iters (int): Mean-field iterations ``T``. Defaults to ``3``.
        combine (str): ``'mean'`` or ``'sum'`` of the per-resolution maps.
            Defaults to ``'mean'``.
        keep_attention_maps (bool): Whether to keep the last forward's maps
            in :attr:`attention_maps` in eval mode (for visualisation;
            training forwards never keep them). Defaults to ``True``.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to ``None``.

    Example:
        >>> neck = MultiContextAttention(32, num_keypoints=17,
        ...                              part_attention=True)
        >>> heatmaps, = neck((torch.rand(2, 32, 64, 48), ))
        >>> heatmaps.shape, neck.attention_maps['parts'].shape
        (torch.Size([2, 17, 64, 48]), torch.Size([2, 17, 64, 48]))
    """

    def __init__(self,
                 in_channels: Union[int, Sequence[int]],
                 num_keypoints: int,
                 part_attention: bool = False,
                 in_indices: Optional[Union[int, Sequence[int]]] = None,
                 kernel_size: int = 11,
                 num_iters: int = 3,
                 combine: str = 'mean',
                 keep_attention_maps: bool = True,
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        if is_int(in_indices):
            in_indices = (in_indices, )
        if is_int(in_channels):
            in_channels = [in_channels] * (
                1 if in_indices is None else len(in_indices))
        in_channels = list(check_int_sequence('in_channels', in_channels))
        if in_indices is not None and len(in_indices) != len(in_channels):
            raise ValueError(
                f'in_indices={tuple(in_indices)!r} selects '
                f'{len(in_indices)} maps but in_channels={in_channels!r} '
                f'describes {len(in_channels)}')
        for name, value in (('num_keypoints', num_keypoints),
                            ('num_iters', num_iters)):
            check_positive_int(name, value)
        check_positive_int('kernel_size', kernel_size, odd=True)
        if combine not in _COMBINE_MODES:
            raise ValueError(
                f'combine={combine!r} is not one of {_COMBINE_MODES}')

        self.in_channels = in_channels
        self.num_keypoints = num_keypoints
        self.part_attention = part_attention
        self.in_indices = None if in_indices is None else tuple(in_indices)
        self.kernel_size = kernel_size
        self.num_iters = num_iters
        self.combine = combine
        self.keep_attention_maps = keep_attention_maps
        self.attention_maps: Optional[Dict[str, object]] = None

        self.holistic = nn.ModuleList(
            CRFAttention(c, 1, kernel_size, num_iters) for c in in_channels)
        self.parts = CRFAttention(in_channels[0], num_keypoints, kernel_size,
                                  num_iters) if part_attention else None
        self.predictor = nn.Conv2d(in_channels[0], num_keypoints, 1)
        # outputs start near the near-zero targets (class docstring)
        nn.init.normal_(self.predictor.weight, std=0.001)
        nn.init.zeros_(self.predictor.bias)

    def _select(self, feats: Union[Tensor, Sequence[Tensor]]
                ) -> List[Tensor]:
        """The maps attention is computed from, the main map first."""
        if isinstance(feats, Tensor):
            feats = (feats, )
        num = len(self.in_channels)
        if self.in_indices is None:
            if len(feats) < num:
                raise ValueError(
                    f'{type(self).__name__} with in_channels='
                    f'{self.in_channels} expects at least {num} feature '
                    f'maps, got {len(feats)}')
            return list(feats[:num])
        try:
            return [feats[i] for i in self.in_indices]
        except IndexError:
            raise ValueError(
                f'in_indices={self.in_indices} out of range for '
                f'{len(feats)} feature maps') from None

    def forward_attention(self, feats: Union[Tensor, Sequence[Tensor]]
                          ) -> Dict[str, object]:
        """Heatmaps with the attended features and attention maps.

        Args:
            feats (Tensor | Sequence[Tensor]): Feature maps; the selected
                ones are ``[B, C_r, h_r, w_r]``, the main one ``[B, C_0, H,
                W]``.

        Returns:
            dict: ``'heatmaps'`` ``[B, K, H, W]``; ``'features'`` the
            holistically attended main features ``[B, C_0, H, W]``;
            ``'holistic'`` ``[B, 1, H, W]``; ``'levels'`` list of ``[B, 1,
            h_r, w_r]``; ``'parts'`` ``[B, K, H, W]`` or ``None``.
        """
        feats = self._select(feats)
        for x, c in zip(feats, self.in_channels):
            if x.dim() != 4 or x.shape[1] != c:
                raise ValueError(
                    f'expected features of in_channels={self.in_channels}, '
                    f'got shapes {[tuple(f.shape) for f in feats]}')
        main = feats[0]
        size = main.shape[-2:]
        levels = [att(x) for att, x in zip(self.holistic, feats)]
        # added, not torch.sum: autocast runs sum in float32, which would
        # turn the attended features and the heatmaps float32
        holistic = functools.reduce(torch.add, [
            q if q.shape[-2:] == size else interpolate(
                q, size, mode='bilinear', align_corners=False)
            for q in levels
        ])
        if self.combine == 'mean':
            holistic = holistic / len(levels)
        attended = main * holistic

        if self.parts is None:
            parts = None
            heatmaps = self.predictor(attended)
        else:
            heatmaps, parts = self.forward_parts(attended)

        if self.keep_attention_maps and not self.training:
            self.attention_maps = dict(
                holistic=holistic.detach(),
                levels=[q.detach() for q in levels],
                parts=None if parts is None else parts.detach())
        return dict(
            heatmaps=heatmaps,
            features=attended,
            holistic=holistic,
            levels=levels,
            parts=parts)

    def forward_parts(self, attended: Tensor) -> Tuple[Tensor, Tensor]:
        """Part attention, all keypoints at once (hierarchical mode).

        Args:
            attended (Tensor): Holistically attended features ``h``,
                ``[B, C_0, H, W]``.

        Returns:
            tuple[Tensor, Tensor]: Heatmaps ``[B, K, H, W]`` (keypoint
            ``k`` from ``h * Q_k``) and part maps ``Q`` ``[B, K, H, W]``.
        """
        if self.parts is None:
            raise ValueError(
                f'{type(self).__name__} was built with '
                f'part_attention=False')
        parts = self.parts(attended)
        # w_k . (h * Q_k) + b_k == Q_k * (w_k . h) + b_k
        heatmaps = self.predictor(attended)
        # in the predictor's output dtype (the float32 bias would promote
        # autocast's half-precision heatmaps)
        bias = self.predictor.bias.view(1, -1, 1, 1).to(heatmaps.dtype)
        return parts * (heatmaps - bias) + bias, parts

    def forward(self, feats: Union[Tensor, Sequence[Tensor]]
                ) -> Tuple[Tensor]:
        """Attended heatmaps, as a one-stage tuple for the head.

        Args:
            feats (Tensor | Sequence[Tensor]): Backbone feature maps (see
                :meth:`forward_attention`).

        Returns:
            tuple[Tensor]: ``(heatmaps, )`` with heatmaps ``[B, K, H, W]``
            at the main map's resolution, which
            ``MultiStageHeatmapHead(heatmap_inputs=True, num_stages=1)``
            consumes.
        """
        return (self.forward_attention(feats)['heatmaps'], )

    def extra_repr(self) -> str:
        return (f'in_channels={self.in_channels}, '
                f'num_keypoints={self.num_keypoints}, '
                f'part_attention={self.part_attention}, '
                f'in_indices={self.in_indices}, combine={self.combine!r}')
