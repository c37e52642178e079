"""Rewrite the requirements of a wheel's metadata; its code is untouched.

``tools/install.sh`` installs MMPose 1.3.2 from its own wheel with the
``chumpy`` requirement dropped (chumpy cannot build on current Python), and
where the environment's OpenCV is ``opencv-python-headless`` it points the
``opencv-python`` requirement of MMEngine, MMCV and MMPose at that
distribution, so that pip neither installs a second OpenCV over the first
(both write ``cv2/``) nor reports a missing one. Every change is visible:
the version gets a local label (``1.3.2+nochumpy``, ``0.10.7+headless``)
that ``pip list`` shows, and ``RECORD`` is rewritten with the new hashes.

Standard library only: it runs before anything else is installed.

Example::

    python tools/repack_wheel.py mmpose-1.3.2-py2.py3-none-any.whl \\
        --drop chumpy --local nochumpy -o wheels/
"""
import argparse
import base64
import csv
import hashlib
import io
import re
import sys
import zipfile
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

__all__ = ['canonical_name', 'rewrite_metadata', 'repack']

_NAME = re.compile(r'^\s*([A-Za-z0-9][A-Za-z0-9._-]*)')


def canonical_name(name: str) -> str:
    """PEP 503 form of a distribution name (``Opencv_Python`` ->
    ``opencv-python``)."""
    return re.sub(r'[-_.]+', '-', name).lower()


def _with_local(version: str, label: str) -> str:
    """``1.3.2`` + ``a`` -> ``1.3.2+a``; ``1.3.2+a`` + ``b`` ->
    ``1.3.2+a.b``; a label already there is not added twice."""
    public, _, local = version.partition('+')
    parts = local.split('.') if local else []
    if label not in parts:
        parts.append(label)
    return f'{public}+{".".join(parts)}'


def rewrite_metadata(text: str,
                     drop: Iterable[str] = (),
                     rename: Optional[Dict[str, str]] = None,
                     local: Optional[str] = None) -> Tuple[str, List[str]]:
    """Rewrite the ``Requires-Dist`` lines of a METADATA text.

    Args:
        text (str): the METADATA file.
        drop (Iterable[str]): distributions whose requirements are removed
            (every one of them, extras included).
        rename (dict, optional): ``{old: new}`` distribution names; the
            version specifier and marker of the requirement are kept.
        local (str, optional): local version label added to ``Version``
            when anything changed.

    Returns:
        tuple[str, list[str]]: the new text and one line per change
        (empty when nothing changed; the text is then returned as is).
    """
    drop = {canonical_name(n) for n in drop}
    rename = {canonical_name(k): v for k, v in (rename or {}).items()}
    lines = text.splitlines(keepends=True)
    out, changes = [], []
    in_headers = True
    for line in lines:
        if in_headers and line.strip() == '':
            in_headers = False  # the description body follows
        if in_headers and line.startswith('Requires-Dist:'):
            req = line[len('Requires-Dist:'):].strip()
            match = _NAME.match(req)
            name = canonical_name(match.group(1)) if match else ''
            if name in drop:
                changes.append(f'dropped {req}')
                continue
            if name in rename:
                new = rename[name] + req[match.end():]
                changes.append(f'{req} -> {new}')
                line = f'Requires-Dist: {new}\n'
        out.append(line)
    if not changes:
        return text, []
    if local:
        for i, line in enumerate(out):
            if line.startswith('Version:'):
                version = line[len('Version:'):].strip()
                out[i] = f'Version: {_with_local(version, local)}\n'
                break
    return ''.join(out), changes


def _record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return 'sha256=' + base64.urlsafe_b64encode(digest).rstrip(b'=').decode()


def repack(wheel: Path,
           out_dir: Path,
           drop: Iterable[str] = (),
           rename: Optional[Dict[str, str]] = None,
           local: Optional[str] = None) -> Path:
    """Write ``wheel`` with rewritten requirements into ``out_dir``.

    The ``.dist-info`` folder and the file name follow the new version, and
    ``RECORD`` lists every file with its new hash and size. A wheel that
    needs no change is not copied: its own path is returned.

    Args:
        wheel (Path): the wheel to read.
        out_dir (Path): where the new wheel goes (created if needed).
        drop, rename, local: as in :func:`rewrite_metadata`.

    Returns:
        Path: the new wheel, or ``wheel`` itself when nothing changed.
    """
    wheel, out_dir = Path(wheel), Path(out_dir)
    with zipfile.ZipFile(wheel) as zf:
        infos = zf.infolist()
        files = {info.filename: zf.read(info) for info in infos}
    metadata = [n for n in files if re.fullmatch(r'[^/]+\.dist-info/METADATA',
                                                 n)]
    if len(metadata) != 1:
        raise ValueError(f'{wheel}: expected one *.dist-info/METADATA, '
                         f'found {metadata}')
    old_info = metadata[0].split('/')[0]
    text, changes = rewrite_metadata(files[metadata[0]].decode('utf-8'),
                                     drop, rename, local)
    if not changes:
        return wheel
    version = re.search(r'^Version:\s*(\S+)', text, re.M).group(1)
    dist = old_info[:-len('.dist-info')].rsplit('-', 1)[0]
    new_info = f'{dist}-{version}.dist-info'
    # name-version(-build)?-python-abi-platform.whl: replace the version
    parts = wheel.name[:-len('.whl')].split('-')
    parts[1] = version.replace('-', '_')
    target = out_dir / ('-'.join(parts) + '.whl')

    def moved(name: str) -> str:
        return new_info + name[len(old_info):] if name.startswith(
            old_info + '/') else name

    files[metadata[0]] = text.encode('utf-8')
    record_name = f'{new_info}/RECORD'
    rows = io.StringIO()
    writer = csv.writer(rows, lineterminator='\n')
    out_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, 'w', zipfile.ZIP_DEFLATED) as out:
        for info in infos:
            name = moved(info.filename)
            if name == record_name:
                continue
            new = zipfile.ZipInfo(name, info.date_time)
            new.external_attr = info.external_attr
            new.compress_type = zipfile.ZIP_DEFLATED
            data = files[info.filename]
            out.writestr(new, data)
            if not name.endswith('/'):
                writer.writerow([name, _record_hash(data), len(data)])
        writer.writerow([record_name, '', ''])
        out.writestr(zipfile.ZipInfo(record_name, infos[-1].date_time),
                     rows.getvalue())
    for change in changes:
        print(f'{wheel.name}: {change}', file=sys.stderr)
    return target


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('wheel', type=Path)
    parser.add_argument('-o', '--out-dir', type=Path, required=True)
    parser.add_argument('--drop', action='append', default=[],
                        metavar='NAME', help='requirement to remove')
    parser.add_argument('--rename', action='append', default=[],
                        metavar='OLD=NEW',
                        help='requirement to point at another distribution')
    parser.add_argument('--local', help='local version label to add')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    rename = {}
    for item in args.rename:
        old, sep, new = item.partition('=')
        if not sep or not old or not new:
            raise SystemExit(f'--rename expects OLD=NEW, got {item!r}')
        rename[old] = new
    print(repack(args.wheel, args.out_dir, args.drop, rename, args.local))


if __name__ == '__main__':
    main()
