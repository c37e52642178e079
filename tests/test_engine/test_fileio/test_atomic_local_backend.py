"""Atomic writes through MMEngine's file API with backend='atomic_local'."""
import pytest
from mmengine.fileio import get_file_backend, put, put_text

from mmpose_ext.engine.fileio import AtomicLocalBackend, atomic_local_backend


class _Killed(BaseException):
    pass


def test_selected_by_backend_args(tmp_path):
    args = dict(backend='atomic_local')
    assert isinstance(get_file_backend(tmp_path, backend_args=args),
                      AtomicLocalBackend)
    put(b'abc', tmp_path / 'sub' / 'a.bin', backend_args=args)
    put_text('text', tmp_path / 'b.txt', backend_args=args)
    assert (tmp_path / 'sub' / 'a.bin').read_bytes() == b'abc'
    assert (tmp_path / 'b.txt').read_text() == 'text'
    assert not list(tmp_path.rglob('.*.tmp'))


def test_failed_write_leaves_the_previous_file(tmp_path, monkeypatch):
    target = tmp_path / 'ckpt.pth'
    target.write_bytes(b'old, complete')

    def die(src, dst):
        assert (tmp_path / src).read_bytes() == b'new'  # fully written
        raise _Killed

    monkeypatch.setattr(atomic_local_backend.os, 'replace', die)
    with pytest.raises(_Killed):
        AtomicLocalBackend().put(b'new', target)
    assert target.read_bytes() == b'old, complete'
    assert not list(tmp_path.glob('.*.tmp'))
    assert atomic_local_backend.TEMP_NAME.match('.ckpt.pth.123.tmp')
    assert not atomic_local_backend.TEMP_NAME.match('epoch_1.pth')
