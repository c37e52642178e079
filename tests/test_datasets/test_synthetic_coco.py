"""mmpose_ext.datasets.synthetic_coco (``tools/make_synthetic_coco.py``)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from mmpose_ext.datasets import synthetic_coco as generator

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / 'tools' / 'make_synthetic_coco.py'

COCO_KEYPOINTS = [
    'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear',
    'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow',
    'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee',
    'right_knee', 'left_ankle', 'right_ankle'
]
COCO_SKELETON = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12],
                 [7, 13], [6, 7], [6, 8], [7, 9], [8, 10], [9, 11], [2, 3],
                 [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7]]
# The session's ``synthetic_coco`` set (tests/conftest.py): 8 train + 4 val
# images of 128 px, seed 0. With index % 4 == 1 / 2 the generator forces a
# truncated figure / an occluder, so they always contain v=0 and v=1.
NUM_TRAIN, NUM_VAL, IMG_SIZE = 8, 4, 128
SPLITS = ('train', 'val')


def _generate(out: Path, seed: int) -> None:
    """The session set's size with another seed, in this process."""
    assert generator.main([
        '--out', str(out), '--num-train', str(NUM_TRAIN), '--num-val',
        str(NUM_VAL), '--img-size', str(IMG_SIZE), '--seed', str(seed),
        '--workers', '1'
    ]) == 0


def _snapshot(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob('*')) if p.is_file()
    }


@pytest.fixture(scope='module')
def dataset(synthetic_coco: Path) -> Path:
    return synthetic_coco


def _ann_file(root: Path, split: str) -> Path:
    return root / 'annotations' / f'person_keypoints_{split}.json'


@pytest.mark.parametrize('split', SPLITS)
def test_coco_format(dataset: Path, split: str) -> None:
    from xtcocotools.coco import COCO

    coco = COCO(str(_ann_file(dataset, split)))
    cats = coco.loadCats(coco.getCatIds())
    assert len(cats) == 1 and cats[0]['id'] == 1
    assert cats[0]['name'] == 'person'
    assert cats[0]['keypoints'] == COCO_KEYPOINTS
    assert cats[0]['skeleton'] == COCO_SKELETON

    img_ids = coco.getImgIds()
    assert len(img_ids) == (NUM_TRAIN if split == 'train' else NUM_VAL)
    ann_ids = coco.getAnnIds()
    assert len(set(ann_ids)) == len(ann_ids) >= len(img_ids)
    for img in coco.loadImgs(img_ids):
        path = dataset / 'images' / split / img['file_name']
        pixels = cv2.imread(str(path))
        assert pixels is not None, path
        assert pixels.shape == (img['height'], img['width'], 3)
        assert (img['width'], img['height']) == (IMG_SIZE, IMG_SIZE)
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img['id']))
        assert 1 <= len(anns) <= 3
        for ann in anns:
            assert ann['category_id'] == 1 and ann['iscrowd'] == 0
            kpt = np.array(ann['keypoints'], dtype=float).reshape(17, 3)
            vis = kpt[:, 2]
            assert set(vis) <= {0, 1, 2}
            assert ann['num_keypoints'] == int((vis > 0).sum()) > 0
            assert np.all(kpt[vis == 0, :2] == 0)
            x, y, w, h = ann['bbox']
            assert w > 0 and h > 0 and ann['area'] > 0
            assert x >= 0 and y >= 0
            assert x + w <= img['width'] and y + h <= img['height']
            lab = kpt[vis > 0, :2]
            assert np.all((lab[:, 0] >= x) & (lab[:, 0] <= x + w))
            assert np.all((lab[:, 1] >= y) & (lab[:, 1] <= y + h))


def test_occluded_and_truncated_present(dataset: Path) -> None:
    from xtcocotools.coco import COCO

    vis = []
    for split in SPLITS:
        coco = COCO(str(_ann_file(dataset, split)))
        for ann in coco.loadAnns(coco.getAnnIds()):
            vis.extend(ann['keypoints'][2::3])
    counts = {v: vis.count(v) for v in (0, 1, 2)}
    assert counts[0] > 0 and counts[1] > 0
    assert counts[2] > counts[0] + counts[1]  # mostly visible


