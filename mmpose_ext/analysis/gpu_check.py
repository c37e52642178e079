"""Verify a GPU machine in one command: the CUDA tier and a short
benchmark, in one report.

``python tools/verify_gpu.py [--out DIR] [--budget S] [--bench-budget S]
[--device DEV] [--no-tier] [--no-bench] [-k EXPR]`` (also ``python -m
mmpose_ext verify_gpu``) writes ``report.json`` and ``report.md`` into
``--out`` (default ``work_dirs/verify_gpu/<UTC time>``):

* the machine: GPU names and memory, the NVIDIA driver (``nvidia-smi``),
  PyTorch, its CUDA and cuDNN, the OpenMMLab versions;
* the benchmark (run first, :mod:`.benchmark` in a subprocess): on CUDA
  every family's paper config and MMPose's HRNet-W32, SimpleBaseline
  ResNet-50 and 2-stage MSPN-50 (``--mmpose-refs``) at batch 32, float32
  and ``--amp``, each config's channels-last and no compilation (the full
  grid with ``compile`` is ``tools/benchmark.py``'s, docs/gpu.md); on the
  CPU one narrow MCA hourglass at 64x64, so that the command is checked
  everywhere in seconds;
* the CUDA tier (``pytest -m cuda`` on :func:`~mmpose_ext.package_files.
  cuda_tier_dir`, the checkout's ``tests/test_cuda`` or the installed
  wheel's copy, in a subprocess): every test's outcome, duration and
  message, collected by this module as a pytest plugin. The tier runs in
  the time left of ``--budget``; tests it does not reach are reported as
  ``not run``. Without CUDA every tier test is skipped with its reason.

The exit status is 0 when the verdict is ``pass`` (CUDA present, every
tier test passed, every benchmark run finished) or ``cpu-only`` (no CUDA:
nothing failed), 1 otherwise. The report's fields are listed in
docs/gpu.md.
"""
import argparse
import datetime
import importlib.util
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import torch

from ..package_files import config_path, cuda_tier_dir, tool_path

__all__ = [
    'BENCH_CONFIGS', 'TIER_ORDER', 'environment', 'main', 'parse_args',
    'run_benchmarks', 'run_tier', 'verdict', 'write_markdown'
]

#: The CUDA benchmark's configs: each family's paper configuration.
BENCH_CONFIGS = (
    'mca_hourglass/mca_hourglass_coco.py',
    'hourglass/td-hm_res-hourglass-4x256_8xb32-210e_coco-256x256.py',
    'soft_gated/td-hm_sg-hourglass-4x144_8xb32-210e_coco-256x256.py',
    'cpn/cpn_res50_8xb64-210e_coco-256x192.py',
    'mspn/mspn50-2stage_8xb32-210e_coco-256x192.py',
    'hrnet/td-hm_hrnet-w32_ohkm_8xb64-210e_coco-256x192.py',
)
#: The CPU run's narrow model (seconds per run).
CPU_BENCH_CONFIG = """_base_ = ['{base}']
model = dict(backbone=dict(
    feat_channels=16, stem_block_channels=((8, ), (16, 16))))
"""
#: Tier files in the order they run: cheap first, so that a run cut by
#: the budget has the most tests done; files not listed run last.
TIER_ORDER = ('test_interpolate_cuda.py', 'test_training_cuda.py',
              'test_devices_cuda.py', 'test_ddp_cuda.py',
              'test_checkpoints_cuda.py', 'test_compile_cuda.py')
