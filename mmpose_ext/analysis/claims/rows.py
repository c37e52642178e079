"""The rows of the claims table: arms, seeds, comparisons and margins.

Data only, fixed before the runs: every row names its arms (ordinary
configs under ``configs/claims/<row>/``, which hold the row's epoch count
once, in the row's first config), the seeds every arm is trained with
(eight, :data:`SEEDS`), and per comparison the claim, the paper's own
figures, the margin of its equivalence or non-inferiority test and every
remaining difference between its two arms besides the claim.
"""
from __future__ import annotations

import dataclasses
from typing import Dict, Tuple

__all__ = ['Arm', 'Comparison', 'KINDS', 'ROWS', 'Row', 'SEEDS']

#: The seeds of every arm, fixed before the runs (adding seeds until a
#: comparison turns significant would bias the table).
SEEDS: Tuple[int, ...] = tuple(range(8))
#: ``'gain'``: the first arm has the higher AP; ``'no_loss'``: it is not
#: worse by the margin or more.
KINDS = ('gain', 'no_loss')


@dataclasses.dataclass(frozen=True)
class Arm:
    """One arm of a row: a config trained with every seed of the row.

    Attributes:
        key: Short name used in the records and the comparisons.
        label: What the arm is, for the table.
        config: Config path relative to the repository.
    """

    key: str
    label: str
    config: str


@dataclasses.dataclass(frozen=True)
class Comparison:
    """A claim of the paper: arm ``better`` against arm ``other``.

    Attributes:
        better: Key of the arm the paper finds better (or not worse).
        other: Key of the arm it is compared with.
        claim: The claim in words.
        paper: The paper's own figures for it.
        margin: AP margin, stated before the runs: of the equivalence
            test (TOST, ``|difference| < margin``) of a ``'gain'`` claim,
            of the non-inferiority test of a ``'no_loss'`` claim.
        differences: Every difference between the two arms besides the
            claim (or that there is none).
        kind: ``'gain'`` or ``'no_loss'``. Defaults to ``'gain'``.
    """

    better: str
    other: str
    claim: str
    paper: str
    margin: float
    differences: str
    kind: str = 'gain'

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f'kind must be one of {KINDS}, got '
                             f'{self.kind!r}')
        if not self.margin > 0:
            raise ValueError(f'margin must be positive, got {self.margin!r}')


@dataclasses.dataclass(frozen=True)
class Row:
    """One row of the claims table.

    Attributes:
        name: Command-line name (``make claims ROW=name``).
        title: Paper and claim.
        paper: Citation with link.
        arms: The arms, in table order.
        comparisons: The claims tested between arms.
        note: Anything to know about the row as a whole.
        seeds: The seeds of every arm. Defaults to :data:`SEEDS`.
    """

    name: str
    title: str
    paper: str
    arms: Tuple[Arm, ...]
    comparisons: Tuple[Comparison, ...]
    note: str = ''
    seeds: Tuple[int, ...] = SEEDS

    def __post_init__(self) -> None:
        keys = [arm.key for arm in self.arms]
        if len(set(keys)) != len(keys) or len(keys) < 2:
            raise ValueError(f'row {self.name!r} needs at least 2 arms with '
                             f'distinct keys, got {keys}')
        for comp in self.comparisons:
            for key in (comp.better, comp.other):
                if key not in keys:
                    raise ValueError(f'row {self.name!r}: comparison names '
                                     f'arm {key!r}, not one of {keys}')
        if len(set(self.seeds)) != len(self.seeds) or len(self.seeds) < 2:
            raise ValueError(f'row {self.name!r} needs at least 2 distinct '
                             f'seeds, got {self.seeds}')

    def arm(self, key: str) -> Arm:
        """The arm named ``key``."""
        for arm in self.arms:
            if arm.key == key:
                return arm
        raise KeyError(f'row {self.name!r} has no arm {key!r}')


