"""The papers' claims, re-tested side by side: ``claims ROW``.

``python tools/analysis/claims.py ROW [--seeds 3] [--work-dir
work_dirs/claims] [--docs-dir docs] [--data-root DIR] [--device DEV]
[--epochs N] [--cfg-options ...] [--dry-run | --report-only | --rerun]``
(or ``make claims ROW=...``) trains every arm of one row of the claims
table (:data:`ROWS`) with every seed through the package's normal path
(``tools/train.py`` on an ordinary config under ``configs/claims/``, then
``tools/test.py`` on its last checkpoint), and writes the row:

* ``DOCS/claims/ROW.json``: every run (test AP, AP after each epoch,
  train and test time, the digest of its merged config), the parameters
  and FLOPs of every arm and the paired statistics of each comparison;
* ``DOCS/claims/ROW.png``: validation AP against epoch per arm, mean and
  the band (min to max) across seeds;
* ``DOCS/claims.md``: regenerated from all ``DOCS/claims/*.json``.

Runs are paired by seed (``randomness.seed``: the same initialisation
stream, data order and augmentation draws in every arm). A run is
finished when its ``WORK_DIR/runs/CONFIG/seedS/result.json`` or a record in
``DOCS/claims/*.json`` has the digest of the same merged config; finished
runs are skipped, so an interrupted row resumes where it stopped (an
interrupted run restarts) and a changed config is re-run. The row's files
are rewritten after every run. ``--report-only`` rewrites them from what
is finished without training; ``--dry-run`` prints the commands of the
runs still to do; ``--rerun`` runs the whole row again from scratch.

Each comparison's verdict (:func:`verdict`) comes from the 95 % paired
t-interval of the mean AP difference (:func:`.stats.paired_difference`):
for a gain claim *held* if the interval is above zero, *reversed* if below,
*inconclusive* if it spans zero; for a no-loss claim (the soft-gated
hourglass) *held* if the interval's lower end is above ``-margin``,
*reversed* if the interval is below zero, else *inconclusive*.

``--data-root DIR`` points every arm at a COCO-layout dataset
(``DIR/annotations/person_keypoints_{train,val}2017.json``, images in
``DIR/{train,val}2017/``, ground-truth boxes for testing), ``--device``
selects the device of every run (``cuda``, ``cuda:N`` or ``cpu``),
``--epochs`` replaces the budget's epoch count and ``--cfg-options`` is
passed to every run: the same command at paper scale (``docs/claims.md``).
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from ..package_files import checkout_root
from .stats import PairedDifference, paired_difference
from .training_curves import read_scalars

#: The checkout the rows run in (configs, tools/, data/, docs/): the
#: claims table is a development command, not part of an installed wheel.
REPO_ROOT = checkout_root() or Path.cwd()

__all__ = [
    'Arm', 'Comparison', 'ROWS', 'Row', 'RowRunner', 'config_digest',
    'format_progress', 'main', 'parse_args', 'render_markdown',
    'run_overrides', 'summarize_row', 'verdict', 'write_row'
]

VERDICTS = ('held', 'reversed', 'inconclusive')


@dataclasses.dataclass(frozen=True)
class Arm:
    """One arm of a row: a config trained with every seed.

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
        kind: ``'gain'`` (``better`` has the higher AP) or ``'no_loss'``
            (``better`` is not worse by more than ``margin``).
        margin: AP margin of a ``'no_loss'`` claim.
    """

    better: str
    other: str
    claim: str
    paper: str
    kind: str = 'gain'
    margin: float = 0.0


@dataclasses.dataclass(frozen=True)
class Row:
    """One row of the claims table.

    Attributes:
        name: Command-line name (``make claims ROW=name``).
        title: Paper and claim.
        paper: Citation with link.
        arms: The arms, in table order.
        comparisons: The claims tested between arms.
        note: How the arms differ, and anything to know about them.
    """

    name: str
    title: str
    paper: str
    arms: Tuple[Arm, ...]
    comparisons: Tuple[Comparison, ...]
    note: str = ''

    def arm(self, key: str) -> Arm:
        for arm in self.arms:
            if arm.key == key:
                return arm
        raise KeyError(f'row {self.name!r} has no arm {key!r}')


_C = 'configs/claims/'
_MCA = _C + 'mca_attention/mca-hourglass_synthetic-coco-128x96.py'
ROWS: Dict[str, Row] = {row.name: row for row in (
    Row('mca_attention',
        'Multi-context attention (Chu et al., CVPR 2017)',
        '[Multi-Context Attention for Human Pose Estimation]'
        '(https://arxiv.org/abs/1702.07432)',
        (Arm('attention', 'HRU hourglass + MCA attention', _MCA),
         Arm('plain', 'same HRU hourglass, no attention',
             _C + 'mca_attention/hru-hourglass_synthetic-coco-128x96.py')),
        (Comparison('attention', 'plain',
                    'attention improves the HRU hourglass',
                    'a PCKh gain on MPII val (the ablation table could not '
                    'be read offline: figure not quoted)'), ),
        'Only `model.backbone.attention` differs (`None` in the plain '
        'arm: 1x1 heatmap convs instead of CRF attention).'),
    Row('hru',
        'Hourglass Residual Units (Chu et al., CVPR 2017)',
        '[Multi-Context Attention for Human Pose Estimation]'
        '(https://arxiv.org/abs/1702.07432)',
        (Arm('hru', 'HRUs on the skip branches (+ attention)', _MCA),
         Arm('preact', 'pre-activation residuals instead (+ attention)',
             _C + 'hru/mca-hourglass-preact-skip_synthetic-coco-128x96.py')),
        (Comparison('hru', 'preact',
                    'HRUs improve on plain residual units',
                    'a PCKh gain on MPII val (the ablation table could not '
                    'be read offline: figure not quoted)'), ),
        'Only `model.backbone.skip_block` differs; the HRU arm is the '
        'attention arm of the row above (the same runs).'),
    Row('cpn',
        'CPN RefineNet and OHKM (Chen et al., CVPR 2018)',
        '[Cascaded Pyramid Network for Multi-Person Pose Estimation]'
        '(https://arxiv.org/abs/1711.07319)',
        (Arm('refine_ohkm', 'GlobalNet + RefineNet, OHKM (top 8)',
             _C + 'cpn/cpn-res18_synthetic-coco-128x96.py'),
         Arm('globalnet', 'GlobalNet alone',
             _C + 'cpn/cpn-res18-globalnet_synthetic-coco-128x96.py'),
         Arm('refine_l2', 'GlobalNet + RefineNet, L2 on all keypoints',
             _C + 'cpn/cpn-res18-no-ohkm_synthetic-coco-128x96.py')),
        (Comparison('refine_ohkm', 'globalnet',
                    'RefineNet + OHKM improves on GlobalNet alone',
                    '69.4 vs 66.6 AP (+2.8), COCO minival, ResNet-50 '
                    '256x192 (Tables 3, 4 and 6)'),
         Comparison('refine_ohkm', 'refine_l2',
                    'OHKM improves on the RefineNet L2 loss',
                    '69.4 vs 68.6 AP (+0.8), top-8 vs all 17 keypoints '
                    '(Tables 6 and 7)')),
        'GlobalNet alone decodes GlobalNet output 0 (highest resolution, '
        'supervised with the widest kernel as in the released models); '
        'the no-OHKM arm changes only `loss_refine`.'),
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
                    'paper\'s table)'),
         Comparison('two_stage', 'no_aggregation',
                    'cross-stage aggregation helps',
                    '+0.3 AP (74.2 -> 74.5, 2-stage ResNet-50, added '
                    'after coarse-to-fine)'),
         Comparison('two_stage', 'no_coarse_to_fine',
                    'coarse-to-fine supervision helps',
                    '+0.9 AP (73.3 -> 74.2, 2-stage ResNet-50)')),
        'Stages of half-width ResNet-18 (the claim is relative). The '
        'paper adds its components cumulatively; here each is removed '
        'from the full 2-stage model.'),
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
                    'no decrease in performance" (abstract)',
                    kind='no_loss', margin=0.01), ),
        'Equal stacks; the size ratio is reached by width (36 against '
        '128 features, the paper\'s 3x3 fuse conv kept). No-loss margin: '
        '0.01 AP.'),
    Row('hrnet',
        'HRNet (Sun et al., CVPR 2019)',
        '[Deep High-Resolution Representation Learning for Human Pose '
        'Estimation](https://arxiv.org/abs/1902.09212)',
        (Arm('hrnet', 'HRNet-W16, 1 module in stages 3-4, 2 blocks',
             _C + 'hrnet/hrnet-w16-small_synthetic-coco-128x96.py'),
         Arm('simplebaseline', 'SimpleBaseline ResNet-18 (56 base channels)',
             _C + 'hrnet/simplebaseline-res18_synthetic-coco-128x96.py')),
        (Comparison('hrnet', 'simplebaseline',
                    'HRNet beats SimpleBaseline of about the same FLOPs',
                    'HRNet-W32 74.4 AP (28.5 M, 7.1 GFLOPs) vs '
                    'SimpleBaseline-ResNet-50 70.4 (34.0 M, 8.9), COCO val '
                    '256x192, ImageNet-pretrained (Table 1)'), ),
        'Both from scratch, MMPose\'s HRNet and ResNet backbones and '
        'HeatmapHead, same codec, loss and recipe.'),
)}


def verdict(diff: PairedDifference, kind: str = 'gain',
            margin: float = 0.0) -> str:
    """Verdict of one comparison from its paired interval.

    Args:
        diff (PairedDifference): Difference ``better - other``.
        kind (str): ``'gain'`` or ``'no_loss'``. Defaults to ``'gain'``.
        margin (float): AP margin of a ``'no_loss'`` claim, ``>= 0``.
            Defaults to ``0``.

    Returns:
        str: ``'held'``, ``'reversed'`` or ``'inconclusive'``.
    """
    if margin < 0:
        raise ValueError(f'margin must be >= 0, got {margin!r}')
    if kind == 'gain':
        if diff.low > 0:
            return 'held'
        if diff.high < 0:
            return 'reversed'
        return 'inconclusive'
    if kind == 'no_loss':
        if diff.low > -margin:
            return 'held'
        if diff.high < 0:
            return 'reversed'
        return 'inconclusive'
    raise ValueError(f"kind must be 'gain' or 'no_loss', got {kind!r}")


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Train and test every arm x seed of one claims row and '
        'write it into the claims table')
    parser.add_argument('row', choices=sorted(ROWS), help='the row to run')
    parser.add_argument('--seeds', type=int, default=3,
                        help='seeds per arm, 0 .. N-1 (default: 3)')
    parser.add_argument('--work-dir', type=Path,
                        default=REPO_ROOT / 'work_dirs' / 'claims',
                        help='where the runs go (default: work_dirs/claims)')
    parser.add_argument('--docs-dir', type=Path, default=REPO_ROOT / 'docs',
                        help='where claims.md and claims/ROW.{json,png} '
                        'are written (default: docs)')
    parser.add_argument('--data-root', default=None,
                        help='COCO-layout dataset for every arm (default: '
                        'the configs\' synthetic set)')
    parser.add_argument('--device', default=None,
                        help='cpu, cuda or cuda:N (default: the runner\'s '
                        'choice, CUDA when there is one)')
    parser.add_argument('--epochs', type=int, default=None,
                        help='training epochs instead of the budget\'s')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        metavar='KEY=VALUE',
                        help='overrides passed to every run')
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument('--dry-run', action='store_true',
                      help='print the runs and their commands, run nothing')
    mode.add_argument('--report-only', action='store_true',
                      help='rewrite the row\'s files from the finished runs')
    mode.add_argument('--rerun', action='store_true',
                      help='train and test every run again, also those '
                      'already finished (the row from scratch)')
    args = parser.parse_args(argv)
    if args.seeds < 2:
        parser.error(f'--seeds must be at least 2 (a paired interval), got '
                     f'{args.seeds}')
    if args.epochs is not None and args.epochs < 1:
        parser.error(f'--epochs must be positive, got {args.epochs}')
    if args.device is not None and not (
            args.device == 'cpu' or args.device == 'cuda'
            or (args.device.startswith('cuda:')
                and args.device[5:].isdigit())):
        parser.error(f'--device must be cpu, cuda or cuda:N, got '
                     f'{args.device!r}')
    for option in args.cfg_options:
        if '=' not in option:
            parser.error(f'--cfg-options entries are KEY=VALUE, got '
                         f'{option!r}')
    return args


def run_overrides(args: argparse.Namespace, seed: int) -> List[str]:
    """``--cfg-options`` of one run: the seed, then ``--data-root`` and
    ``--epochs`` expanded, then the user's overrides."""
    options = [f'randomness.seed={seed}']
    if args.data_root is not None:
        root = args.data_root.rstrip('/') + '/'
        for split, loader in (('train', 'train_dataloader'),
                              ('val', 'val_dataloader'),
                              ('val', 'test_dataloader')):
            options += [
                f'{loader}.dataset.data_root={root}',
                f'{loader}.dataset.ann_file='
                f'annotations/person_keypoints_{split}2017.json',
                f'{loader}.dataset.data_prefix.img={split}2017/',
            ]
        ann = f'{root}annotations/person_keypoints_val2017.json'
        options += [f'val_evaluator.ann_file={ann}',
                    f'test_evaluator.ann_file={ann}']
    if args.epochs is not None:
        e = args.epochs
        options += [
            f'train_cfg.max_epochs={e}',
            f'param_scheduler.1.end={e}', f'param_scheduler.1.T_max={e}',
            f'default_hooks.checkpoint.interval={e}'
        ]
    return options + list(args.cfg_options)


