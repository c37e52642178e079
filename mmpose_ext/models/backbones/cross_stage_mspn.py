"""Multi-stage pose network with cross-stage aggregation (MSPN).

Li et al., "Rethinking on Multi-Stage Networks for Human Pose Estimation"
(https://arxiv.org/abs/1901.00148); original code:
https://github.com/megvii-detection/MSPN. Each stage is a ResNet
down-sampling path and a 4-unit up-sampling path (as in CPN's GlobalNet,
https://arxiv.org/abs/1711.07319); consecutive stages are connected by
:class:`~mmpose_ext.models.layers.CrossStageAggregation`.

The architecture is MMPose's ``MSPN`` + ``MSPNHead`` (without PRM) module
for module, so :func:`convert_mmpose_mspn_state_dict` maps their weights
onto this backbone one to one.
"""
import copy
import re
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

from mmcv.cnn import ConvModule
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from mmengine.runner import CheckpointLoader, load_state_dict
from mmpose.models.backbones.base_backbone import BaseBackbone
from mmpose.models.backbones.resnet import ResLayer, ResNet, get_expansion
from mmpose.registry import MODELS
from mmpose.utils.typing import OptConfigType, OptMultiConfig
from torch import Tensor, nn

from ...utils import check_int_sequence, check_positive_int
from ..layers import CrossStageAggregation
from ..utils import MaxPool2d, interpolate

__all__ = [
    'CrossStageMSPN', 'convert_mmpose_mspn_state_dict', 'mspn_key_rules'
]

NUM_UNITS = 4  # one up-sampling unit per ResNet layer


class UpsampleUnit(BaseModule):
    """One unit of MSPN's up-sampling path.

    ``relu(BN(conv1x1(skip)) + upsample(BN(conv1x1(prev))))``, the second
    term only when there is a coarser previous unit; the upsampling is
    bilinear with ``align_corners=True`` as in the authors' code.

    The 1x1 conv + BN on ``prev`` runs before the upsampling, where the
    authors' code and MMPose's ``MSPN`` run it after: the same map in
    inference at a quarter of the cost, with the same weights
    (``docs/mspn.md``).

    Args:
        in_channels (int): Channels of the skip (down-sampling) feature.
        unit_channels (int): Output channels.
        has_prev (bool): Whether a coarser unit feeds this one.
        norm_cfg (dict): Config of the norm layers.
    """

    def __init__(self, in_channels: int, unit_channels: int, has_prev: bool,
                 norm_cfg: dict):
        super().__init__()
        self.in_skip = ConvModule(
            in_channels, unit_channels, 1, norm_cfg=norm_cfg, act_cfg=None)
        self.up_conv = ConvModule(
            unit_channels, unit_channels, 1, norm_cfg=norm_cfg,
            act_cfg=None) if has_prev else None
        self.relu = nn.ReLU(inplace=True)

    def forward(self, skip: Tensor, prev: Optional[Tensor]) -> Tensor:
        """``[B, C_in, h, w]`` skip and ``[B, C_unit, h', w']`` coarser unit
        output (or ``None``) -> ``[B, C_unit, h, w]``."""
        out = self.in_skip(skip)
        if self.up_conv is not None:
            # conv + BN at the coarse size, then upsampling (class doc)
            out += interpolate(
                self.up_conv(prev), skip.shape[-2:], mode='bilinear',
                align_corners=True)
        return self.relu(out)


