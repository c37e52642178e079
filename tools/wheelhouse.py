"""Collect into one folder everything ``tools/install.sh --offline`` needs
for a named Python version and platform, over a preinstalled PyTorch.

Run where there is network (``make wheelhouse``), copy the folder to the
machine without, then ``tools/install.sh --offline DIR`` there. The folder
holds:

- binary wheels of the stack and of everything it imports (MMEngine, MMDet,
  matplotlib, scipy, pycocotools, shapely, ... resolved by pip for the
  target Python and platform, ``requirements/runtime.txt``) and of the build
  tools (``requirements/build.txt``: setuptools < 82, wheel, ninja, cython)
  and pytest, which ``python -m mmpose_ext verify_gpu`` runs the CUDA tier
  with (:data:`VERIFY_TOOLS`);
- MMPose's wheel without its unbuildable ``chumpy`` requirement
  (``tools/repack_wheel.py``);
- torchvision for the target PyTorch (``--torch``), without PyTorch;
- MMCV's and xtcocotools' sources (xtcocotools' wheels are built against
  numpy 1: over numpy 2 the install builds it), and an MMCV wheel for the
  target Python when pip is offered one (``PIP_FIND_LINKS``; the install
  uses it only if ``import mmcv.ops`` works with the target's PyTorch).

Not PyTorch, numpy or OpenCV: the target has them (``--with-numpy``,
``--with-opencv`` add them). The sdists' metadata is read by this Python,
which needs numpy and cython for xtcocotools' (the repository's ``.venv``
has both).

Example (the GPU target of docs/installation.md)::

    .venv/bin/python tools/wheelhouse.py -o wheelhouse/cp312 \\
        --python-version 3.12 --torch 2.11 --numpy 2
"""
import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Sequence

# siblings in tools/ (on sys.path when this file is run as a script)
from install_env import rewrite_constraints, torchvision_for
from repack_wheel import canonical_name, repack

__all__ = ['platform_tags', 'numpy_spec', 'resolution_requirements', 'main']

ROOT = Path(__file__).resolve().parents[1]
MMCV_VERSION = '2.1.0'
MMPOSE_VERSION = '1.3.2'
XTCOCOTOOLS_VERSION = '1.14.3'
#: installed by name from the wheelhouse, but not resolved with the rest:
#: sources (mmcv, xtcocotools), repacked (mmpose), or for one torch only
SPECIAL = {'mmcv', 'mmpose', 'xtcocotools', 'torch', 'torchvision'}
#: what the target already has; never collected unless asked for
TARGET_HAS = ('torch', 'numpy', 'opencv-python', 'opencv-python-headless',
              'opencv-contrib-python', 'opencv-contrib-python-headless',
              'triton')


def platform_tags(platform: str) -> List[str]:
    """Every platform tag a machine of ``platform`` runs, for pip's
    ``--platform`` (which takes ``manylinux_2_28_x86_64`` literally):
    ``manylinux_2_28_x86_64`` -> ``manylinux_2_28_x86_64``, ...,
    ``manylinux_2_5_x86_64``, ``manylinux2014_x86_64``, ...,
    ``manylinux1_x86_64``. Other tags are passed through."""
    match = re.fullmatch(r'manylinux_2_(\d+)_(\w+)', platform)
    if not match:
        return [platform]
    glibc, arch = int(match.group(1)), match.group(2)
    tags = [f'manylinux_2_{n}_{arch}' for n in range(glibc, 4, -1)]
    for alias, since in (('manylinux2014', 17), ('manylinux2010', 12),
                         ('manylinux1', 5)):
        if glibc >= since:
            tags.append(f'{alias}_{arch}')
    return tags


def numpy_spec(value: str) -> str:
    """``2`` -> ``numpy==2.*``, ``2.1`` -> ``numpy==2.1.*``, ``1.26.4``
    -> ``numpy==1.26.4``; a specifier (``>=2,<3``) is kept."""
    if re.fullmatch(r'\d+(\.\d+){0,1}', value):
        return f'numpy=={value}.*'
    if re.fullmatch(r'\d+(\.\d+)+', value):
        return f'numpy=={value}'
    return f'numpy{value}'