#: Equivalence margin of every gain claim: 0.01 AP either way.
MARGIN = 0.01
_C = 'configs/claims/'
_MCA = _C + 'mca_attention/mca-hourglass_synthetic-coco-128x96.py'
_NOT_QUOTED = ('a PCKh gain on MPII val (the component analysis table '
               'could not be read offline, in the pages and code searched: '
               'figure not quoted)')
ROWS: Dict[str, Row] = {row.name: row for row in (
    Row('mca_attention',
        'Multi-context attention (Chu et al., CVPR 2017)',
        '[Multi-Context Attention for Human Pose Estimation]'
        '(https://arxiv.org/abs/1702.07432)',
        (Arm('attention', 'HRU hourglass + MCA attention', _MCA),
         Arm('plain', 'same HRU hourglass, no attention',
             _C + 'mca_attention/hru-hourglass_synthetic-coco-128x96.py')),
        (Comparison('attention', 'plain',
                    'attention improves the HRU hourglass', _NOT_QUOTED,
                    MARGIN,
                    'only `model.backbone.attention` (`None` in the plain '
                    'arm: 1x1 heatmap convs instead of CRF attention); the '
                    'attention modules\' own parameters and FLOPs come '
                    'with the claim'), ),
        'The hru row trains its own runs (seeds 8-15), so the two rows '
        'share no run and their verdicts are independent.'),
    Row('hru',
        'Hourglass Residual Units (Chu et al., CVPR 2017)',
        '[Multi-Context Attention for Human Pose Estimation]'
        '(https://arxiv.org/abs/1702.07432)',
        (Arm('hru', 'HRUs on the skip branches (+ attention)', _MCA),
         Arm('preact_wide', 'pre-activation residuals, mid width 92 (same '
             'parameters, + attention)',
             _C + 'hru/mca-hourglass-preact-skip-wide_synthetic-coco-'
             '128x96.py'),
         Arm('preact', 'pre-activation residuals, mid width 32 (+ '
             'attention)',
             _C + 'hru/mca-hourglass-preact-skip_synthetic-coco-128x96.py')),
        (Comparison('hru', 'preact_wide',
                    'HRUs improve on plain residual units of the same '
                    'parameter count', _NOT_QUOTED, MARGIN,
                    '`model.backbone.skip_block` (HRU against a '
                    'PreActBottleneck of mid width 92): parameters equal '
                    'within 0.4 %, but the wide plain units cost about 49 % '
                    'more FLOPs than the HRUs'),
         Comparison('hru', 'preact',
                    'HRUs improve on plain residual units (the units\' own '
                    'width)', _NOT_QUOTED, MARGIN,
                    '`model.backbone.skip_block` (HRU against a '
                    'PreActBottleneck of mid width 32): capacity changes '
                    'with the unit, the HRU arm has about 38 % more '
                    'parameters and 19 % more FLOPs')),
        'Seeds 8-15, not 0-7: the HRU arm is the attention arm\'s config of '
        'the mca_attention row, and with the same seeds its runs would be '
        'that row\'s runs (same merged config, same seed), so the two rows\' '
        'verdicts would be correlated.',
        seeds=tuple(range(8, 16))),
    Row('cpn',
        'CPN RefineNet and OHKM (Chen et al., CVPR 2018)',
        '[Cascaded Pyramid Network for Multi-Person Pose Estimation]'
        '(https://arxiv.org/abs/1711.07319)',
        (Arm('refine_ohkm', 'GlobalNet + RefineNet, OHKM (top 8)',
             _C + 'cpn/cpn-res18_synthetic-coco-128x96.py'),
         Arm('globalnet_k3', 'GlobalNet alone, decoded output on kernel 3 '
             '(RefineNet\'s target)',
             _C + 'cpn/cpn-res18-globalnet-kernel3_synthetic-coco-'
             '128x96.py'),
         Arm('globalnet', 'GlobalNet alone, decoded output on kernel 9 '
             '(as released)',
             _C + 'cpn/cpn-res18-globalnet_synthetic-coco-128x96.py'),
         Arm('refine_l2', 'GlobalNet + RefineNet, L2 on all keypoints',
             _C + 'cpn/cpn-res18-no-ohkm_synthetic-coco-128x96.py')),
        (Comparison('refine_ohkm', 'globalnet_k3',
                    'RefineNet + OHKM improves on GlobalNet alone',
                    '69.4 vs 66.6 AP (+2.8), COCO minival, ResNet-50 '
                    '256x192 (Tables 3, 4 and 6)', MARGIN,
                    'the RefineNet and its OHKM loss (the claim); the '
                    'decoded output is trained on the same target (kernel '
                    '3) in both arms, but GlobalNet output 0 is trained on '
                    'kernel 3 in the GlobalNet-alone arm and on kernel 9 in '
                    'the RefineNet arm'),
         Comparison('refine_ohkm', 'globalnet',
                    'RefineNet + OHKM improves on GlobalNet alone '
                    '(GlobalNet decoded on kernel 9, as released)',
                    '69.4 vs 66.6 AP (+2.8), as above', MARGIN,
                    'the RefineNet and OHKM, and the target of the decoded '
                    'output: kernel 3 (RefineNet) against kernel 9 '
                    '(GlobalNet output 0): sharpness changes with the '
                    'architecture'),
         Comparison('refine_ohkm', 'refine_l2',
                    'OHKM improves on the RefineNet L2 loss',
                    '69.4 vs 68.6 AP (+0.8), top-8 vs all 17 keypoints '
                    '(Tables 6 and 7)', MARGIN,
                    'none: only `loss_refine` (top-8 OHKM against MSE over '
                    'all labelled keypoints)')), ''),
    Row('mspn',
        'MSPN (Li et al., 2019)',
        '[Rethinking on Multi-Stage Networks for Human Pose Estimation]'
        '(https://arxiv.org/abs/1901.00148)',
        (Arm('two_stage', '2 x ResNet-18 stages, aggregation, '
             'coarse-to-fine', _C + 'mspn/mspn-2xres18_synthetic-coco-'
             '128x96.py'),
         Arm('one_stage', '1 x ResNet-50 stage (about the same FLOPs)',
             _C + 'mspn/mspn-1xres50_synthetic-coco-128x96.py'),
         Arm('no_aggregation', '2 stages without cross-stage aggregation',
             _C + 'mspn/mspn-2xres18-no-aggregation_synthetic-coco-'
             '128x96.py'),
         Arm('no_coarse_to_fine', '2 stages, finest target for every unit',
             _C + 'mspn/mspn-2xres18-no-coarse-to-fine_synthetic-coco-'
             '128x96.py')),
        (Comparison('two_stage', 'one_stage',
                    '2 stages beat 1 stage of about the same FLOPs',
                    '2xRes-18 71.6 AP (4.0 GFLOPs) vs Res-50 71.5 (4.4), '
                    'COCO minival 256x192 (from a transcription of the '
                    'paper\'s table)', MARGIN,
                    'stage count and stage depth together (the claim); '
                    'the one-stage arm has about 3 % more parameters and 7 '
                    '% more FLOPs, and with one stage no cross-stage '
                    'aggregation and one stage of coarse-to-fine targets'),
         Comparison('two_stage', 'no_aggregation',
                    'cross-stage aggregation helps',
                    '+0.3 AP (74.2 -> 74.5, 2-stage ResNet-50, added '
                    'after coarse-to-fine)', MARGIN,
                    'only `cross_stage_aggregation` (its own layers\' '
                    'parameters and FLOPs come with it); the paper adds it '
                    'after coarse-to-fine, here it is removed from the '
                    'full model'),
         Comparison('two_stage', 'no_coarse_to_fine',
                    'coarse-to-fine supervision helps',
                    '+0.9 AP (73.3 -> 74.2, 2-stage ResNet-50)', MARGIN,
                    'none: only the loss\'s level map (every unit on the '
                    'finest target, kernel 5); the same model')),
        'Stages of half-width ResNet-18 (the claim is '
        'relative). The paper adds its components cumulatively; here each '
        'is removed from the full 2-stage model.'),
    Row('soft_gated',
        'Soft-gated skip connections (Bulat et al., FG 2020)',
        '[Toward fast and accurate human pose estimation via soft-gated '
        'skip connections](https://arxiv.org/abs/2002.11098)',
        (Arm('soft_gated', 'soft-gated hourglass, 2 x 36 features',
             _C + 'soft_gated/sg-hourglass-2x36_synthetic-coco-128x96.py'),
         Arm('plain', 'plain residual hourglass, 2 x 128 features',
             _C + 'soft_gated/res-hourglass-2x128_synthetic-coco-'
             '128x96.py')),
        (Comparison('soft_gated', 'plain',
                    'about 3x fewer parameters at no loss of accuracy',
                    '"a reduction of 3x in model size and complexity ... '
                    'no decrease in performance" (abstract)', 0.01,
                    'block, decoder and width together (the claim is about '
                    'size at equal accuracy): soft-gated blocks and the '
                    'hybrid decoder at 36 features against plain residual '
                    'units at 128; equal stacks, poolings and stem',
                    kind='no_loss'), ),
        'The size ratio is reached by width (36 against 128 '
        'features, the paper\'s 3x3 fuse conv kept).'),
    Row('hrnet',
        'HRNet (Sun et al., CVPR 2019)',
        '[Deep High-Resolution Representation Learning for Human Pose '
        'Estimation](https://arxiv.org/abs/1902.09212)',
        (Arm('hrnet', 'HRNet-W16, 1 module in stages 3-4, 2 blocks',
             _C + 'hrnet/hrnet-w16-small_synthetic-coco-128x96.py'),
         Arm('simplebaseline_normal', 'SimpleBaseline ResNet-18 (56 base '
             'channels), HRNet\'s init',
             _C + 'hrnet/simplebaseline-res18-normal-init_synthetic-coco-'
             '128x96.py'),
         Arm('simplebaseline', 'SimpleBaseline ResNet-18 (56 base '
             'channels), PyTorch\'s default init',
             _C + 'hrnet/simplebaseline-res18_synthetic-coco-128x96.py')),
        (Comparison('hrnet', 'simplebaseline_normal',
                    'HRNet beats SimpleBaseline of about the same FLOPs',
                    'HRNet-W32 74.4 AP (28.5 M, 7.1 GFLOPs) vs '
                    'SimpleBaseline-ResNet-50 70.4 (34.0 M, 8.9), COCO val '
                    '256x192, ImageNet-pretrained; HRNet-W32 trained from '
                    'scratch 73.4 AP (Table 1; Table I of the journal '
                    'version, arXiv 1908.07919)', MARGIN,
                    'backbone and head together (the claim: HRNet with a '
                    '1x1 conv head against ResNet with 3 deconvs); both '
                    'backbones initialised alike (MMPose\'s HRNet default: '
                    'convs Normal(0, 0.001), BN weight 1, bias 0, no '
                    'zero-initialised residual BN), the '
                    'heads by HeatmapHead\'s own init; FLOPs within 3 %, '
                    'the HRNet arm has about a sixth of the parameters'),
         Comparison('hrnet', 'simplebaseline',
                    'HRNet beats SimpleBaseline of about the same FLOPs '
                    '(each backbone\'s own init)',
                    'as above', MARGIN,
                    'backbone and head, and the backbone init: Normal(0, '
                    '0.001) convs in the HRNet arm; PyTorch\'s default '
                    '(Kaiming-uniform) convs and the last BN of every '
                    'BasicBlock set to 0 (`zero_init_residual`) in the '
                    'ResNet arm')),
        'Both from scratch, MMPose\'s HRNet and ResNet backbones '
        'and HeatmapHead, same codec, loss and recipe.'),
)}