class MSPNStage(BaseModule):
    """One MSPN stage: ResNet down path, up path, optional predictors.

    Args:
        block (type): ResNet block (MMPose's ``BasicBlock`` or
            ``Bottleneck``).
        stage_blocks (Sequence[int]): Blocks of each ResNet layer.
        in_channels (int): Input channels (the stem's width).
        base_channels (int): Width of the first ResNet layer before
            expansion.
        unit_channels (int): Channels of the up-sampling units.
        num_keypoints (int, optional): If given, each unit is followed by
            MSPN's heatmap predictor (1x1 conv + BN + ReLU, 3x3 conv to
            ``num_keypoints`` + BN).
        norm_cfg (dict): Config of the norm layers.
    """

    def __init__(self, block: type, stage_blocks: Sequence[int],
                 in_channels: int, base_channels: int, unit_channels: int,
                 num_keypoints: Optional[int], norm_cfg: dict):
        super().__init__()
        expansion = get_expansion(block)
        self.down = nn.ModuleList()
        self.down_channels = []
        for i, num_blocks in enumerate(stage_blocks):
            out_channels = base_channels * 2**i * expansion
            self.down.append(
                ResLayer(block, num_blocks, in_channels, out_channels,
                         stride=1 if i == 0 else 2, norm_cfg=norm_cfg))
            self.down_channels.append(out_channels)
            in_channels = out_channels
        # coarse to fine: unit j reads ResNet layer (3 - j)
        self.up = nn.ModuleList(
            UpsampleUnit(c, unit_channels, j > 0, norm_cfg)
            for j, c in enumerate(reversed(self.down_channels)))
        self.predictors = None
        if num_keypoints is not None:
            self.predictors = nn.ModuleList(
                self._make_predictor(unit_channels, num_keypoints, norm_cfg)
                for _ in self.up)

    @staticmethod
    def _make_predictor(unit_channels: int, num_keypoints: int,
                        norm_cfg: dict) -> nn.Sequential:
        """MSPN's per-unit heatmap predictor (MMPose's ``PredictHeatmap``
        without its resizing and PRM)."""
        return nn.Sequential(
            ConvModule(unit_channels, unit_channels, 1, norm_cfg=norm_cfg),
            ConvModule(unit_channels, num_keypoints, 3, padding=1,
                       norm_cfg=norm_cfg, act_cfg=None))

    def forward(self, x: Tensor, skips: Optional[Sequence[Tensor]] = None
                ) -> Tuple[List[Tensor], List[Tensor], List[Tensor]]:
        """Run the stage.

        Args:
            x (Tensor): Input ``[B, C_stem, H/4, W/4]``.
            skips (Sequence[Tensor], optional): Cross-stage features, finest
                first, added to the output of each ResNet layer.

        Returns:
            tuple: ``down`` (ResNet layer outputs after the skips, finest
            first), ``up`` (unit features ``[B, unit_channels, h_j, w_j]``,
            coarse to fine) and ``outs`` (the predictors' heatmaps
            ``[B, K, h_j, w_j]``, coarse to fine, or ``up`` without
            predictors).
        """
        down = []
        for i, layer in enumerate(self.down):
            x = layer(x)
            if skips is not None:
                x = x + skips[i]
            down.append(x)
        up = []
        prev = None
        for unit, skip in zip(self.up, reversed(down)):
            prev = unit(skip, prev)
            up.append(prev)
        if self.predictors is None:
            return down, up, up
        return down, up, [p(u) for p, u in zip(self.predictors, up)]