def _load_config(config: str, options: Sequence[str]):
    from mmengine.config import Config, DictAction
    cfg = Config.fromfile(str(REPO_ROOT / config))
    if options:  # parsed as tools/train.py parses them
        parser = argparse.ArgumentParser()
        parser.add_argument('--cfg-options', nargs='+', action=DictAction)
        parsed = parser.parse_args(['--cfg-options', *options])
        cfg.merge_from_dict(parsed.cfg_options)
    return cfg


def config_digest(config: str, options: Sequence[str]) -> str:
    """SHA-256 (first 16 hex digits) of a run's merged config.

    Args:
        config (str): Config path relative to the repository.
        options (Sequence[str]): The run's ``--cfg-options``.

    Returns:
        str: The digest; it changes whenever the config, one of its bases
        or an override changes what the run would do.
    """
    text = _load_config(config, options).pretty_text
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _test_ap(metrics_file: Path) -> float:
    metrics = json.loads(metrics_file.read_text())
    if 'coco/AP' not in metrics:
        raise RuntimeError(f'{metrics_file} has no coco/AP: {metrics!r}')
    return float(metrics['coco/AP'])


def format_progress(done: float, total: float, elapsed: float,
                    rate_done: float, label: str, width: int = 24) -> str:
    """One progress line over a whole row.

    Args:
        done (float): Epochs finished, all runs of the row.
        total (float): Epochs of the row.
        elapsed (float): Seconds since this invocation started.
        rate_done (float): Epochs finished by this invocation (what the
            ETA is estimated from; skipped runs do not count).
        label (str): The current run.
        width (int): Bar width. Defaults to ``24``.

    Returns:
        str: E.g. ``[######------] 12.0/36 epochs  12:03 elapsed, ETA
        24:06  mspn-2xres18 seed 1``.
    """
    frac = 0.0 if total <= 0 else min(done / total, 1.0)
    filled = int(round(frac * width))
    bar = '#' * filled + '-' * (width - filled)
    if rate_done > 0:
        eta = _clock(elapsed / rate_done * max(total - done, 0.0))
    else:
        eta = '?'
    return (f'[{bar}] {done:.1f}/{total:g} epochs  {_clock(elapsed)} '
            f'elapsed, ETA {eta}  {label}')


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f'{h}:{m:02d}:{s:02d}' if h else f'{m:02d}:{s:02d}'


