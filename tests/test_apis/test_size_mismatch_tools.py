"""A codec whose sizes disagree with the crops or the model stops
tools/test.py (the package's and MMPose's stock script) with an error
naming both sizes, instead of scoring AP 0.000 with exit status 0."""
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

from .tool_runs import (
    RES18,
    ROOT,
    STOCK_TRAIN,
    TINY,
    TINY_RES18_MODEL,
    data_options,
    subprocess_env,
)

MISMATCHES = {
    # the pipeline crops 96x128
    'model.head.decoder.input_size=(128,128)':
    'model.head.decoder.input_size is (128, 128) (w, h) but '
    'test_dataloader.dataset.pipeline[2].input_size crops (96, 128)',
    # the model outputs 24x32
    'model.head.decoder.heatmap_size=(24,24)':
    'model.head.decoder.heatmap_size is (24, 24) (w, h) but the model '
    'outputs (24, 32) heatmaps for a (96, 128) input',
}
TOOLS = {'package': ROOT / 'tools' / 'test.py',
         'stock': STOCK_TRAIN.with_name('test.py')}


@pytest.fixture(scope='module')
def tiny_checkpoint(tmp_path_factory):
    init_default_scope('mmpose')
    cfg = Config.fromfile(str(ROOT / RES18))
    cfg.model.merge(TINY_RES18_MODEL)
    path = tmp_path_factory.mktemp('size') / 'tiny.pth'
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict(),
                    meta={}), path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize('tool', sorted(TOOLS))
@pytest.mark.parametrize('option', sorted(MISMATCHES))
def test_size_mismatch_stops_test_tool(tool, option, tiny_checkpoint,
                                       synthetic_coco, tmp_path):
    proc = subprocess.run(
        [sys.executable, str(TOOLS[tool]), RES18, str(tiny_checkpoint),
         '--work-dir', str(tmp_path), '--cfg-options',
         *data_options(synthetic_coco), *TINY[RES18], option],
        cwd=ROOT, env=subprocess_env(), capture_output=True, text=True,
        timeout=600)
    assert proc.returncode != 0
    assert MISMATCHES[option] in proc.stderr, proc.stderr[-3000:]
    assert 'Epoch(test)' not in proc.stdout + proc.stderr  # no metric
