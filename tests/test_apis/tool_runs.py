"""Shared pieces of the tool tests: tiny synthetic configs and the
options that point them at a generated data set."""
import os
import socket
import sys
from pathlib import Path

import mmpose

from mmpose_ext.apis import run_mmpose_tool

from ..test_cuda.cuda_tier import data_options  # noqa: F401 (one copy)

ROOT = Path(__file__).resolve().parents[2]
STOCK_TRAIN = Path(mmpose.__file__).parent / '.mim' / 'tools' / 'train.py'
RES18 = 'configs/synthetic/td-hm_res18_synthetic-coco-128x96.py'
HRNET = 'configs/hrnet/td-hm_hrnet-w32_ohkm_synthetic-coco-128x96.py'
MCA = 'configs/synthetic/mca_hourglass_synthetic-coco-128x96.py'
TINY = {
    MCA: ['model.backbone.feat_channels=16'],
    RES18: ['model.backbone.base_channels=8',
            'model.backbone.stem_channels=16', 'model.head.in_channels=64',
            'model.head.deconv_out_channels=(16,16,16)'],
    HRNET: ['model.backbone.extra.stage1.num_channels=(16,)',
            'model.backbone.extra.stage2.num_channels=(8,16)',
            'model.backbone.extra.stage3.num_modules=1',
            'model.backbone.extra.stage3.num_channels=(8,16,32)',
            'model.backbone.extra.stage4.num_modules=1',
            'model.backbone.extra.stage4.num_channels=(8,16,32,64)',
            'model.head.in_channels=8'],
}
TINY_RES18_MODEL = dict(
    backbone=dict(base_channels=8, stem_channels=16),
    head=dict(in_channels=64, deconv_out_channels=(16, 16, 16)))
ITERS_PER_EPOCH = 4  # 16 persons in 8 train images, batch 4




def subprocess_env():
    return dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')


def newest_log(work_dir: Path) -> str:
    return sorted(work_dir.glob('2*/2*.log'))[-1].read_text()


def run_train_in_process(monkeypatch, *argv):
    """``tools/train.py *argv`` in this process (no interpreter start-up).

    MMEngine's visualizer is a named global: give each in-process run its
    own ``visualizer.name`` if it reads ``vis_data``.
    """
    monkeypatch.setattr(sys, 'argv', ['tools/train.py'])
    run_mmpose_tool('train', [str(a) for a in argv])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]