def _epochs_logged(run_dir: Path) -> float:
    """Epochs the running training has validated (its scalars.json)."""
    try:
        _, val = read_scalars(run_dir)
    except FileNotFoundError:  # before MMEngine's first log
        return 0.0
    return float(len(val['epoch']))


class RowRunner:
    """Runs, skips and records the arm x seed runs of one row.

    Args:
        row (Row): The row.
        args (argparse.Namespace): :func:`parse_args` output.
        python (str): Interpreter of the training runs. Defaults to the
            current one.
    """

    def __init__(self, row: Row, args: argparse.Namespace,
                 python: str = sys.executable) -> None:
        self.row = row
        self.args = args
        self.python = python
        self.seeds = list(range(args.seeds))

    # runs ---------------------------------------------------------------
    def run_dir(self, arm: Arm, seed: int) -> Path:
        return self.args.work_dir / 'runs' / Path(arm.config).stem / \
            f'seed{seed}'

    def recorded(self) -> Dict[Tuple[str, int], dict]:
        """Finished runs recorded in ``DOCS/claims/*.json``, by (config,
        seed)."""
        runs = {}
        for path in sorted((self.args.docs_dir / 'claims').glob('*.json')):
            record = json.loads(path.read_text())
            for arm in record.get('arms', {}).values():
                for seed, run in arm.get('runs', {}).items():
                    runs[(arm['config'], int(seed))] = run
        return runs

    def finished(self, arm: Arm, seed: int, digest: str,
                 recorded: Dict[Tuple[str, int], dict]) -> Optional[dict]:
        """The record of a finished run of this digest, ``None`` if there
        is none or ``--rerun`` asks for every run again."""
        if self.args.rerun:
            return None
        result = self.run_dir(arm, seed) / 'result.json'
        if result.is_file():
            run = json.loads(result.read_text())
            if run.get('digest') == digest:
                return run
        run = recorded.get((arm.config, seed))
        if run is not None and run.get('digest') == digest:
            return run
        return None

    def commands(self, arm: Arm, seed: int,
                 checkpoint: str = '<last checkpoint>'
                 ) -> Tuple[List[str], List[str]]:
        """The ``tools/train.py`` and ``tools/test.py`` commands of a run."""
        run_dir = self.run_dir(arm, seed)
        options = run_overrides(self.args, seed)
        train = [self.python, str(REPO_ROOT / 'tools' / 'train.py'),
                 str(REPO_ROOT / arm.config), '--work-dir', str(run_dir),
                 '--cfg-options', *options]
        test = [self.python, str(REPO_ROOT / 'tools' / 'test.py'),
                str(REPO_ROOT / arm.config), checkpoint,
                '--work-dir', str(run_dir / 'test'), '--out',
                str(run_dir / 'test_metrics.json'), '--cfg-options',
                *options]
        return train, test

    def _env(self) -> dict:
        env = dict(os.environ)
        device = self.args.device
        if device == 'cpu':
            env['CUDA_VISIBLE_DEVICES'] = ''
        elif device is not None and device.startswith('cuda:'):
            env['CUDA_VISIBLE_DEVICES'] = device[5:]
        return env

    def _run(self, cmd: List[str], log: Path, progress) -> None:
        with log.open('w') as out:
            proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=out,
                                    stderr=subprocess.STDOUT,
                                    env=self._env())
            while proc.poll() is None:
                progress()
                time.sleep(2.0)
        if proc.returncode:
            tail = '\n'.join(log.read_text().splitlines()[-15:])
            raise RuntimeError(
                f'{cmd[1]} exited with {proc.returncode} (log: {log}):\n'
                f'{tail}')

    def train_and_test(self, arm: Arm, seed: int, digest: str,
                       progress) -> dict:
        run_dir = self.run_dir(arm, seed)
        if run_dir.exists():  # unfinished or of a changed config
            what = ('unfinished' if not (run_dir / 'result.json').is_file()
                    else 'rerun' if self.args.rerun else 'of a changed config')
            print(f'\nrestarting {run_dir} ({what})', file=sys.stderr)
            shutil.rmtree(run_dir)
        run_dir.mkdir(parents=True)
        train, _ = self.commands(arm, seed)
        start = time.monotonic()
        self._run(train, run_dir / 'train.log',
                  lambda: progress(_epochs_logged(run_dir)))
        train_s = time.monotonic() - start
        last = run_dir / 'last_checkpoint'
        if not last.is_file():
            raise RuntimeError(f'{run_dir} has no last_checkpoint after '
                               'training: is the checkpoint hook on?')
        _, test = self.commands(arm, seed, last.read_text().strip())
        start = time.monotonic()
        self._run(test, run_dir / 'test.log',
                  lambda: progress(_epochs_logged(run_dir)))
        test_s = time.monotonic() - start
        _, val = read_scalars(run_dir)
        run = dict(
            digest=digest, seed=seed, ap=_test_ap(run_dir /
                                                  'test_metrics.json'),
            curve=[[int(e), float(a)] for e, a in zip(val['epoch'],
                                                     val['AP'])],
            train_s=round(train_s, 1), test_s=round(test_s, 1))
        (run_dir / 'result.json').write_text(json.dumps(run, indent=1))
        return run

    # the row ------------------------------------------------------------
    def sizes(self) -> Dict[str, dict]:
        from . import complexity
        sizes = {}
        for arm in self.row.arms:
            size = complexity.measure(str(REPO_ROOT / arm.config),
                                      device='cpu')
            sizes[arm.key] = dict(params=size['params'],
                                  flops=size['flops'],
                                  input_size=list(size['input_size']))
        return sizes

    def run(self) -> dict:
        """Train what is not finished, write the row after every run;
        returns the row record."""
        args = self.args
        plan = []
        for seed in self.seeds:  # seed-major: every arm of a seed first
            for arm in self.row.arms:
                options = run_overrides(args, seed)
                plan.append((arm, seed, config_digest(arm.config, options)))
        recorded = self.recorded()
        if args.dry_run:
            for arm, seed, digest in plan:
                if self.finished(arm, seed, digest, recorded) is not None:
                    print(f'# finished: {Path(arm.config).stem} seed {seed}')
                    continue
                for cmd in self.commands(arm, seed):
                    print(' '.join(cmd))
            return {}
        runs: Dict[str, Dict[int, dict]] = {a.key: {} for a in self.row.arms}
        todo = []
        for arm, seed, digest in plan:
            run = self.finished(arm, seed, digest, recorded)
            if run is not None:
                runs[arm.key][seed] = run
            else:
                todo.append((arm, seed, digest))
        sizes = self.sizes()
        epochs = self._epochs()
        total = len(plan) * epochs
        done_before = (len(plan) - len(todo)) * epochs
        print(f'claims {self.row.name}: {len(plan)} runs, '
              f'{len(plan) - len(todo)} finished, {len(todo)} to run',
              flush=True)
        record = self.write(runs, sizes, epochs)
        if args.report_only:
            return record
        start = time.monotonic()
        for i, (arm, seed, digest) in enumerate(todo):
            label = f'{Path(arm.config).stem} seed {seed}'

            def progress(current: float, i=i, label=label) -> None:
                done = done_before + i * epochs + min(current, epochs)
                line = format_progress(done, total,
                                       time.monotonic() - start,
                                       i * epochs + min(current, epochs),
                                       label)
                end = '\r' if sys.stderr.isatty() else '\n'
                if end == '\n' and current == getattr(progress, 'last',
                                                      None):
                    return
                progress.last = current
                print(line, end=end, file=sys.stderr, flush=True)

            runs[arm.key][seed] = self.train_and_test(arm, seed, digest,
                                                      progress)
            record = self.write(runs, sizes, epochs)
        print(file=sys.stderr)
        return record

    def _epochs(self) -> int:
        if self.args.epochs is not None:
            return self.args.epochs
        cfg = _load_config(self.row.arms[0].config,
                           run_overrides(self.args, 0))
        return int(cfg.train_cfg.max_epochs)

    def write(self, runs: Dict[str, Dict[int, dict]], sizes: Dict[str, dict],
              epochs: int) -> dict:
        record = summarize_row(self.row, runs, sizes, self.seeds, dict(
            epochs=epochs, command=self.command(),
            data=self.args.data_root or 'synthetic COCO (make data)',
            machine=_machine(self.args.device)))
        previous = self.args.docs_dir / 'claims' / f'{self.row.name}.json'
        if previous.is_file():  # no new run: keep the date of the last one
            old = json.loads(previous.read_text())
            if ({k: v['runs'] for k, v in old.get('arms', {}).items()}
                    == {k: v['runs'] for k, v in record['arms'].items()}):
                record['updated'] = old.get('updated', record['updated'])
        write_row(record, self.args.docs_dir)
        return record

    def command(self) -> str:
        extra = []
        if self.args.seeds != 3:
            extra.append(f'--seeds {self.args.seeds}')
        for flag in ('data_root', 'device', 'epochs'):
            value = getattr(self.args, flag)
            if value is not None:
                extra.append(f'--{flag.replace("_", "-")} {value}')
        if self.args.cfg_options:
            extra.append('--cfg-options ' + ' '.join(self.args.cfg_options))
        if not extra:
            return f'make claims ROW={self.row.name}'
        return ('python tools/analysis/claims.py '
                f'{self.row.name} ' + ' '.join(extra))