@MODELS.register_module()
class CrossStageMSPN(BaseBackbone):
    """Multi-stage pose network (MSPN) with cross-stage aggregation.

    A ResNet stem (7x7 conv + BN + ReLU, 3x3 max pool) followed by
    ``num_stages`` stages. Each stage is a ResNet down-sampling path
    (``layer1`` to ``layer4`` of MMPose's ``ResNet`` of the given depth)
    and an up-sampling path of 4 units with ``unit_channels`` channels,
    coarse to fine: unit ``j`` adds 1x1 conv + BN of ResNet layer
    ``4 - j``'s output and unit ``j - 1`` through 1x1 conv + BN, upsampled
    bilinearly (conv before upsampling: see ``UpsampleUnit``), then applies
    ReLU. Between two stages a
    :class:`~mmpose_ext.models.layers.CrossStageAggregation` adds the
    previous stage's down- and up-sampling features to the next stage's
    ResNet layer outputs and turns its finest unit into the next stage's
    input (1x1 conv to ``stem_channels``).

    Outputs are the unit features of every stage, or, with
    ``num_keypoints``, heatmaps from MSPN's per-unit predictor (1x1 conv +
    BN + ReLU, then 3x3 conv + BN to ``num_keypoints`` channels), at each
    unit's own resolution: what ``MultiStageHeatmapHead`` consumes (with
    ``heatmap_inputs=True`` for heatmaps). With ``num_keypoints`` set the
    parameters are exactly those of MMPose's ``MSPN`` + ``MSPNHead``
    (``use_prm=False``) at the same settings, see
    :func:`convert_mmpose_mspn_state_dict`; without it, those of ``MSPN``.

    ``init_cfg=dict(type='Pretrained', checkpoint=...)`` loads an ImageNet
    ResNet checkpoint with torchvision's key names (e.g.
    ``'torchvision://resnet50'``) into the stem and into the down-sampling
    path of every stage, as MMPose's ``MSPN`` does; the other layers get
    the default initialization.

    Args:
        depth (int): ResNet depth of each stage's down-sampling path, one
            of ``18, 34, 50, 101, 152``. Defaults to ``50``.
        num_stages (int): Number of stages. Defaults to ``4``.
        stage_blocks (Sequence[int], optional): Blocks of each of the 4
            ResNet layers, overriding those of ``depth`` (whose block type
            is kept), like ``num_blocks`` of MMPose's ``MSPN``. Defaults to
            ``None``.
        unit_channels (int): Channels of the up-sampling units. Defaults to
            ``256``.
        stem_channels (int): Channels of the stem and of every stage's
            input. Defaults to ``64``.
        base_channels (int): Width of ResNet ``layer1`` before the block
            expansion. Defaults to ``64``.
        num_keypoints (int, optional): Number of heatmaps of MSPN's
            per-unit predictors; ``None`` outputs the unit features.
            Defaults to ``None``.
        cross_stage_aggregation (bool): Whether each stage adds the
            previous stage's down- and up-sampling features to its ResNet
            layers; ``False`` passes only the previous stage's finest unit
            on (as the next stage's input), the baseline of the paper's
            ablation. Defaults to ``True``.
        norm_cfg (dict, optional): Config of the norm layers. Defaults to
            ``None``: ``dict(type='BN')``.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to ``None``: Kaiming for convs, 1 for norm weights.

    Example:
        >>> model = CrossStageMSPN(depth=18, num_stages=2)
        >>> outs = model(torch.rand(1, 3, 64, 48))
        >>> [[tuple(u.shape) for u in stage] for stage in outs][-1]
        [(1, 256, 2, 2), (1, 256, 4, 3), (1, 256, 8, 6), (1, 256, 16, 12)]
    """

    def __init__(self,
                 depth: int = 50,
                 num_stages: int = 4,
                 stage_blocks: Optional[Sequence[int]] = None,
                 unit_channels: int = 256,
                 stem_channels: int = 64,
                 base_channels: int = 64,
                 num_keypoints: Optional[int] = None,
                 cross_stage_aggregation: bool = True,
                 norm_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None):
        if init_cfg is None:
            init_cfg = self.default_init_cfg
        super().__init__(init_cfg=init_cfg)
        if not isinstance(cross_stage_aggregation, bool):
            raise ValueError('cross_stage_aggregation must be a bool, got '
                             f'{cross_stage_aggregation!r}')
        if depth not in ResNet.arch_settings:
            raise ValueError(f'depth must be one of '
                             f'{sorted(ResNet.arch_settings)}, got {depth!r}')
        for name, value in (('num_stages', num_stages),
                            ('unit_channels', unit_channels),
                            ('stem_channels', stem_channels),
                            ('base_channels', base_channels)):
            check_positive_int(name, value)
        if num_keypoints is not None:
            check_positive_int('num_keypoints', num_keypoints)
        self.depth = depth
        self.num_stages = num_stages
        self.num_units = NUM_UNITS
        self.unit_channels = unit_channels
        self.num_keypoints = num_keypoints
        block, depth_blocks = ResNet.arch_settings[depth]
        if stage_blocks is None:
            stage_blocks = depth_blocks
        self.stage_blocks = check_int_sequence('stage_blocks', stage_blocks,
                                               length=NUM_UNITS)
        norm_cfg = copy.deepcopy(norm_cfg or dict(type='BN'))

        self.stem = ConvModule(
            3, stem_channels, 7, stride=2, padding=3, norm_cfg=norm_cfg,
            inplace=True)
        self.maxpool = MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.stages = nn.ModuleList(
            MSPNStage(block, stage_blocks, stem_channels, base_channels,
                      unit_channels, num_keypoints, norm_cfg)
            for _ in range(num_stages))
        self.aggregations = nn.ModuleList(
            CrossStageAggregation(self.stages[0].down_channels,
                                  unit_channels, stem_channels,
                                  cross_stage_aggregation, norm_cfg)
            for _ in range(num_stages - 1))

    @property
    def default_init_cfg(self) -> List[dict]:
        return [
            dict(type='Kaiming', layer=['Conv2d']),
            dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
        ]

    def forward(self, x: Tensor) -> Tuple[Tuple[Tensor, ...], ...]:
        """Per-stage, per-unit outputs.

        Args:
            x (Tensor): Images ``[B, 3, H, W]``.

        Returns:
            tuple[tuple[Tensor]]: ``out[s][j]`` for stage ``s`` and unit
            ``j`` (coarse to fine), ``[B, C, H / 2**(5 - j), W / 2**(5 -
            j)]`` (rounded up) with ``C = unit_channels``, or
            ``num_keypoints`` with predictors.
        """
        x = self.maxpool(self.stem(x))
        skips = None
        outs = []
        for s, stage in enumerate(self.stages):
            down, up, stage_outs = stage(x, skips)
            outs.append(tuple(stage_outs))
            if s < len(self.aggregations):
                skips, x = self.aggregations[s](down, up[::-1])
        return tuple(outs)

    def train(self, mode: bool = True) -> 'CrossStageMSPN':
        """Set the training mode; returns ``self`` like ``nn.Module.train``
        (MMPose's ``BaseBackbone.train`` returns ``None``)."""
        super().train(mode)
        return self

    def init_weights(self) -> None:
        """Default initialization, then ImageNet ResNet weights if
        ``init_cfg`` is ``dict(type='Pretrained', checkpoint=...)``."""
        init_cfg = self.init_cfg
        if not (isinstance(init_cfg, dict)
                and init_cfg.get('type') == 'Pretrained'):
            super().init_weights()
            return
        self.init_cfg = self.default_init_cfg
        try:
            super().init_weights()
        finally:
            self.init_cfg = init_cfg
        checkpoint = CheckpointLoader.load_checkpoint(
            init_cfg['checkpoint'], map_location='cpu')
        state_dict = checkpoint.get('state_dict', checkpoint)
        logger = MMLogger.get_current_instance()
        stem, down = self._split_resnet_state_dict(state_dict)
        load_state_dict(self.stem, stem, strict=True, logger=logger)
        for stage in self.stages:
            load_state_dict(stage.down, down, strict=True, logger=logger)
        logger.info(f'{type(self).__name__}: loaded the ResNet weights of '
                    f'{init_cfg["checkpoint"]} into the stem and '
                    f'{self.num_stages} down-sampling paths')

    def _split_resnet_state_dict(
            self, state_dict: Dict[str, Tensor]
    ) -> Tuple[Dict[str, Tensor], Dict[str, Tensor]]:
        """Torchvision-style ResNet keys -> stem and down-path keys; blocks
        beyond ``stage_blocks`` are dropped."""
        stem, down = OrderedDict(), OrderedDict()
        for key, value in state_dict.items():
            key = re.sub(r'^(module\.)?(backbone\.)?', '', key)
            layer = re.match(r'layer([1-4])\.(\d+)\.', key)
            if key.startswith('conv1.'):
                stem['conv.' + key[6:]] = value
            elif key.startswith('bn1.'):
                stem['bn.' + key[4:]] = value
            elif layer:
                i, block = int(layer[1]) - 1, int(layer[2])
                if block < self.stage_blocks[i]:
                    down[f'{i}.{key[len("layer1."):]}'] = value
        return stem, down