def resolution_requirements(files: Sequence[Path]) -> List[str]:
    """The requirement lines of ``files`` less the :data:`SPECIAL` ones."""
    lines = []
    for path in files:
        for line in path.read_text().splitlines():
            line = line.split('#')[0].strip()
            name = re.match(r'[A-Za-z0-9][A-Za-z0-9._-]*', line)
            if line and name and canonical_name(name.group()) not in SPECIAL:
                lines.append(line)
    return lines


class Collector:
    """pip downloads for one target Python and platform."""

    def __init__(self, python_version: str, platform: str, out: Path,
                 work: Path):
        self.out, self.work = out, work
        self.target = ['--python-version', python_version,
                       '--implementation', 'cp', '--only-binary=:all:']
        self.platforms = platform_tags(platform)
        match = re.fullmatch(r'(?:manylinux_\d+_\d+|manylinux\d+|linux)_(\w+)',
                             platform)
        self.arch = match.group(1) if match else ''

    def pip(self, *args: str, check: bool = True) -> bool:
        cmd = [sys.executable, '-m', 'pip', '--disable-pip-version-check',
               'download', '-q', *args]
        valued = {'--python-version', '--implementation', '--platform',
                  '-d', '-c', '-r'}
        shown = [a for i, a in enumerate(args) if not a.startswith('-')
                 and (i == 0 or args[i - 1] not in valued)]
        print('pip download', ' '.join(shown), flush=True)
        proc = subprocess.run(cmd, stdout=sys.stdout, stderr=subprocess.PIPE,
                              text=True)
        if proc.returncode and check:
            sys.stderr.write(proc.stderr)
            raise SystemExit(f'pip download failed ({proc.returncode})')
        return proc.returncode == 0

    def binary(self, *args: str, dest: Path, check: bool = True,
               extra_platforms: Sequence[str] = ()) -> bool:
        plats = [a for p in (*self.platforms, *extra_platforms)
                 for a in ('--platform', p)]
        return self.pip(*self.target, *plats, '-d', str(dest), *args,
                        check=check)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('-o', '--out', type=Path, required=True,
                        help='the folder to fill (must be new or empty)')
    parser.add_argument('--python-version', default='3.12',
                        help="the target's Python, e.g. 3.12 (default)")
    parser.add_argument('--platform', default='manylinux_2_28_x86_64',
                        help="the target's platform tag (default "
                        'manylinux_2_28_x86_64, what PyPI\'s PyTorch needs; '
                        'older manylinux tags are included)')
    parser.add_argument('--torch', default='2.11',
                        help="the target's PyTorch, for torchvision "
                        '(default 2.11)')
    parser.add_argument('--numpy', default='2',
                        help="the target's numpy: a version (2, 2.1, "
                        '1.26.4) or a specifier (default 2: any 2.x)')
    parser.add_argument('--no-torchvision', action='store_true',
                        help='the target has torchvision already')
    parser.add_argument('--with-numpy', action='store_true',
                        help='also collect numpy, for a target without it '
                        '(the install then asks for the pinned 1.26.4: '
                        'use --numpy 1.26.4)')
    parser.add_argument('--with-opencv', metavar='DIST',
                        help='also collect this OpenCV distribution; for a '
                        'target without OpenCV, opencv-python (the install '
                        'then asks for the pinned 4.11.0.86)')
    parser.add_argument('--exclude', action='append', default=[],
                        metavar='NAME',
                        help='leave out a distribution the target has')
    parser.add_argument('--target-freeze', type=Path, metavar='FILE',
                        help="the target's `pip list --format=freeze`: what "
                        'it has is resolved at its version and left out, '
                        'and it gives --torch and --numpy')
    return parser.parse_args(argv)


#: what the GPU verification (``verify_gpu``, docs/gpu.md) needs besides
#: the package: the CUDA tier runs under pytest
VERIFY_TOOLS = ['pytest']

#: never pinned from a target's freeze: the install needs its own
#: setuptools (< 82) and build tools
NOT_FROM_FREEZE = {'pip', 'setuptools', 'wheel'}


def read_freeze(path: Path) -> dict:
    """``{canonical name: version}`` of ``name==version`` lines."""
    found = {}
    for line in path.read_text().splitlines():
        name, sep, version = line.strip().partition('==')
        if sep and name and not name.startswith(('#', '-')):
            found[canonical_name(name)] = version.strip()
    return found