def _machine(device: Optional[str]) -> str:
    """Where the runs ran, for the table."""
    import torch
    if device != 'cpu' and torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f'{os.cpu_count()} CPU cores ({platform.machine()})'


def summarize_row(row: Row, runs: Dict[str, Dict[int, dict]],
                  sizes: Dict[str, dict], seeds: Sequence[int],
                  budget: dict) -> dict:
    """The JSON record of a row: arms, runs, statistics, verdicts.

    Args:
        row (Row): The row.
        runs (dict): ``runs[arm_key][seed]`` as :meth:`RowRunner.
            train_and_test` returns them (finished runs only).
        sizes (dict): ``sizes[arm_key]`` with ``params``, ``flops`` and
            ``input_size`` (H, W).
        seeds (Sequence[int]): The seeds the row asks for.
        budget (dict): ``epochs``, ``command``, ``data`` and ``machine``.

    Returns:
        dict: The record :func:`write_row` writes.
    """
    arms = {}
    for arm in row.arms:
        arm_runs = runs.get(arm.key, {})
        aps = [arm_runs[s]['ap'] for s in seeds if s in arm_runs]
        arms[arm.key] = dict(
            label=arm.label, config=arm.config, **sizes[arm.key],
            runs={str(s): arm_runs[s] for s in seeds if s in arm_runs},
            mean_ap=sum(aps) / len(aps) if aps else None)
    comparisons = []
    for comp in row.comparisons:
        a, b = runs.get(comp.better, {}), runs.get(comp.other, {})
        paired = [s for s in seeds if s in a and s in b]
        entry = dict(dataclasses.asdict(comp), seeds=paired)
        if len(paired) >= 2:
            diff = paired_difference([a[s]['ap'] for s in paired],
                                     [b[s]['ap'] for s in paired])
            entry.update(diff=diff._asdict(),
                         verdict=verdict(diff, comp.kind, comp.margin))
        comparisons.append(entry)
    planned = len(row.arms) * len(seeds)
    finished = sum(len(v['runs']) for v in arms.values())
    row_s = sum(r['train_s'] + r['test_s'] for v in arms.values()
                for r in v['runs'].values())
    return dict(
        row=row.name, title=row.title, paper=row.paper, note=row.note,
        seeds=list(seeds), budget=budget, arms=arms,
        comparisons=comparisons, runs_finished=finished,
        runs_planned=planned, row_time_s=round(row_s, 1),
        updated=datetime.date.today().isoformat())