#: The plugin's event file (set for the tier's pytest process).
LOG_ENV = 'MMPOSE_EXT_GPU_CHECK_LOG'
OUTCOMES = ('passed', 'failed', 'error', 'skipped', 'not run')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0].replace('\n', ' '),
        epilog='The report format is described in docs/gpu.md.')
    parser.add_argument('--out', type=Path, default=None, metavar='DIR',
                        help='report folder (default: work_dirs/verify_gpu/'
                        '<UTC time>)')
    parser.add_argument('--budget', type=float, default=570, metavar='S',
                        help='seconds for the benchmark and the tier '
                        'together; the tier gets what the benchmark leaves '
                        '(default: %(default)s)')
    parser.add_argument('--bench-budget', type=float, default=200,
                        metavar='S',
                        help='seconds for the benchmark runs (default: '
                        '%(default)s)')
    parser.add_argument('--device', default=None, metavar='DEV',
                        help='benchmark device (default: cuda if available, '
                        'else cpu)')
    parser.add_argument('--batch-size', type=int, default=None, metavar='N',
                        help='benchmark batch (default: 32 on CUDA, 2 on '
                        'the CPU)')
    parser.add_argument('--no-tier', action='store_true',
                        help='skip the CUDA tier')
    parser.add_argument('--no-bench', action='store_true',
                        help='skip the benchmark')
    parser.add_argument('-k', dest='select', default=None, metavar='EXPR',
                        help='run only the tier tests matching this pytest '
                        '-k expression')
    args = parser.parse_args(argv)
    if args.budget <= 0 or args.bench_budget <= 0:
        parser.error('--budget and --bench-budget must be > 0')
    if args.batch_size is not None and args.batch_size < 1:
        parser.error('--batch-size must be >= 1')
    if args.device is not None:
        device = torch.device(args.device)
        if device.type == 'cuda' and not torch.cuda.is_available():
            parser.error(f'--device {args.device}: CUDA is not available')
    return args


# ------------------------------------------------------------ environment
def _nvidia_smi(query: str) -> Optional[List[str]]:
    exe = shutil.which('nvidia-smi')
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, f'--query-gpu={query}', '--format=csv,noheader'],
            capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def _version(module: str) -> Optional[str]:
    try:
        return __import__(module).__version__
    except ImportError:
        return None


def environment() -> dict:
    """The machine and software the report was made on."""
    gpus = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            prop = torch.cuda.get_device_properties(i)
            gpus.append(dict(name=prop.name,
                             memory_gib=round(prop.total_memory / 2**30, 1),
                             capability=f'{prop.major}.{prop.minor}'))
    drivers = _nvidia_smi('driver_version')
    cudnn = torch.backends.cudnn.version() if (
        torch.backends.cudnn.is_available()) else None
    return dict(
        gpus=gpus, driver=drivers[0] if drivers else None,
        torch=torch.__version__, cuda=torch.version.cuda,
        cudnn=cudnn, cuda_available=torch.cuda.is_available(),
        python=platform.python_version(), platform=platform.platform(),
        cpu_count=os.cpu_count(),
        versions={name: _version(name) for name in (
            'mmpose_ext', 'mmpose', 'mmengine', 'mmcv', 'numpy')})


# ------------------------------------------------------------ pytest plugin
def _event(record: dict) -> None:
    path = os.environ.get(LOG_ENV)
    if path:
        with open(path, 'a') as f:
            f.write(json.dumps(record) + '\n')


def pytest_collection_finish(session) -> None:
    """Plugin hook (``pytest -p mmpose_ext.analysis.gpu_check``): the
    tests selected to run."""
    _event(dict(collected=[item.nodeid for item in session.items]))


def pytest_runtest_logreport(report) -> None:
    """Plugin hook: one test phase's outcome."""
    if report.when == 'call' or report.outcome != 'passed':
        if report.skipped:
            longrepr = report.longrepr
            message = (longrepr[2] if isinstance(longrepr, tuple) else
                       str(longrepr))
            outcome = 'skipped'
        elif report.failed:
            message = report.longreprtext[-3000:]
            outcome = 'failed' if report.when == 'call' else 'error'
        else:
            message, outcome = '', 'passed'
        _event(dict(id=report.nodeid, when=report.when, outcome=outcome,
                    duration_s=report.duration, message=message))


