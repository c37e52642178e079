"""What ``tools/install.sh`` keeps of an environment, and the pins it
installs under.

Run by the target environment's Python (standard library only: nothing
else is installed yet). ``plan`` looks at the PyTorch, torchvision, NumPy
and OpenCV already there, refuses a PyTorch older than the supported one,
writes the constraints file for the other pip calls (the repository's pins
with those of what is kept replaced by the installed versions, so no pip
call can replace them) and prints shell assignments for ``install.sh``::

    python tools/install_env.py plan \\
        --constraints requirements/constraints.txt --out /tmp/constraints.txt
"""
import argparse
import importlib
import re
import shlex
import sys
from importlib import metadata
from pathlib import Path
from typing import Dict, Iterable, Optional, Tuple

__all__ = [
    'MIN_TORCH', 'OPENCV_DISTS', 'version_tuple', 'torchvision_for',
    'probe', 'check_torch', 'rewrite_constraints', 'plan'
]

#: The oldest PyTorch the package supports (tested: 2.11 and 2.14).
MIN_TORCH = (2, 11)
#: The newest minor release whose torchvision is known (2.14 -> 0.29).
NEWEST_KNOWN_TORCH = (2, 14)
#: The distributions that provide ``cv2``; MMEngine, MMCV and MMPose ask for
#: the first.
OPENCV_DISTS = ('opencv-python', 'opencv-python-headless',
                'opencv-contrib-python', 'opencv-contrib-python-headless')


def version_tuple(version: str) -> Tuple[int, ...]:
    """The leading numeric release of a version: ``'2.11.0+cu130'`` ->
    ``(2, 11, 0)``."""
    numbers = []
    for part in version.split('+')[0].split('.'):
        match = re.match(r'\d+', part)
        if not match:
            break
        numbers.append(int(match.group()))
        if match.group() != part:
            break
    return tuple(numbers)


def torchvision_for(torch_version: str) -> str:
    """The torchvision release series built for a PyTorch release:
    2.11 -> ``torchvision==0.26.*`` (0.(minor + 15) since PyTorch 2.0)."""
    major, minor = version_tuple(torch_version)[:2]
    if major != 2:
        raise ValueError(f'no known torchvision for PyTorch {torch_version}')
    return f'torchvision==0.{minor + 15}.*'


def _dist_version(name: str) -> Optional[str]:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def probe() -> Dict[str, str]:
    """What the running interpreter's environment has (empty strings for
    what is missing).

    Keys: ``TORCH_VERSION`` (``torch.__version__``), ``TORCH_DIST_VERSION``
    (the installed distribution's, '' without one), ``TORCH_CUDA`` (CUDA
    version of the build, ''
    for a CPU build), ``TORCH_ERROR`` (why an installed ``torch`` fails to
    import), ``TORCHVISION_VERSION``, ``NUMPY_VERSION``, ``OPENCV_DIST``,
    ``OPENCV_VERSION``, ``PYTHON_VERSION``.
    """
    found = dict(TORCH_VERSION='', TORCH_DIST_VERSION='', TORCH_CUDA='',
                 TORCH_ERROR='',
                 TORCHVISION_VERSION=_dist_version('torchvision') or '',
                 NUMPY_VERSION=_dist_version('numpy') or '',
                 OPENCV_DIST='', OPENCV_VERSION='',
                 PYTHON_VERSION='%d.%d' % sys.version_info[:2])
    try:
        torch = importlib.import_module('torch')
    except ModuleNotFoundError as exc:
        if exc.name != 'torch':  # torch is there but misses a module
            found['TORCH_ERROR'] = f'{type(exc).__name__}: {exc}'
    except Exception as exc:  # noqa: BLE001 (reported, not hidden)
        found['TORCH_ERROR'] = f'{type(exc).__name__}: {exc}'
    else:
        # the build's own version names its variant (2.11.0+cu130); the
        # distribution's may not
        found['TORCH_VERSION'] = str(getattr(torch, '__version__', ''))
        found['TORCH_DIST_VERSION'] = _dist_version('torch') or ''
        cuda = getattr(getattr(torch, 'version', None), 'cuda', None)
        found['TORCH_CUDA'] = cuda or ''
    for name in OPENCV_DISTS:
        version = _dist_version(name)
        if version:
            found['OPENCV_DIST'], found['OPENCV_VERSION'] = name, version
            break  # opencv-python first: then nothing is rewritten
    return found


def check_torch(version: str) -> Optional[str]:
    """An error message for a PyTorch the package does not support, else
    ``None``."""
    release = version_tuple(version)
    if release[:2] < MIN_TORCH:
        return (f'PyTorch {version} is older than the supported minimum '
                f'{".".join(map(str, MIN_TORCH))}: upgrade it, or install '
                'into an environment without PyTorch (the install then '
                'brings torch 2.14.1)')
    return None


