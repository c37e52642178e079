"""Soft-gated against plain residual stacked hourglass: the README table.

``python tools/analysis/soft_gated_tradeoff.py [--skip-train] [--work-dir
work_dirs/tradeoff] [--threads 2] [--out FILE]`` (or ``make tradeoff``)
compares Bulat et al.'s soft-gated hourglass (``SoftGatedHourglassNet``,
https://arxiv.org/abs/2002.11098) with this package's plain residual
stacked hourglass (``HRUHourglassNet`` with pre-activation bottlenecks
only) at the same number of stacks, in two pairs of configs that differ
only in the backbone:

* full size, 4 stacks at 256x256: 144 soft-gated features against 256;
* synthetic, 2 stacks at 128x96: 36 against 64 features (same ratio).

For each config it reports parameters and FLOPs (MMEngine's counter,
:mod:`.complexity`), CPU training and inference throughput
(:mod:`.benchmark` with the plain model as ``--ref``: both in this process,
alternating timed windows, batch 2) and, for the synthetic pair, the
CocoMetric AP on the synthetic val set after the same training budget (each
config's 12-epoch schedule, run through ``tools/train.py`` into
``WORK_DIR/NAME``; the AP of the last validation). ``--skip-train`` reads
the AP of earlier runs in ``WORK_DIR`` instead; ``--no-ap`` leaves the AP
column out (size and speed only, ~2 min). The markdown table is printed
and, with ``--out``, written to a file.
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Optional, Sequence

from . import benchmark, complexity
from .config_summary import REPO_ROOT

__all__ = ['PAIRS', 'last_val_ap', 'main', 'parse_args', 'run_name', 'train']

DATA = REPO_ROOT / 'data' / 'synthetic_coco' / 'annotations'
#: (label, soft-gated config, plain reference config, train for AP)
PAIRS = (
    ('4 stacks, 256x256',
     'configs/soft_gated/td-hm_sg-hourglass-4x144_8xb32-210e_coco-256x256.py',
     'configs/hourglass/td-hm_res-hourglass-4x256_8xb32-210e_coco-256x256.py',
     False),
    ('2 stacks, 128x96 (synthetic)',
     'configs/soft_gated/td-hm_sg-hourglass_synthetic-coco-128x96.py',
     'configs/hourglass/td-hm_res-hourglass_synthetic-coco-128x96.py',
     True),
)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Soft-gated vs plain residual stacked hourglass: '
        'params, FLOPs, CPU throughput and synthetic-data AP')
    parser.add_argument('--work-dir', type=Path,
                        default=REPO_ROOT / 'work_dirs' / 'tradeoff',
                        help='where the synthetic training runs go')
    parser.add_argument('--skip-train', action='store_true',
                        help='read the AP of earlier runs in --work-dir')
    parser.add_argument('--no-ap', action='store_true',
                        help='size and speed only: no training, no AP')
    parser.add_argument('--threads', type=int, default=2,
                        help='torch threads for the throughput benchmark')
    parser.add_argument('--windows', type=int, default=5,
                        help='timed windows per model and mode')
    parser.add_argument('--out', type=Path, default=None,
                        help='also write the markdown table here')
    return parser.parse_args(argv)


def run_name(config: str) -> str:
    """``td-hm_sg-hourglass_synthetic-...`` -> ``sg-hourglass``."""
    return Path(config).stem.split('_')[1]


def last_val_ap(work_dir: Path) -> Optional[float]:
    """CocoMetric AP of the last validation logged in ``work_dir``."""
    ap = None
    for scalars in sorted(work_dir.glob('*/vis_data/scalars.json')):
        for line in scalars.read_text().splitlines():
            record = json.loads(line)
            if 'coco/AP' in record:
                ap = record['coco/AP']
    return ap


def train(config: str, work_dir: Path) -> None:
    if not (DATA / 'person_keypoints_val.json').is_file():
        raise SystemExit(f'no synthetic data in {DATA.parent}: run '
                         f'`make data` first')
    cmd = [sys.executable, str(REPO_ROOT / 'tools' / 'train.py'), config,
           '--work-dir', str(work_dir)]
    print('+', ' '.join(cmd), flush=True)
    subprocess.run(cmd, cwd=REPO_ROOT, check=True)


def main(argv: Optional[Sequence[str]] = None) -> str:
    args = parse_args(argv)
    rows = []
    for label, config, ref, with_ap in PAIRS:
        report = benchmark.main([
            str(REPO_ROOT / config), '--ref', str(REPO_ROOT / ref),
            '--batch-size', '2', '--mode', 'both',
            '--threads', str(args.threads), '--windows', str(args.windows),
            '--iters-per-window', '1', '--warmup', '1'
        ])
        for key, cfg in (('ref', ref), ('config', config)):
            size = complexity.measure(str(REPO_ROOT / cfg), device='cpu')
            res = report['results'][key]
            ap = None
            if with_ap and not args.no_ap:
                work_dir = args.work_dir / run_name(cfg)
                if not args.skip_train:
                    train(cfg, work_dir)
                ap = last_val_ap(work_dir)
                if ap is None:
                    raise SystemExit(f'no CocoMetric AP logged in {work_dir}'
                                     f' (train it, or drop --skip-train)')
            rows.append(dict(
                label=label, config=cfg, model=res['model'],
                params=size['params'], flops=size['flops'],
                train=res['train']['images_per_s'],
                test=res['test']['images_per_s'], ap=ap))
    lines = [
        '| setting | backbone | params | FLOPs | train img/s | infer '
        'img/s | synthetic AP |', '|---|---|---|---|---|---|---|'
    ]
    for row in rows:
        ap = 'not run' if row['ap'] is None else f'{row["ap"]:.3f}'
        lines.append(
            f'| {row["label"]} | `{Path(row["config"]).name}` | '
            f'{row["params"] / 1e6:.2f} M | {row["flops"] / 1e9:.2f} G | '
            f'{row["train"]:.2f} | {row["test"]:.2f} | {ap} |')
    table = '\n'.join(lines)
    print(table)
    if args.out is not None:
        args.out.write_text(table + '\n')
    return table