# ------------------------------------------------------------------ tier
def tier_files(tier: Path) -> List[Path]:
    """The tier's test files in :data:`TIER_ORDER`."""
    found = sorted(tier.glob('test_*_cuda.py'))
    rank = {name: i for i, name in enumerate(TIER_ORDER)}
    return sorted(found, key=lambda p: (rank.get(p.name, len(rank)), p.name))


def run_tier(out_dir: Path, budget_s: float,
             select: Optional[str] = None) -> dict:
    """``pytest -m cuda`` on the CUDA tier in a subprocess, stopped after
    ``budget_s`` seconds; every selected test's outcome."""
    tier = cuda_tier_dir()
    if importlib.util.find_spec('pytest') is None:
        message = ('pytest is not installed in this environment: pip '
                   'install pytest (offline: add its wheel to the '
                   'wheelhouse, docs/gpu.md)')
        return dict(dir=str(tier), command=None, returncode=None,
                    timed_out=False, budget_s=budget_s, duration_s=0.0,
                    counts=dict.fromkeys(OUTCOMES, 0), tests=[],
                    error=message, log=None)
    log = out_dir / 'tier_events.jsonl'
    log.unlink(missing_ok=True)
    cmd = [sys.executable, '-m', 'pytest', '-m', 'cuda', '-p',
           'mmpose_ext.analysis.gpu_check', '-p', 'no:cacheprovider', '-q',
           '-rA', *map(str, tier_files(tier))]
    if select:
        cmd += ['-k', select]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE='1', PYTHONUNBUFFERED='1',
               **{LOG_ENV: str(log)})
    start = time.perf_counter()
    with open(out_dir / 'tier_pytest.log', 'w') as output:
        # its own process group: the budget stops the tools it started too
        proc = subprocess.Popen(cmd, stdout=output, stderr=subprocess.STDOUT,
                                env=env, cwd=out_dir, start_new_session=True)
        try:
            returncode, timed_out = proc.wait(timeout=max(1, budget_s)), False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            returncode, timed_out = proc.wait(), True
    collected: List[str] = []
    results: Dict[str, dict] = {}
    if log.is_file():
        for line in log.read_text().splitlines():
            event = json.loads(line)
            if 'collected' in event:
                collected = event['collected']
                continue
            prior = results.get(event['id'])
            # a teardown error after a pass or failure is still an error
            if prior is None or event['outcome'] in ('failed', 'error'):
                results[event['id']] = event
    tests = []
    for nodeid in collected or list(results):
        event = results.get(nodeid)
        tests.append(dict(
            id=nodeid, outcome=event['outcome'] if event else 'not run',
            duration_s=round(event['duration_s'], 3) if event else None,
            message=event['message'] if event else (
                'not reached within the budget' if timed_out else '')))
    counts = {o: sum(t['outcome'] == o for t in tests) for o in OUTCOMES}
    return dict(dir=str(tier), command=cmd, returncode=returncode,
                timed_out=timed_out, budget_s=budget_s,
                duration_s=round(time.perf_counter() - start, 1),
                counts=counts, tests=tests, log=str(out_dir /
                                                   'tier_pytest.log'))


# ------------------------------------------------------------- benchmark
def benchmark_plans(device: torch.device, out_dir: Path,
                    batch_size: Optional[int]) -> List[dict]:
    """The benchmark runs: ``name`` and ``tools/benchmark.py`` arguments."""
    if device.type == 'cuda':
        configs = [str(config_path(c)) for c in BENCH_CONFIGS]
        common = [*configs, '--mmpose-refs', '--device', str(device),
                  '--batch-size', str(batch_size or 32), '--windows', '3',
                  '--iters-per-window', '3', '--warmup', '2',
                  '--pipeline-images', '20']
        return [dict(name='fp32', argv=common),
                dict(name='amp', argv=[*common, '--amp'])]
    tiny = out_dir / 'tiny_mca_hourglass.py'
    tiny.write_text(CPU_BENCH_CONFIG.format(base=config_path(
        'synthetic/mca_hourglass_synthetic-coco-128x96.py').as_posix()))
    return [dict(name='fp32', argv=[
        str(tiny), '--device', str(device), '--batch-size',
        str(batch_size or 2), '--input-shape', '64', '64', '--windows', '1',
        '--iters-per-window', '1', '--warmup', '0', '--threads', '1',
        '--pipeline-images', '2'])]