def test_left_keypoints_on_image_right(dataset: Path) -> None:
    """Front-facing figures: the person's left is on the image's right."""
    from xtcocotools.coco import COCO

    coco = COCO(str(_ann_file(dataset, 'train')))
    for ann in coco.loadAnns(coco.getAnnIds()):
        kpt = np.array(ann['keypoints'], dtype=float).reshape(17, 3)
        for left, right in ((5, 6), (11, 12), (1, 2), (3, 4)):
            if kpt[left, 2] > 0 and kpt[right, 2] > 0:
                assert kpt[left, 0] > kpt[right, 0]


def test_deterministic(dataset: Path, tmp_path: Path) -> None:
    _generate(tmp_path / 'other', seed=1)
    other = _snapshot(tmp_path / 'other')
    reference = _snapshot(dataset)
    assert other.keys() == reference.keys()
    for split in SPLITS:
        name = f'annotations/person_keypoints_{split}.json'
        assert other[name] != reference[name]
    assert all(other[k] != reference[k] for k in reference
               if k.endswith('.jpg'))


@pytest.mark.slow
def test_cli_with_workers_matches_one_process(dataset: Path,
                                              tmp_path: Path) -> None:
    """The shim, with worker processes: byte-identical to the session's
    single-process set of the same seed.

    Run in a fresh process: forking workers from one where OpenCV's thread
    pool already exists (the other tests use it) deadlocks them.
    """
    out = tmp_path / 'cli'
    result = subprocess.run(
        [sys.executable, str(SCRIPT), '--out', str(out), '--num-train',
         str(NUM_TRAIN), '--num-val', str(NUM_VAL), '--img-size',
         str(IMG_SIZE), '--workers', '2'],
        capture_output=True, text=True, check=True, timeout=300)
    assert f'Wrote {NUM_TRAIN} train / {NUM_VAL} val images' in result.stdout
    assert _snapshot(out) == _snapshot(dataset)


def test_image_width_and_height(tmp_path: Path) -> None:
    assert generator.main([
        '--out', str(tmp_path), '--num-train', '2', '--num-val', '1',
        '--img-size', '192', '160', '--workers', '1'
    ]) == 0
    img = cv2.imread(str(next((tmp_path / 'images' / 'val').glob('*.jpg'))))
    assert img.shape == (160, 192, 3)


def test_mmpose_coco_dataset(dataset: Path) -> None:
    from mmpose.datasets import CocoDataset

    for split in SPLITS:
        ds = CocoDataset(
            ann_file=f'annotations/person_keypoints_{split}.json',
            data_root=str(dataset),
            data_prefix=dict(img=f'images/{split}/'),
            data_mode='topdown',
            test_mode=False,
            pipeline=[],
            lazy_init=False)
        assert len(ds) > 0
        sample = ds[0]
        assert sample['keypoints'].shape == (1, 17, 2)
        assert sample['keypoints_visible'].shape == (1, 17)
        assert Path(sample['img_path']).is_file()
        assert sample['dataset_name'] == 'coco'


@pytest.mark.parametrize('args, message', [
    (['--num-train', '0'], '--num-train must be a positive integer'),
    (['--num-val', '-3'], '--num-val must be a positive integer'),
    (['--img-size', '1', '2', '3'], '--img-size takes one value'),
    (['--img-size', '16'], '--img-size values must be within'),
    (['--workers', '0'], '--workers must be >= 1'),
])
def test_invalid_arguments(tmp_path: Path, capsys, args, message) -> None:
    with pytest.raises(SystemExit) as exc:
        generator.main(['--out', str(tmp_path / 'x'), *args])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_unwritable_output(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / 'a_file'
    blocker.write_text('')
    assert generator.main(['--out', str(blocker), '--num-train', '1',
                           '--num-val', '1']) == 1
    assert 'is not a directory' in capsys.readouterr().err
    assert generator.main(['--out', str(blocker / 'sub'), '--num-train',
                           '1', '--num-val', '1']) == 1
    assert 'not writable' in capsys.readouterr().err