def plot_row(record: dict, out: Path) -> None:
    """Validation AP against epoch per arm: the mean over seeds and the
    band from the lowest to the highest seed."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for arm in record['arms'].values():
        curves = [dict(map(tuple, run['curve']))
                  for run in arm['runs'].values()]
        if not curves:
            continue
        epochs = sorted(set.intersection(*(set(c) for c in curves)))
        values = [[c[e] for c in curves] for e in epochs]
        mean = [sum(v) / len(v) for v in values]
        line, = ax.plot(epochs, mean, marker='o', ms=3,
                        label=f'{arm["label"]} (n={len(curves)})')
        ax.fill_between(epochs, [min(v) for v in values],
                        [max(v) for v in values], alpha=0.2,
                        color=line.get_color())
    ax.set(xlabel='epoch', ylabel='val CocoMetric AP', title=record['title'])
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=7, loc='lower right')
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def _ap(value: Optional[float]) -> str:
    return '—' if value is None else f'{value:.3f}'


def render_row(record: dict) -> List[str]:
    """Markdown section of one row record."""
    b = record['budget']
    status = (f'{record["runs_finished"]} of {record["runs_planned"]} runs '
              'finished')
    if record['runs_finished'] < record['runs_planned']:
        status += f' — **incomplete**: rerun `{b["command"]}` to finish'
    lines = [
        f'## {record["title"]}', '',
        f'Paper: {record["paper"]}.', '',
        f'Command: `{b["command"]}` · budget: {b["epochs"]} epochs per run, '
        f'seeds {", ".join(map(str, record["seeds"]))} · data: {b["data"]} '
        f'· {status} · measured row time {_clock(record["row_time_s"])} '
        f'(train + test of every run, one at a time, on '
        f'{b.get("machine", "?")}) · updated {record["updated"]}.', '',
        record['note'], '',
        '| arm | config | params | FLOPs | AP per seed | mean AP |',
        '|---|---|---|---|---|---|'
    ]
    for key, arm in record['arms'].items():
        per_seed = ', '.join(_ap(run['ap']) for run in arm['runs'].values())
        lines.append(
            f'| {arm["label"]} (`{key}`) | `{Path(arm["config"]).name}` | '
            f'{arm["params"] / 1e6:.2f} M | {arm["flops"] / 1e9:.3f} G | '
            f'{per_seed or "—"} | {_ap(arm["mean_ap"])} |')
    lines += ['', '| claim | difference (mean, 95 % CI) | p | verdict '
              '| paper |', '|---|---|---|---|---|']
    for comp in record['comparisons']:
        if 'diff' in comp:
            d = comp['diff']
            cell = (f'{d["mean"]:+.3f} AP [{d["low"]:+.3f}, {d["high"]:+.3f}]'
                    f', n={d["n"]}')
            p, v = f'{d["p_value"]:.3f}', f'**{comp["verdict"]}**'
        else:
            cell, p, v = 'not enough paired runs', '—', '—'
        claim = (f'{comp["claim"]} (`{comp["better"]}` − '
                 f'`{comp["other"]}`)')
        if comp['kind'] == 'no_loss':
            claim += f', no-loss margin {comp["margin"]:g} AP'
        lines.append(f'| {claim} | {cell} | {p} | {v} | {comp["paper"]} |')
    lines += ['', f'![{record["row"]}](claims/{record["row"]}.png)', '']
    return lines


CLAIMS_INTRO = """# The papers' claims, re-tested