def run_benchmarks(device: torch.device, out_dir: Path, budget_s: float,
                   batch_size: Optional[int] = None) -> dict:
    """Each plan of :func:`benchmark_plans` in a subprocess, with what is
    left of ``budget_s``; their JSON reports."""
    runs = []
    start = time.perf_counter()
    for plan in benchmark_plans(device, out_dir, batch_size):
        left = budget_s - (time.perf_counter() - start)
        json_path = out_dir / f'benchmark_{plan["name"]}.json'
        cmd = [sys.executable, str(tool_path('benchmark')), *plan['argv'],
               '--json', str(json_path)]
        run = dict(name=plan['name'], command=cmd, returncode=None,
                   timed_out=left <= 0, report=None)
        if left > 0:
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True,
                                      timeout=left, cwd=out_dir)
                run['returncode'] = proc.returncode
                output = proc.stdout + proc.stderr
            except subprocess.TimeoutExpired as err:
                run['timed_out'] = True
                output = (err.stdout or b'').decode(errors='replace') if (
                    isinstance(err.stdout, bytes)) else (err.stdout or '')
            (out_dir / f'benchmark_{plan["name"]}.log').write_text(output)
            run['output_tail'] = output[-3000:]
            if json_path.is_file() and run['returncode'] == 0:
                run['report'] = json.loads(json_path.read_text())
        runs.append(run)
    return dict(device=str(device), budget_s=budget_s,
                duration_s=round(time.perf_counter() - start, 1), runs=runs)


# ---------------------------------------------------------------- report
def verdict(report: dict) -> str:
    """``pass``, ``cpu-only`` or ``fail`` (module doc)."""
    tier = report.get('tier')
    bench = report.get('benchmark')
    failed = bool(tier and (tier['counts']['failed'] or
                            tier['counts']['error'] or
                            tier['timed_out'] and tier['counts']['not run']))
    failed |= bool(tier and tier['returncode'] not in (0, 5) and not
                   tier['timed_out'])  # 5: nothing collected / selected
    failed |= bool(tier and tier.get('error'))
    failed |= bool(bench and any(r['returncode'] != 0
                                 for r in bench['runs']))
    if failed:
        return 'fail'
    if not report['environment']['cuda_available']:
        return 'cpu-only'
    return 'pass'


def _fmt(value, spec: str = '.1f') -> str:
    return '' if value is None else format(value, spec)


