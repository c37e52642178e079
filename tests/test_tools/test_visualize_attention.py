"""tools/visualize_attention.py draws every attention map of a model."""
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmpose.registry import MODELS

ROOT = Path(__file__).resolve().parents[2]
CONFIG = 'configs/synthetic/mca_hourglass_synthetic-coco-128x96.py'


def test_attention_grid(tmp_path):
    cfg = Config.fromfile(ROOT / CONFIG)
    model = MODELS.build(cfg.model)
    checkpoint = tmp_path / 'mca.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), checkpoint)
    image = np.random.default_rng(0).integers(0, 255, (160, 120, 3),
                                              dtype=np.uint8)
    cv2.imwrite(str(tmp_path / 'person.png'), image)

    out = tmp_path / 'attention.png'
    proc = subprocess.run([
        sys.executable, 'tools/visualize_attention.py',
        str(tmp_path / 'person.png'), CONFIG, str(checkpoint), '--out',
        str(out), '--columns', '6'
    ], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '2 holistic and 17 part attention maps' in proc.stdout
    grid = cv2.imread(str(out))
    # 19 tiles of the 128x96 input crop, 6 per row -> 4 rows
    assert grid.shape == (4 * 128, 6 * 96, 3)
    # the tiles are drawn (not blank), the padding after the 19th is not
    assert grid[:128, :96].std() > 0
    assert grid[3 * 128:, 96:].max() == 0


def test_missing_checkpoint_is_named(tmp_path):
    image = tmp_path / 'person.png'
    cv2.imwrite(str(image), np.zeros((32, 32, 3), np.uint8))
    proc = subprocess.run([
        sys.executable, 'tools/visualize_attention.py',
        str(image), CONFIG, str(tmp_path / 'nope.pth')
    ], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0
    assert 'nope.pth does not exist' in proc.stderr