# MMPose MSPN / MSPNHead key patterns -> CrossStageMSPN keys, each with a
# readable form (S stage, L ResNet layer 1-4, B block, U unit 1-4 fine to
# coarse in MMPose, J unit 0-3 coarse to fine here, P predictor)
_MSPN_KEY_MAP = (
    (r'top\.top\.0\.', 'stem.', ('top.top.0.*', 'stem.*')),
    (r'multi_stage_mspn\.(\d+)\.downsample\.layer(\d)\.(\d+)\.downsample\.'
     r'conv\.', lambda m: f'stages.{m[1]}.down.{int(m[2]) - 1}.{m[3]}.'
     'downsample.0.',
     ('multi_stage_mspn.S.downsample.layerL.B.downsample.conv.*',
      'stages.S.down.(L-1).B.downsample.0.*')),
    (r'multi_stage_mspn\.(\d+)\.downsample\.layer(\d)\.(\d+)\.downsample\.'
     r'bn\.', lambda m: f'stages.{m[1]}.down.{int(m[2]) - 1}.{m[3]}.'
     'downsample.1.',
     ('multi_stage_mspn.S.downsample.layerL.B.downsample.bn.*',
      'stages.S.down.(L-1).B.downsample.1.*')),
    (r'multi_stage_mspn\.(\d+)\.downsample\.layer(\d)\.',
     lambda m: f'stages.{m[1]}.down.{int(m[2]) - 1}.',
     ('multi_stage_mspn.S.downsample.layerL.*', 'stages.S.down.(L-1).*')),
    (r'multi_stage_mspn\.(\d+)\.upsample\.up(\d)\.(in_skip|up_conv)\.',
     lambda m: f'stages.{m[1]}.up.{int(m[2]) - 1}.{m[3]}.',
     ('multi_stage_mspn.S.upsample.upU.{in_skip,up_conv}.*',
      'stages.S.up.(U-1).{in_skip,up_conv}.*')),
    (r'multi_stage_mspn\.(\d+)\.upsample\.up(\d)\.out_skip1\.',
     lambda m: f'aggregations.{m[1]}.down_convs.{NUM_UNITS - int(m[2])}.',
     ('multi_stage_mspn.S.upsample.upU.out_skip1.*',
      'aggregations.S.down_convs.(4-U).*')),
    (r'multi_stage_mspn\.(\d+)\.upsample\.up(\d)\.out_skip2\.',
     lambda m: f'aggregations.{m[1]}.up_convs.{NUM_UNITS - int(m[2])}.',
     ('multi_stage_mspn.S.upsample.upU.out_skip2.*',
      'aggregations.S.up_convs.(4-U).*')),
    (r'multi_stage_mspn\.(\d+)\.upsample\.up\d\.cross_conv\.',
     lambda m: f'aggregations.{m[1]}.cross_conv.',
     ('multi_stage_mspn.S.upsample.up4.cross_conv.*',
      'aggregations.S.cross_conv.*')),
    (r'predict_layers\.(\d+)\.conv_layers\.',
     lambda m: f'stages.{int(m[1]) // NUM_UNITS}.predictors.'
     f'{int(m[1]) % NUM_UNITS}.',
     ('head.predict_layers.P.conv_layers.*',
      'stages.(P // 4).predictors.(P % 4).*')),
)