def write_markdown(report: dict, path: Path) -> None:
    """``report.md``: the machine, the verdict, the benchmark tables and
    every tier test's outcome."""
    env = report['environment']
    gpus = ', '.join(f'{g["name"]} ({g["memory_gib"]} GiB, sm '
                     f'{g["capability"]})' for g in env['gpus']) or 'none'
    lines = [
        '# GPU verification report', '',
        f'- verdict: **{report["verdict"]}**',
        f'- created: {report["created"]} ({report["duration_s"]:.0f} s)',
        f'- GPU: {gpus}; driver {env["driver"] or "unknown"}',
        f'- PyTorch {env["torch"]}, CUDA {env["cuda"]}, cuDNN '
        f'{env["cudnn"]}; Python {env["python"]}, {env["cpu_count"]} CPUs',
        '- ' + ', '.join(f'{k} {v}' for k, v in env['versions'].items()),
        f'- command: `{" ".join(report["command"])}`', ''
    ]
    bench = report.get('benchmark')
    if bench:
        lines += [f'## Benchmark ({bench["device"]})', '']
        for run in bench['runs']:
            res = run['report']
            if res is None:
                lines += [f'### {run["name"]}: no figures (exit status '
                          f'{run["returncode"]}, timed out: '
                          f'{run["timed_out"]})', '']
                continue
            lines += [
                f'### {run["name"]}: batch {res["batch_size"]}, AMP '
                f'{"on" if res["amp"] else "off"}, fast path '
                f'{res["fast_path"]}', '',
                '| model | input | mode | images/s | ms/iter | peak MB | '
                'total MB | data pipeline ms/image |',
                '|---|---|---|---|---|---|---|---|'
            ]
            for label, r in res['results'].items():
                pipe = r.get('data_pipeline')
                h, w = r['input_size']
                for mode in res['modes']:
                    m = r[mode]
                    pipe_ms = pipe['s_per_image'] * 1e3 if (
                        pipe and mode == 'train') else None
                    lines.append(
                        f'| {label} | {h}x{w} | {mode} | '
                        f'{m["images_per_s"]:.1f} | '
                        f'{m["median_s_per_iter"] * 1e3:.1f} | '
                        f'{m["peak_memory_mb"]:.0f} | '
                        f'{m["total_memory_mb"]:.0f} | {_fmt(pipe_ms)} |')
            lines.append('')
    tier = report.get('tier')
    if tier:
        counts = ', '.join(f'{n} {o}' for o, n in tier['counts'].items())
        stopped = ' (stopped at the budget)' if tier['timed_out'] else ''
        if tier.get('error'):
            lines += ['## CUDA tier', '', f'not run: {tier["error"]}', '']
        lines += [] if tier.get('error') else [
            '## CUDA tier', '',
            f'{counts}; {tier["duration_s"]:.0f} s of a '
            f'{tier["budget_s"]:.0f} s budget{stopped}; pytest exit '
            f'status {tier["returncode"]}; tests from `{tier["dir"]}`', '',
            '| test | outcome | s | message |',
            '|---|---|---|---|'
        ]
        for test in tier['tests']:
            message = ' '.join(test['message'].split())[-200:].replace(
                '|', '\\|')
            lines.append(f'| `{test["id"]}` | {test["outcome"]} | '
                         f'{_fmt(test["duration_s"])} | {message} |')
        lines.append('')
    path.write_text('\n'.join(lines))


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the verification; returns the exit status (module doc)."""
    args = parse_args(argv)
    start = time.perf_counter()
    created = datetime.datetime.now(datetime.timezone.utc)
    out = args.out or Path('work_dirs') / 'verify_gpu' / created.strftime(
        '%Y%m%d_%H%M%S')
    out.mkdir(parents=True, exist_ok=True)
    out = out.resolve()
    device = torch.device(args.device or (
        'cuda' if torch.cuda.is_available() else 'cpu'))
    report = dict(created=created.isoformat(timespec='seconds'),
                  command=[Path(sys.argv[0]).name, *(
                      sys.argv[1:] if argv is None else argv)],
                  environment=environment(), budget_s=args.budget)
    if not args.no_bench:
        print(f'[verify_gpu] benchmark on {device} ...', flush=True)
        report['benchmark'] = run_benchmarks(
            device, out, min(args.bench_budget, args.budget),
            args.batch_size)
    if not args.no_tier:
        left = args.budget - (time.perf_counter() - start)
        print(f'[verify_gpu] CUDA tier ({left:.0f} s left) ...', flush=True)
        report['tier'] = run_tier(out, left, args.select)
    report['duration_s'] = round(time.perf_counter() - start, 1)
    report['verdict'] = verdict(report)
    (out / 'report.json').write_text(json.dumps(report, indent=2))
    write_markdown(report, out / 'report.md')
    tier = report.get('tier')
    summary = ', '.join(f'{n} {o}' for o, n in tier['counts'].items()
                        ) if tier else 'tier not run'
    print(f'[verify_gpu] {report["verdict"]}: {summary}; report in '
          f'{out / "report.md"} and report.json', flush=True)
    return 0 if report['verdict'] in ('pass', 'cpu-only') else 1
