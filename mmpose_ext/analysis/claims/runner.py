"""The claims runner: ``claims ROW`` trains and tests a row's runs.

``python tools/analysis/claims.py ROW [--work-dir work_dirs/claims]
[--docs-dir docs] [--data-root DIR] [--device DEV] [--epochs N]
[--cfg-options ...] [--dry-run | --report-only | --rerun]`` (or ``make
claims ROW=...``) trains every arm of one row of the claims table
(:data:`.rows.ROWS`) with every seed of the row (fixed in the row, eight
per arm) through the package's normal path (``tools/train.py`` on an
ordinary config under ``configs/claims/``, then ``tools/test.py`` on its
last checkpoint), and writes the row with :func:`.report.write_row`
(``DOCS/claims/ROW.{json,png}`` and ``DOCS/claims.md``).

A run is finished when its ``WORK_DIR/runs/CONFIG/seedS/result.json`` or a
record in ``DOCS/claims/*.json`` has the digest of the same merged config
(:func:`config_digest`); finished runs are skipped, so an interrupted row
resumes where it stopped (an interrupted run restarts) and a changed
config is re-run. The row's files are rewritten after every run, with a
progress line and the row's ETA on stderr. ``--report-only`` rewrites them
from what is finished without training; ``--dry-run`` prints the commands
of the runs still to do; ``--rerun`` runs the whole row again.

``--data-root DIR`` points every arm at a COCO-layout dataset
(``DIR/annotations/person_keypoints_{train,val}2017.json``, images in
``DIR/{train,val}2017/``, ground-truth boxes for testing), ``--device``
selects the device of every run (``cuda``, ``cuda:N`` or ``cpu``),
``--epochs`` replaces the budget's epoch count and ``--cfg-options`` is
passed to every run: the same command at paper scale (``docs/claims.md``).
"""
from __future__ import annotations

import argparse
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

from ...package_files import checkout_root
from ..training_curves import read_scalars
from .report import clock, summarize_row, write_row
from .rows import ROWS, Arm, Row

#: The checkout the rows run in (configs, tools/, data/, docs/): the
#: claims table is a development command, not part of an installed wheel.
REPO_ROOT = checkout_root() or Path.cwd()

#: Top-level config keys that do not change what a run computes, left out
#: of :func:`config_digest`: ``model_wrapper_cfg`` acts only when a run is
#: launched distributed, and claims runs are single-process.
DIGEST_IGNORED_KEYS = ('model_wrapper_cfg', )

__all__ = [
    'DIGEST_IGNORED_KEYS', 'REPO_ROOT', 'RowRunner', 'config_digest',
    'format_progress', 'main', 'parse_args', 'run_overrides'
]


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The command line of ``claims ROW`` (the seeds are the row's)."""
    parser = argparse.ArgumentParser(
        description='Train and test every arm x seed of one claims row and '
        'write it into the claims table')
    parser.add_argument('row', choices=sorted(ROWS), help='the row to run')
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
        Keys of :data:`DIGEST_IGNORED_KEYS` are left out.
    """
    cfg = _load_config(config, options)
    for key in DIGEST_IGNORED_KEYS:
        cfg.pop(key, None)
    text = cfg.pretty_text
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
        eta = clock(elapsed / rate_done * max(total - done, 0.0))
    else:
        eta = '?'
    return (f'[{bar}] {done:.1f}/{total:g} epochs  {clock(elapsed)} '
            f'elapsed, ETA {eta}  {label}')


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
        self.seeds = list(row.seeds)

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
        from .. import complexity
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
        record = summarize_row(self.row, runs, sizes, dict(
            epochs=epochs, command=self.command(),
            data=self.args.data_root or 'synthetic COCO (make data)',
            machine=_machine(self.args.device)))
        previous = self.args.docs_dir / 'claims' / f'{self.row.name}.json'
        if previous.is_file():  # no new run: keep the date of the last one
            old = json.loads(previous.read_text())
            if _digests(old) == _digests(record):
                record['updated'] = old.get('updated', record['updated'])
        write_row(record, self.args.docs_dir)
        return record

    def command(self) -> str:
        extra = []
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


def _digests(record: dict) -> List[str]:
    """The digests of a row record's finished runs."""
    return sorted(run['digest'] for arm in record.get('arms', {}).values()
                  for run in arm.get('runs', {}).values())


def _machine(device: Optional[str]) -> str:
    """Where the runs ran, for the table."""
    import torch
    if device != 'cpu' and torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f'{os.cpu_count()} CPU cores ({platform.machine()})'


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """``claims ROW ...``: run (or report) one row; returns its record."""
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
