"""Plot the training loss and validation AP of an MMEngine run.

``python tools/analysis/plot_training.py WORK_DIR [--out PNG]`` reads the
newest ``WORK_DIR/<timestamp>/vis_data/scalars.json`` that MMEngine's
``LocalVisBackend`` wrote, saves a two-panel PNG and prints the run's
:func:`peak_over_best` (how close it came to the divergence stop of
``NonFiniteLossHook``; with ``default_hooks.logger.interval=1`` the logged
losses are the per-iteration ones the hook sees).
"""
import argparse
import json
import math
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

# the object-oriented API: no pyplot state, no GUI backend to select
from matplotlib.figure import Figure

__all__ = [
    'main', 'parse_args', 'peak_over_best', 'plot_curves', 'read_scalars'
]


def peak_over_best(losses: Sequence[float], window: int = 20) -> float:
    """The largest ratio of the mean of the last ``window`` losses (fewer
    at the start) to the lowest such mean before it (inclusive), as
    ``NonFiniteLossHook`` compares them; ``nan`` without losses."""
    best, ratios = math.inf, []
    for end in range(1, len(losses) + 1):
        recent = losses[max(0, end - window):end]
        mean = sum(recent) / len(recent)
        best = min(best, mean)
        if best > 0:
            ratios.append(mean / best)
    return max(ratios, default=math.nan)


def read_scalars(work_dir: Path) -> Tuple[Dict[str, List], Dict[str, List]]:
    """Training and validation series of the newest run in ``work_dir``.

    Args:
        work_dir (Path): an MMEngine work directory.

    Returns:
        tuple[dict, dict]: ``{'iter': [...], 'loss': [...]}`` and
        ``{'epoch': [...], 'AP': [...]}``.
    """
    runs = sorted(work_dir.glob('*/vis_data/scalars.json'),
                  key=lambda p: p.stat().st_mtime)
    if not runs:
        raise FileNotFoundError(
            f'no */vis_data/scalars.json under {work_dir}: is it the '
            'work dir of a training run with LocalVisBackend?')
    train: Dict[str, List] = {'iter': [], 'loss': []}
    val: Dict[str, List] = {'epoch': [], 'AP': []}
    for line in runs[-1].read_text().splitlines():
        record = json.loads(line)
        if 'loss' in record:
            train['iter'].append(record['step'])
            train['loss'].append(record['loss'])
        elif 'coco/AP' in record:
            val['epoch'].append(record['step'])
            val['AP'].append(record['coco/AP'])
    return train, val


def plot_curves(train: Dict[str, List], val: Dict[str, List],
                out: Path) -> None:
    """Save the loss (log scale) and AP panels of :func:`read_scalars`'s
    series as a PNG."""
    fig = Figure(figsize=(10, 4))
    ax_loss, ax_ap = fig.subplots(1, 2)
    ax_loss.plot(train['iter'], train['loss'])
    ax_loss.set(xlabel='iteration', ylabel='training loss', yscale='log',
                title='Training loss')
    ax_ap.plot(val['epoch'], val['AP'], marker='o')
    ax_ap.set(xlabel='epoch', ylabel='CocoMetric AP', ylim=(0, 1),
              title='Validation AP')
    for ax in (ax_loss, ax_ap):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dir', type=Path)
    parser.add_argument('--out', type=Path, default=None,
                        help='PNG path (default: WORK_DIR/curves.png)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> Path:
    """Read and plot; returns the PNG path."""
    args = parse_args(argv)
    train, val = read_scalars(args.work_dir)
    out = args.out or args.work_dir / 'curves.png'
    plot_curves(train, val, out)
    print(f'saved {out}')
    print(f'peak of the 20-iteration mean loss over its best: '
          f'{peak_over_best(train["loss"]):.3g} (logged losses)')
    return out
