"""Which checkpoint files are complete, and which one --resume can use."""
import os

import pytest
import torch

from mmpose_ext.engine import checkpoint_problem, find_resumable_checkpoint


def test_find_resumable_checkpoint_cases(tmp_path):
    assert find_resumable_checkpoint(str(tmp_path)) is None  # fresh start
    good = tmp_path / 'epoch_1.pth'
    torch.save({'meta': {'epoch': 1}}, good)
    bad = tmp_path / 'epoch_2.pth'
    bad.write_bytes(good.read_bytes()[:-20])
    (tmp_path / 'last_checkpoint').write_text('')  # killed mid-write
    assert find_resumable_checkpoint(str(tmp_path)) == str(good)
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_3.pth'))
    assert find_resumable_checkpoint(str(tmp_path),
                                     'epoch_{}.pth') == str(good)
    good.write_bytes(b'')
    with pytest.raises(RuntimeError, match='no complete checkpoint') as err:
        find_resumable_checkpoint(str(tmp_path))
    assert 'epoch_2.pth is truncated' in str(err.value)
    assert 'epoch_1.pth is empty' in str(err.value)


def test_checkpoint_problem(tmp_path):
    path = tmp_path / 'a.pth'
    torch.save({'w': torch.arange(1000.)}, path)
    assert checkpoint_problem(str(path)) is None
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert 'CRC' in checkpoint_problem(str(path))
    assert checkpoint_problem(str(tmp_path / 'none.pth')) == 'does not exist'
    os.truncate(path, 0)
    assert checkpoint_problem(str(path)) == 'is empty'