def mspn_key_rules() -> List[Tuple[str, str]]:
    """Readable ``(MMPose pattern, CrossStageMSPN pattern)`` of each rule
    of :func:`convert_mmpose_mspn_state_dict`, in the order of the
    ``rules`` indices it returns."""
    return [rule[2] for rule in _MSPN_KEY_MAP]


def convert_mmpose_mspn_state_dict(
        state_dict: Dict[str, Tensor],
        rules: Optional[List[int]] = None) -> 'OrderedDict[str, Tensor]':
    """Map weights of MMPose's ``MSPN`` (+ ``MSPNHead``) onto
    ``CrossStageMSPN``.

    Accepts the state dict of MMPose's ``TopdownPoseEstimator`` (keys
    ``backbone.*`` and ``head.*``; the head's predictors become the
    backbone's, so build ``CrossStageMSPN`` with ``num_keypoints`` and
    ``MultiStageHeatmapHead`` with ``heatmap_inputs=True``) or of ``MSPN``
    alone (no prefix). Only 4-unit models without PRM are supported.

    Args:
        state_dict (dict[str, Tensor]): MMPose's weights.
        rules (list[int], optional): If given, the index (into
            :func:`mspn_key_rules`) of the rule that mapped each key is
            appended to it, in the order of ``state_dict``.

    Returns:
        OrderedDict[str, Tensor]: The same tensors under ``CrossStageMSPN``
        keys, prefixed with ``backbone.`` when the input was a whole model.

    Raises:
        ValueError: naming the first key no rule maps.
    """
    converted = OrderedDict()
    for key, value in state_dict.items():
        prefix, rest = '', key
        if key.startswith(('backbone.', 'head.')):
            prefix, rest = 'backbone.', key.split('.', 1)[1]
        for index, (pattern, repl, _) in enumerate(_MSPN_KEY_MAP):
            new, count = re.subn('^' + pattern, repl, rest)
            if count:
                break
        else:
            raise ValueError(
                f'cannot map {key!r}: not a key of a 4-unit MMPose MSPN / '
                'MSPNHead without PRM')
        converted[prefix + new] = value
        if rules is not None:
            rules.append(index)
    return converted
