"""tools/repack_wheel.py on a small synthetic wheel: requirements dropped or
pointed at another distribution, the version labelled, RECORD valid, and
pip installs the result."""
import base64
import csv
import hashlib
import io
import subprocess
import sys
import zipfile

import pytest

from .conftest import load_tool

repack_wheel = load_tool('repack_wheel')

METADATA = """\
Metadata-Version: 2.1
Name: demo-pkg
Version: 1.3.2
Requires-Dist: chumpy
Requires-Dist: numpy
Requires-Dist: opencv-python>=3
Requires-Dist: Chumpy ; extra == 'all'
Requires-Dist: pytest ; extra == 'tests'

Requires-Dist: this line is the description, not a header
"""


def make_wheel(folder):
    """demo_pkg-1.3.2-py3-none-any.whl with a valid RECORD."""
    info = 'demo_pkg-1.3.2.dist-info'
    files = {
        'demo_pkg/__init__.py': b'VALUE = 1\n',
        f'{info}/METADATA': METADATA.encode(),
        f'{info}/WHEEL': b'Wheel-Version: 1.0\nGenerator: test\n'
                         b'Root-Is-Purelib: true\nTag: py3-none-any\n',
    }
    path = folder / 'demo_pkg-1.3.2-py3-none-any.whl'
    record = ''.join(f'{name},{digest(data)},{len(data)}\n'
                     for name, data in files.items()) + f'{info}/RECORD,,\n'
    with zipfile.ZipFile(path, 'w') as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr(f'{info}/RECORD', record)
    return path


def digest(data):
    return 'sha256=' + base64.urlsafe_b64encode(
        hashlib.sha256(data).digest()).rstrip(b'=').decode()


def check_record(path):
    """Every file of the wheel is in RECORD with its hash and size."""
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if not n.endswith('/')]
        record_name, = [n for n in names if n.endswith('.dist-info/RECORD')]
        rows = list(csv.reader(io.StringIO(zf.read(record_name).decode())))
        assert sorted(r[0] for r in rows) == sorted(names)
        for name, hash_, size in rows:
            if name == record_name:
                assert hash_ == size == ''
                continue
            data = zf.read(name)
            assert hash_ == digest(data) and int(size) == len(data), name
    return names


def metadata_of(path):
    with zipfile.ZipFile(path) as zf:
        name, = [n for n in zf.namelist() if n.endswith('.dist-info/METADATA')]
        return name, zf.read(name).decode()


def test_drop_a_requirement(tmp_path):
    wheel = make_wheel(tmp_path)
    out = repack_wheel.repack(wheel, tmp_path / 'out', drop=['chumpy'],
                              local='nochumpy')
    assert out.name == 'demo_pkg-1.3.2+nochumpy-py3-none-any.whl'
    name, text = metadata_of(out)
    assert name == 'demo_pkg-1.3.2+nochumpy.dist-info/METADATA'
    assert 'Version: 1.3.2+nochumpy\n' in text
    requires = [line for line in text.split('\n\n')[0].splitlines()
                if line.startswith('Requires-Dist:')]
    assert requires == ['Requires-Dist: numpy',
                        'Requires-Dist: opencv-python>=3',
                        "Requires-Dist: pytest ; extra == 'tests'"]
    # the description is not a header
    assert text.endswith('not a header\n')
    names = check_record(out)
    assert 'demo_pkg/__init__.py' in names
    with zipfile.ZipFile(out) as zf, zipfile.ZipFile(wheel) as orig:
        assert (zf.read('demo_pkg/__init__.py')
                == orig.read('demo_pkg/__init__.py'))


def test_rename_a_requirement_and_stack_labels(tmp_path):
    first = repack_wheel.repack(make_wheel(tmp_path), tmp_path / 'a',
                                drop=['chumpy'], local='nochumpy')
    second = repack_wheel.repack(
        first, tmp_path / 'b',
        rename={'opencv-python': 'opencv-python-headless'}, local='headless')
    assert second.name == ('demo_pkg-1.3.2+nochumpy.headless-py3-none-any'
                           '.whl')
    _, text = metadata_of(second)
    assert 'Requires-Dist: opencv-python-headless>=3\n' in text
    assert 'Requires-Dist: opencv-python>=3' not in text
    check_record(second)


def test_nothing_to_change_returns_the_wheel(tmp_path):
    first = repack_wheel.repack(make_wheel(tmp_path), tmp_path / 'a',
                                drop=['chumpy'], local='nochumpy')
    again = repack_wheel.repack(first, tmp_path / 'b', drop=['chumpy'],
                                local='nochumpy')
    assert again == first
    assert not (tmp_path / 'b').exists()


def test_cli_and_pip_accept_the_result(tmp_path):
    wheel = make_wheel(tmp_path)
    proc = subprocess.run(
        [sys.executable, str(repack_wheel.__file__), str(wheel), '-o',
         str(tmp_path / 'out'), '--drop', 'chumpy', '--local', 'nochumpy'],
        capture_output=True, text=True, timeout=60, check=True)
    out = proc.stdout.strip()
    assert out.endswith('demo_pkg-1.3.2+nochumpy-py3-none-any.whl')
    assert 'dropped chumpy' in proc.stderr
    target = tmp_path / 'site'
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps',
                    '--no-index', '--no-compile', '--target', str(target),
                    out], check=True, timeout=120)
    info, = target.glob('demo_pkg-*.dist-info')
    assert info.name == 'demo_pkg-1.3.2+nochumpy.dist-info'
    assert (target / 'demo_pkg' / '__init__.py').read_text() == 'VALUE = 1\n'


def test_rename_needs_old_and_new():
    with pytest.raises(SystemExit, match='OLD=NEW'):
        repack_wheel.main(['x.whl', '-o', 'out', '--rename', 'opencv-python'])
