"""mmpose_ext.visualization.attention_maps draws every attention map of a
model."""
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmpose.registry import MODELS

from mmpose_ext.visualization import attention_maps

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / 'configs/synthetic/mca_hourglass_synthetic-coco-128x96.py')


@pytest.mark.slow
def test_attention_grid(tmp_path, capsys, one_thread):
    cfg = Config.fromfile(CONFIG)
    model = MODELS.build(cfg.model)
    checkpoint = tmp_path / 'mca.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), checkpoint)
    image = np.random.default_rng(0).integers(0, 255, (160, 120, 3),
                                              dtype=np.uint8)
    cv2.imwrite(str(tmp_path / 'person.png'), image)

    out = attention_maps.main([
        str(tmp_path / 'person.png'), CONFIG, str(checkpoint), '--out',
        str(tmp_path / 'attention.png'), '--columns', '6'
    ])
    assert '2 holistic and 17 part attention maps' in capsys.readouterr().out
    grid = cv2.imread(str(out))
    # 19 tiles of the 128x96 input crop, 6 per row -> 4 rows
    assert grid.shape == (4 * 128, 6 * 96, 3)
    # the tiles are drawn (not blank), the padding after the 19th is not
    assert grid[:128, :96].std() > 0
    assert grid[3 * 128:, 96:].max() == 0


def test_grid_pads_the_last_row():
    tiles = [np.full((2, 3, 3), i + 1, np.uint8) for i in range(5)]
    canvas = attention_maps.grid(tiles, columns=2)
    assert canvas.shape == (3 * 2, 2 * 3, 3)
    assert canvas[4:, :3].min() == 5 and canvas[4:, 3:].max() == 0


def test_missing_checkpoint_is_named(tmp_path):
    image = tmp_path / 'person.png'
    cv2.imwrite(str(image), np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(SystemExit, match='nope.pth does not exist'):
        attention_maps.main([str(image), CONFIG, str(tmp_path / 'nope.pth')])
