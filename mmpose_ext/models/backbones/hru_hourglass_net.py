"""Stacked hourglass network of Hourglass Residual Units, with attention.

The backbone of Chu et al., "Multi-Context Attention for Human Pose
Estimation", CVPR 2017 (https://arxiv.org/abs/1702.07432): Newell et al.'s
stacked hourglass (https://arxiv.org/abs/1603.06937) with Hourglass Residual
Units on the high-resolution skip branches and, optionally, a multi-context
attention module between stacks. Layout of the released implementation:
``bearpaw/pose-attention`` (``train/models/hg-attention.lua``).
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple

from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpose.models.backbones.base_backbone import BaseBackbone
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptConfigType, OptMultiConfig
from torch import Tensor, nn

from ...utils import check_int_sequence, check_positive_int, is_int
from ..utils import MaxPool2d, interpolate

__all__ = ['HRUHourglassNet']

#: Keys of ``attention`` the backbone fills in for every stack.
_ATTENTION_OWN_KEYS = ('in_channels', 'num_keypoints', 'part_attention')


def _build_block(cfg: ConfigType, in_channels: int,
                 out_channels: int) -> nn.Module:
    """Build a size-preserving block ``in_channels -> out_channels``."""
    cfg = copy.deepcopy(dict(cfg))
    cfg.update(in_channels=in_channels, out_channels=out_channels)
    return MODELS.build(cfg)


class HRUHourglassModule(BaseModule):
    """One hourglass of :class:`HRUHourglassNet`, built recursively.

    At a level with ``depth`` poolings below it: the skip branch is
    ``num_modules`` x (one ``block`` then ``num_skip_blocks[0]``
    ``skip_block``); the lower branch max-pools 2x2, applies
    ``num_modules`` ``block``, the next level (or one ``block`` at the
    bottom), one ``block``, and upsamples (nearest) to the skip size; the
    two branches are summed.

    Args:
        depth (int): Number of poolings ``D`` from this level down.
        channels (int): Feature channels ``C``.
        block (dict): Config of the plain block.
        skip_block (dict): Config of the extra skip-branch blocks.
        num_skip_blocks (Sequence[int]): ``skip_block`` count per level,
            this level first (``D`` entries).
        num_modules (int): Repetitions of the skip and first lower
            branch units. Defaults to ``1``.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to ``None``.
    """

    def __init__(self,
                 depth: int,
                 channels: int,
                 block: ConfigType,
                 skip_block: ConfigType,
                 num_skip_blocks: Sequence[int],
                 num_modules: int = 1,
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        self.depth = depth
        c = channels
        self.skip_branch = nn.Sequential(*[
            _build_block(block if j == 0 else skip_block, c, c)
            for _ in range(num_modules)
            for j in range(1 + num_skip_blocks[0])
        ])
        self.pool = MaxPool2d(kernel_size=2, stride=2)
        self.down_branch = nn.Sequential(
            *[_build_block(block, c, c) for _ in range(num_modules)])
        if depth > 1:
            self.inner = HRUHourglassModule(depth - 1, c, block, skip_block,
                                            num_skip_blocks[1:], num_modules)
        else:
            self.inner = _build_block(block, c, c)
        self.up_branch = _build_block(block, c, c)

    def forward(self, x: Tensor) -> List[Tensor]:
        """Outputs of the up-sampling path, finest first.

        Args:
            x (Tensor): Input ``[B, C, H, W]``.

        Returns:
            list[Tensor]: ``D`` maps ``[B, C, H / 2^d, W / 2^d]`` (floor
            division per pooling) for ``d = 0 .. D - 1``; the first is the
            hourglass output.
        """
        skip = self.skip_branch(x)
        low = self.down_branch(self.pool(x))
        if self.depth > 1:
            inner = self.inner(low)
            low = inner[0]
        else:
            inner = []
            low = self.inner(low)
        low = interpolate(self.up_branch(low), skip.shape[-2:])
        return [skip + low, *inner]


@MODELS.register_module()
class HRUHourglassNet(BaseBackbone):
    """Stacked hourglass of Hourglass Residual Units with optional attention.

    The network of Chu et al. (https://arxiv.org/abs/1702.07432), in the
    layout of its released implementation by default:

    - **Stem**: 7x7 conv (``stem_stride``; 1 in the released code) +
      BN-ReLU, then ``block`` residuals of the widths in
      ``stem_block_channels`` with a 2x2 max-pool between groups, and a
      last residual to ``feat_channels``. Default: 64 | pool | 64, 128 |
      pool | 128, 128, 256, i.e. a 64x64 output for a 256x256 input.
    - **Hourglasses** (:class:`HRUHourglassModule`) with ``num_poolings``
      poolings. The skip branch at the level with ``d`` poolings below it
      has one ``block`` then ``num_skip_blocks`` ``skip_block``; the
      released rule is ``max(d - 2, 0)``: with 4 poolings, one residual
      and two HRUs at 64x64, one residual and one HRU at 32x32, one
      residual at 16x16 and 8x8. Everything else is ``block``.
    - **Per stack**: two 1x1 conv-BN-ReLU (``f1``, ``f2``) on the
      hourglass output, then either a 1x1 conv ``f2 -> K`` heatmaps
      (initialised with std 0.001 and zero bias, as MMPose's heatmap
      heads initialise their last conv) or,
      when ``attention`` is set, the attention module on ``(f2, u_1, ...,
      u_{P-1})`` (``u_d``: the hourglass up-sampling path at 1/2^d of the
      output size), which returns the attention-refined heatmaps.
    - **Chaining**: ``x_{s+1} = x_s + conv1x1(heatmaps_s) +
      conv1x1-BN-ReLU(f1_s)`` (the released code's ``lin`` on the first
      1x1 features), so attention-refined heatmaps feed the next stack.

    Block types are swapped through config: ``block`` and ``skip_block``
    are registry configs built with ``in_channels`` and ``out_channels``
    (equal inside hourglasses); any registered module with these keywords
    and a size-preserving forward ``[B, in, H, W] -> [B, out, H, W]`` fits,
    e.g. ``skip_block=dict(type='SoftGatedBlock')``. Other arguments go in
    the config dicts (the backbone's ``norm_cfg`` reaches only the default
    blocks).

    Attention: ``attention=dict(type='MultiContextAttention', ...)`` builds
    one module per stack, filling in ``in_channels``, ``num_keypoints`` and
    ``part_attention`` (``True`` for ``part_attention_stacks``: by default
    the upper half, the paper's stacks 5-8 of 8). Its ``in_indices``
    selects the resolutions (``0`` = the stack output, ``d`` = 1/2^d of it,
    the first must be ``0``); by default all ``num_poolings`` of them as in
    the paper; ``in_indices=(0, )`` is the released code. After a forward,
    :attr:`attention_maps` lists each stack's maps.

    Output: a tuple of ``num_stacks`` tensors, ``out[s]`` the heatmaps
    ``[B, K, H / r, W / r]`` of stack ``s`` (first to last; attended ones
    with attention), ``r = stem_stride * 2 ** (len(stem_block_channels) -
    1)``: ``[B, K, 64, 64]`` for a 256x256 input by default (inputs
    divisible by ``r * 2 ** num_poolings`` keep every level exact; others
    are handled by resizing). This is what
    ``MultiStageHeatmapHead(heatmap_inputs=True, num_stages=num_stacks)``
    consumes; set the codec's ``heatmap_size`` to ``(W / r, H / r)``.

    Args:
        num_keypoints (int): Number of heatmaps ``K`` per stack. Defaults
            to ``17``.
        num_stacks (int): Number of hourglasses ``S``. Defaults to ``8``.
        in_channels (int): Image channels. Defaults to ``3``.
        feat_channels (int): Hourglass width ``C``. Defaults to ``256``.
        num_poolings (int): Poolings per hourglass ``P``. Defaults to
            ``4``.
        stem_stride (int): Stride of the 7x7 stem conv. Defaults to ``1``.
        stem_block_channels (Sequence[Sequence[int]]): Widths of the stem
            residuals per resolution, a 2x2 max-pool between groups; the
            stem conv has the first width. Defaults to ``((64, ), (64,
            128), (128, 128))``.
        block (dict, optional): Plain block config. Defaults to ``None``:
            ``dict(type='PreActBottleneck', norm_cfg=norm_cfg)``.
        skip_block (dict, optional): Config of the extra skip-branch
            blocks. Defaults to ``None``: ``dict(type=
            'HourglassResidualUnit', norm_cfg=norm_cfg)``.
        num_skip_blocks (Sequence[int], optional): ``skip_block`` count per
            level, highest resolution first (``P`` entries). Defaults to
            ``None``: the released ``max(d - 2, 0)``.
        num_modules (int): Repetitions of each skip-branch sequence and
            first lower-branch block (the released code used 8 /
            ``num_stacks`` to keep the depth constant). Defaults to ``1``.
        attention (dict, optional): Attention module config, e.g.
            ``dict(type='MultiContextAttention', kernel_size=11)``.
            Defaults to ``None``: plain 1x1 heatmap convs.
        part_attention_stacks (Sequence[int], optional): 0-based stacks
            whose attention adds part attention. Defaults to ``None``: the
            upper half, ``range(S // 2, S)``.
        last_stack_channels (int, optional): Width of the last stack's 1x1
            features and attention (the released code used ``2 * C``).
            Defaults to ``None``: ``feat_channels``.
        norm_cfg (dict, optional): Norm config of the stem and 1x1 convs
            and of the default blocks. Defaults to ``None``:
            ``dict(type='BN')``.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to ``None``.

    Example:
        >>> net = HRUHourglassNet(num_keypoints=17, num_stacks=2,
        ...                       attention=dict(
        ...                           type='MultiContextAttention'))
        >>> [tuple(o.shape) for o in net(torch.rand(1, 3, 256, 256))]
        [(1, 17, 64, 64), (1, 17, 64, 64)]
    """

    def __init__(self,
                 num_keypoints: int = 17,
                 num_stacks: int = 8,
                 in_channels: int = 3,
                 feat_channels: int = 256,
                 num_poolings: int = 4,
                 stem_stride: int = 1,
                 stem_block_channels: Sequence[Sequence[int]] = (
                     (64, ), (64, 128), (128, 128)),
                 block: OptConfigType = None,
                 skip_block: OptConfigType = None,
                 num_skip_blocks: Optional[Sequence[int]] = None,
                 num_modules: int = 1,
                 attention: OptConfigType = None,
                 part_attention_stacks: Optional[Sequence[int]] = None,
                 last_stack_channels: Optional[int] = None,
                 norm_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        for name, value in (('num_keypoints', num_keypoints),
                            ('num_stacks', num_stacks),
                            ('in_channels', in_channels),
                            ('feat_channels', feat_channels),
                            ('num_poolings', num_poolings),
                            ('stem_stride', stem_stride),
                            ('num_modules', num_modules)):
            check_positive_int(name, value)
        stem_block_channels = [list(g) for g in stem_block_channels]
        if not stem_block_channels:
            raise ValueError('stem_block_channels must be non-empty groups '
                             'of positive ints, got []')
        for i, group in enumerate(stem_block_channels):
            check_int_sequence(f'stem_block_channels[{i}]', group)
        if num_skip_blocks is None:
            num_skip_blocks = [
                max(d - 2, 0) for d in range(num_poolings, 0, -1)
            ]
        num_skip_blocks = list(num_skip_blocks)
        if len(num_skip_blocks) != num_poolings or not all(
                is_int(n) and n >= 0 for n in num_skip_blocks):
            raise ValueError(
                f'num_skip_blocks={num_skip_blocks!r} must give a '
                f'non-negative int per level (num_poolings={num_poolings})')
        if part_attention_stacks is None:
            part_attention_stacks = range(num_stacks // 2, num_stacks)
        part_attention_stacks = sorted(set(part_attention_stacks))
        if any(not 0 <= s < num_stacks for s in part_attention_stacks):
            raise ValueError(
                f'part_attention_stacks={part_attention_stacks!r} must be '
                f'stack indices in [0, {num_stacks})')
        last_stack_channels = last_stack_channels or feat_channels

        self.num_keypoints = num_keypoints
        self.num_stacks = num_stacks
        self.feat_channels = feat_channels
        self.num_poolings = num_poolings
        self.num_skip_blocks = num_skip_blocks
        self.part_attention_stacks = part_attention_stacks
        self.norm_cfg = dict(norm_cfg or dict(type='BN'))
        if block is None:
            block = dict(type='PreActBottleneck', norm_cfg=self.norm_cfg)
        if skip_block is None:
            skip_block = dict(
                type='HourglassResidualUnit', norm_cfg=self.norm_cfg)
        self.block_cfg = block
        self.skip_block_cfg = skip_block
        self.num_modules = num_modules

        self.stem = self._make_stem(in_channels, stem_stride,
                                    stem_block_channels, feat_channels, block)
        self.hourglasses = nn.ModuleList(
            self._make_hourglass() for _ in range(num_stacks))
        widths = [feat_channels] * (num_stacks - 1) + [last_stack_channels]
        self.feature_convs = nn.ModuleList(
            nn.Sequential(
                self._conv1x1(feat_channels, w), self._conv1x1(w, w))
            for w in widths)
        if attention is None:
            self.attentions = None
            self.heatmap_convs = nn.ModuleList(
                nn.Conv2d(w, num_keypoints, 1) for w in widths)
            # As MMPose's heatmap heads initialise their last conv: with
            # PyTorch's default init the outputs start far from the
            # near-zero targets and training stalls on predicting zero
            # (docs/mca_hourglass.md).
            for conv in self.heatmap_convs:
                nn.init.normal_(conv.weight, std=0.001)
                nn.init.zeros_(conv.bias)
        else:
            self.attentions = nn.ModuleList(
                self._make_attention(attention, s, w)
                for s, w in enumerate(widths))
            self.heatmap_convs = None
        self.heatmap_remaps = nn.ModuleList(
            nn.Conv2d(num_keypoints, feat_channels, 1)
            for _ in range(num_stacks - 1))
        self.feature_remaps = nn.ModuleList(
            self._conv1x1(feat_channels, feat_channels)
            for _ in range(num_stacks - 1))

    def _conv1x1(self, in_channels: int, out_channels: int) -> ConvModule:
        """The released code's ``lin``: 1x1 conv -> BN -> ReLU."""
        return ConvModule(
            in_channels, out_channels, 1, norm_cfg=self.norm_cfg)

    def _make_stem(self, in_channels: int, stride: int,
                   groups: List[List[int]], out_channels: int,
                   block: ConfigType) -> nn.Sequential:
        """7x7 conv, then residual groups separated by 2x2 max-pools."""
        layers = [
            ConvModule(
                in_channels,
                groups[0][0],
                7,
                stride=stride,
                padding=3,
                norm_cfg=self.norm_cfg)
        ]
        c = groups[0][0]
        for i, group in enumerate(groups):
            if i > 0:
                layers.append(MaxPool2d(kernel_size=2, stride=2))
            for width in group:
                layers.append(_build_block(block, c, width))
                c = width
        layers.append(_build_block(block, c, out_channels))
        return nn.Sequential(*layers)

    def _make_hourglass(self) -> nn.Module:
        """One hourglass: a module whose forward returns the up-sampling
        path, finest (the hourglass output) first."""
        return HRUHourglassModule(self.num_poolings, self.feat_channels,
                                  self.block_cfg, self.skip_block_cfg,
                                  self.num_skip_blocks, self.num_modules)

    def _make_attention(self, attention: ConfigType, stack: int,
                        channels: int) -> nn.Module:
        """The attention module of one stack."""
        cfg = copy.deepcopy(dict(attention))
        for key in _ATTENTION_OWN_KEYS:
            if key in cfg:
                raise ValueError(
                    f'attention config must not set {key!r}: '
                    f'{type(self).__name__} sets it per stack (use '
                    f'part_attention_stacks to choose the hierarchical '
                    f'stacks)')
        num_levels = self.num_poolings
        in_indices = cfg.get('in_indices')
        if in_indices is None:
            in_indices = range(num_levels)
        elif is_int(in_indices):
            in_indices = (in_indices, )
        if any(not -num_levels <= i < num_levels for i in in_indices):
            raise ValueError(
                f'attention in_indices={tuple(in_indices)!r} out of range '
                f'for {num_levels} resolutions (num_poolings='
                f'{num_levels})')
        in_indices = tuple(i % num_levels for i in in_indices)
        if not in_indices or in_indices[0] != 0:
            raise ValueError(
                f'attention in_indices={in_indices!r} must start with 0, '
                f'the stack output resolution the heatmaps are predicted '
                f'at')
        level_channels = [channels] + [self.feat_channels] * (num_levels - 1)
        cfg.update(
            in_indices=in_indices,
            in_channels=[level_channels[i] for i in in_indices],
            num_keypoints=self.num_keypoints,
            part_attention=stack in self.part_attention_stacks)
        return MODELS.build(cfg)

    def train(self, mode: bool = True) -> 'HRUHourglassNet':
        """Set train mode and return ``self`` (``BaseBackbone.train``
        returns ``None``, which breaks ``net.eval()`` chaining)."""
        super().train(mode)
        return self

    @property
    def attention_maps(self) -> Optional[List[Optional[Dict]]]:
        """Each stack's attention maps of the last forward (see
        ``MultiContextAttention.attention_maps``); ``None`` without
        attention."""
        if self.attentions is None:
            return None
        return [getattr(a, 'attention_maps', None) for a in self.attentions]

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Heatmaps of every stack.

        Args:
            x (Tensor): Images ``[B, 3, H, W]``.

        Returns:
            tuple[Tensor]: ``num_stacks`` heatmaps ``[B, K, H / r, W /
            r]``, first stack first (see the class docstring).
        """
        inter = self.stem(x)
        outs = []
        for s in range(self.num_stacks):
            levels = self.hourglasses[s](inter)
            f1 = self.feature_convs[s][0](levels[0])
            f2 = self.feature_convs[s][1](f1)
            if self.attentions is None:
                heatmaps = self.heatmap_convs[s](f2)
            else:
                heatmaps = self.attentions[s]((f2, *levels[1:]))[0]
            outs.append(heatmaps)
            if s < self.num_stacks - 1:
                inter = inter + self.heatmap_remaps[s](heatmaps) + \
                    self.feature_remaps[s](f1)
        return tuple(outs)