def _requirement_name(line: str) -> str:
    match = re.match(r'\s*([A-Za-z0-9][A-Za-z0-9._-]*)', line)
    return re.sub(r'[-_.]+', '-', match.group(1)).lower() if match else ''


def rewrite_constraints(text: str, pins: Dict[str, str],
                        drop: Iterable[str] = ()) -> str:
    """The constraints text with the lines for ``pins`` and ``drop``
    removed and ``name==version`` lines for ``pins`` appended."""
    removed = {_requirement_name(n) for n in (*pins, *drop)}
    lines = [
        line for line in text.splitlines()
        if line.lstrip().startswith('#') or not line.strip()
        or _requirement_name(line) not in removed
    ]
    if pins:
        lines.append('# kept from the environment (tools/install_env.py)')
        lines += [f'{name}=={version}' for name, version in pins.items()]
    return '\n'.join(lines) + '\n'


def plan(found: Dict[str, str], constraints: str) -> Tuple[Dict[str, str],
                                                           str]:
    """Decisions for ``install.sh`` from :func:`probe`'s findings.

    Returns:
        tuple[dict, str]: shell variables (``found`` plus ``TORCHVISION_SPEC``
        (what to install, '' when torchvision is there), ``OPENCV_REWRITE``
        (the OpenCV distribution the stack's ``opencv-python`` requirement
        is pointed at, '' for none), ``NUMPY_MAJOR``) and the constraints
        text for the other pip calls.

    Raises:
        ValueError: PyTorch does not import or is too old.
    """
    if found['TORCH_ERROR']:
        raise ValueError('torch is installed but does not import '
                         f'({found["TORCH_ERROR"]}): repair or remove it '
                         'first')
    out = dict(found, TORCHVISION_SPEC='', OPENCV_REWRITE='', NUMPY_MAJOR='')
    pins, drop = {}, []
    torch = found['TORCH_VERSION']
    if torch:
        error = check_torch(torch)
        if error:
            raise ValueError(error)
        # a torch without distribution metadata cannot be pinned (pip does
        # not know it either)
        if found['TORCH_DIST_VERSION']:
            pins['torch'] = found['TORCH_DIST_VERSION']
        if found['TORCHVISION_VERSION']:
            pins['torchvision'] = found['TORCHVISION_VERSION']
        else:
            out['TORCHVISION_SPEC'] = torchvision_for(torch)
            drop.append('torchvision')
    if found['NUMPY_VERSION']:
        pins['numpy'] = found['NUMPY_VERSION']
        out['NUMPY_MAJOR'] = str(version_tuple(found['NUMPY_VERSION'])[0])
    if found['OPENCV_DIST']:
        drop.append('opencv-python')
        pins[found['OPENCV_DIST']] = found['OPENCV_VERSION']
        if found['OPENCV_DIST'] != 'opencv-python':
            out['OPENCV_REWRITE'] = found['OPENCV_DIST']
    return out, rewrite_constraints(constraints, pins, drop)


def describe_torch(version: str, cuda: str) -> str:
    """``PyTorch 2.11.0+cu130 (CUDA 13.0)`` / ``PyTorch 2.14.1 (CPU)``."""
    return f'PyTorch {version} ({f"CUDA {cuda}" if cuda else "CPU"})'


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    p = sub.add_parser('plan', help='probe, check, write the constraints')
    p.add_argument('--constraints', type=Path, required=True,
                   help="the repository's constraints file")
    p.add_argument('--out', type=Path, required=True,
                   help='where the constraints for this environment go')
    sub.add_parser('torchvision-for').add_argument('torch_version')
    args = parser.parse_args(argv)
    if args.command == 'torchvision-for':
        print(torchvision_for(args.torch_version))
        return 0
    try:
        out, constraints = plan(probe(), args.constraints.read_text())
    except ValueError as exc:
        print(f'[install] error: {exc}', file=sys.stderr)
        return 2
    args.out.write_text(constraints)
    if out['TORCH_VERSION']:
        out['TORCH_DESCRIPTION'] = describe_torch(out['TORCH_VERSION'],
                                                  out['TORCH_CUDA'])
        if version_tuple(out['TORCH_VERSION'])[:2] > NEWEST_KNOWN_TORCH:
            print(f'[install] warning: PyTorch {out["TORCH_VERSION"]} is '
                  'newer than the tested releases (2.11 to 2.14)',
                  file=sys.stderr)
    for key, value in out.items():
        print(f'{key}={shlex.quote(value)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