Generated by `mmpose_ext/analysis/claims.py` (`make claims ROW=<row>`)
from `docs/claims/<row>.json`; do not edit by hand (the prose lives in that
module). Each row trains every arm of one claim with the same seeds
through `tools/train.py` and tests the last checkpoint with
`tools/test.py`. The arms are ordinary configs under `configs/claims/<row>/`
that differ only in what the claim is about; within a row they share the
data, epochs, batch (32), schedule (Adam, 50-iteration warm-up, cosine
decay) and augmentation: the budget of `configs/claims/_base_/
claims_budget.py` with the row's epoch count set in its first config.

Data: the synthetic COCO set of `tools/make_synthetic_coco.py` (1000 train
/ 200 val images, 1547 / 305 persons, cropped to 128x96 from the
ground-truth boxes), test split = val split, CocoMetric AP with flip test.
Parameters and FLOPs are MMEngine's counter at the arm's input size.

Statistics: the arms are paired by seed (`randomness.seed`: the same
initialisation stream, data order and augmentation draws); the difference
is the mean of the per-seed AP differences with its two-sided 95 %
Student-t interval (`mmpose_ext.analysis.stats.paired_difference`, tested
against `scipy.stats.ttest_rel`). Verdict: a gain claim is *held* if the
interval lies above zero, *reversed* if below, *inconclusive* if it spans
zero; a no-loss claim is *held* if the interval's lower end is above minus
the margin, *reversed* if the interval lies below zero, else
*inconclusive*. With 3 seeds the interval is wide (t = 4.30), so small
effects read inconclusive; `--seeds 5` narrows it.