def main(argv=None) -> int:
    args = parse_args(argv)
    out = args.out.resolve()
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f'{out} is not empty: remove it or name another')
    out.mkdir(parents=True, exist_ok=True)
    start = time.time()
    has = read_freeze(args.target_freeze) if args.target_freeze else {}
    if 'torch' in has:
        args.torch = has['torch']
    if 'numpy' in has:
        args.numpy = has['numpy']
    if 'torchvision' in has:
        args.no_torchvision = True
    pins = {n: v for n, v in has.items()
            if n not in NOT_FROM_FREEZE and n not in SPECIAL and n != 'numpy'}
    keep = set()
    if args.with_numpy:
        keep.add('numpy')
    if args.with_opencv:
        keep.add(canonical_name(args.with_opencv))
    leave_out = ({canonical_name(n)
                  for n in (*TARGET_HAS, *args.exclude, *pins)} - keep)

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pip = Collector(args.python_version, args.platform, out, work)
        # the target's numpy decides which releases of scipy & co. fit
        constraints = work / 'constraints.txt'
        # the repository's opencv-python pin holds only where it is what
        # the install will put on the target (a target without OpenCV)
        unpinned = ['torch', 'torchvision', 'numpy']
        if 'opencv-python' not in keep:
            unpinned.append('opencv-python')
        constraints.write_text(rewrite_constraints(
            (ROOT / 'requirements/constraints.txt').read_text(), pins,
            unpinned) + numpy_spec(args.numpy) + '\n')
        requirements = work / 'requirements.txt'
        lines = resolution_requirements([ROOT / 'requirements/runtime.txt',
                                         ROOT / 'requirements/build.txt'])
        lines += VERIFY_TOOLS
        if args.with_opencv:
            lines.append(args.with_opencv)
        requirements.write_text('\n'.join(lines) + '\n')

        # 1. the stack and what it imports, resolved for the target
        resolved = work / 'resolved'
        pip.binary('-c', str(constraints), '-r', str(requirements),
                   dest=resolved)
        for path in sorted(resolved.iterdir()):
            name = canonical_name(path.name.split('-')[0])
            if name in leave_out or name.startswith('nvidia-'):
                print(f'  left out {path.name} (the target has it)')
                continue
            shutil.move(str(path), out / path.name)

        # 2. mmpose without chumpy
        pip.binary('--no-deps', f'mmpose=={MMPOSE_VERSION}',
                   dest=work / 'mmpose')
        wheel, = (work / 'mmpose').glob('*.whl')
        repack(wheel, out, drop=['chumpy'], local='nochumpy')

        # 3. torchvision for the target's torch, without torch
        if not args.no_torchvision:
            pip.binary('--no-deps', torchvision_for(args.torch), dest=out)

        # 4. sources, and the wheels that fit only some targets
        pip.pip('--no-deps', '--no-binary=:all:', '--no-build-isolation',
                '-d', str(out), f'mmcv=={MMCV_VERSION}',
                f'xtcocotools=={XTCOCOTOOLS_VERSION}')
        if not pip.binary('--no-deps', f'xtcocotools=={XTCOCOTOOLS_VERSION}',
                          dest=out, check=False):
            print('  no xtcocotools wheel for this Python: the install '
                  'builds it from its sdist')
        # an mmcv wheel only where pip is offered one (PIP_FIND_LINKS);
        # locally built ones are tagged linux_<arch>
        if not pip.binary('--no-deps', f'mmcv=={MMCV_VERSION}', dest=out,
                          check=False,
                          extra_platforms=[f'linux_{pip.arch}']
                          if pip.arch else []):
            print('  no mmcv wheel offered: the install builds it from its '
                  'sdist')

    files = sorted(p for p in out.iterdir() if p.is_file())
    total = sum(p.stat().st_size for p in files)
    manifest = [f'# tools/wheelhouse.py {" ".join(argv or sys.argv[1:])}',
                f'# {len(files)} files, {total / 2**20:.1f} MiB']
    manifest += [f'{p.stat().st_size:>10}  {p.name}' for p in files]
    (out / 'MANIFEST.txt').write_text('\n'.join(manifest) + '\n')
    print(f'{out}: {len(files)} files, {total / 2**20:.1f} MiB, '
          f'in {time.time() - start:.0f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