Finished runs (recorded here or in `work_dirs/claims/`) are skipped, so a
row resumes where it stopped; `make claims ROW=<row> CLAIMS_ARGS=--rerun`
runs a whole row again from scratch, and `--dry-run` lists what is still
to run.

The papers' figures are at full scale on COCO or MPII; they are quoted for
the direction and size of each claim, not to be matched by these small
models.

At paper scale the same command points every arm at COCO:
`python tools/analysis/claims.py ROW --data-root data/coco --device cuda
--epochs 210 --cfg-options ...` (COCO 2017 layout, ground-truth boxes for
testing; input size, widths and batch stay those of the arm configs unless
overridden with `--cfg-options`).
"""


def render_markdown(records: Sequence[dict]) -> str:
    """``docs/claims.md`` from the row records, in :data:`ROWS` order."""
    by_name = {r['row']: r for r in records}
    means = [arm['mean_ap'] for r in records for arm in r['arms'].values()
             if arm['mean_ap'] is not None]
    difficulty = ('No row has run yet.' if not means else
                  f'Benchmark difficulty: the best arm of any row reaches a '
                  f'mean AP of {max(means):.3f} and the worst '
                  f'{min(means):.3f}, so no row saturates the standard '
                  'synthetic split and no harder split was needed.'
                  if max(means) < 0.9 else
                  f'Benchmark difficulty: an arm reaches a mean AP of '
                  f'{max(means):.3f}; rows near saturation need a harder '
                  'split.')
    lines = [CLAIMS_INTRO, difficulty, '', '## Summary', '',
             '| row | claim | difference (95 % CI) | verdict | paper | '
             'row time |', '|---|---|---|---|---|---|']
    for name in ROWS:
        record = by_name.get(name)
        if record is None:
            lines.append(f'| {name} | not run yet: `make claims ROW={name}` '
                         '| — | — | — | — |')
            continue
        incomplete = record['runs_finished'] < record['runs_planned']
        time_cell = _clock(record['row_time_s'])
        if incomplete:
            time_cell += (f' ({record["runs_finished"]}/'
                          f'{record["runs_planned"]} runs)')
        for comp in record['comparisons']:
            if 'diff' in comp:
                d = comp['diff']
                cell = (f'{d["mean"]:+.3f} [{d["low"]:+.3f}, '
                        f'{d["high"]:+.3f}]')
                v = comp['verdict'] + (' (incomplete)' if incomplete else '')
            else:
                cell, v = '—', 'not run yet'
            lines.append(f'| {name} | {comp["claim"]} | {cell} | {v} | '
                         f'{comp["paper"]} | {time_cell} |')
    lines.append('')
    for name in ROWS:
        if name in by_name:
            lines += render_row(by_name[name])
    return '\n'.join(lines).rstrip() + '\n'


def write_row(record: dict, docs_dir: Path) -> None:
    """Write ``DOCS/claims/ROW.{json,png}`` and regenerate
    ``DOCS/claims.md`` from every row record there."""
    folder = docs_dir / 'claims'
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f'{record["row"]}.json'
    tmp = path.with_suffix('.json.tmp')
    tmp.write_text(json.dumps(record, indent=1) + '\n')
    os.replace(tmp, path)
    plot_row(record, folder / f'{record["row"]}.png')
    records = [json.loads(p.read_text())
               for p in sorted(folder.glob('*.json'))]
    (docs_dir / 'claims.md').write_text(render_markdown(records))


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    if checkout_root() is None:
        raise SystemExit('the claims table runs in a checkout of mmpose_ext '
                         '(its configs/claims, tools/ and docs/); this '
                         'mmpose_ext is an installed wheel')
    own_data = any('dataset.data_root=' in o for o in args.cfg_options)
    if args.data_root is None and not own_data and not (
            args.dry_run or args.report_only):
        data = REPO_ROOT / 'data' / 'synthetic_coco' / 'annotations'
        if not (data / 'person_keypoints_val.json').is_file():
            raise SystemExit(f'no synthetic data in {data.parent}: run '
                             '`make data` first')
    return RowRunner(ROWS[args.row], args).run()
