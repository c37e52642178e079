"""mmpose_ext.visualization.demo: top-down inference, drawn skeletons and
JSON per image."""
import json
import subprocess
import sys
from pathlib import Path

import cv2
import mmpose
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData
from mmpose.registry import MODELS

from mmpose_ext.visualization import demo

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'configs/synthetic/td-hm_res18_synthetic-coco-128x96.py'
# MMPose's person detector config for its demos (RTMDet-nano, 320x320)
DET_CONFIG = (Path(mmpose.__file__).parent / '.mim/demo/mmdetection_cfg/'
              'rtmdet_nano_320-8xb32_coco-person.py')


@pytest.fixture(scope='module')
def images(synthetic_coco):
    """The session's synthetic COCO val images."""
    return synthetic_coco / 'images' / 'val'


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """Randomly initialised weights of the quick-start model."""
    init_default_scope('mmpose')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(CONFIG).model)
    path = tmp_path_factory.mktemp('ckpt') / 'res18.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return path


@pytest.fixture(scope='module')
def detector_checkpoint(tmp_path_factory):
    """RTMDet-nano person detector with initial (untrained) weights: its
    classification prior (0.01) keeps every score below 0.05."""
    from mmdet.apis import init_detector
    model = init_detector(str(DET_CONFIG), None, device='cpu')
    model.init_weights()
    path = tmp_path_factory.mktemp('det') / 'rtmdet_nano.pth'
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=('person', )))),
               path)
    return path


@pytest.mark.slow
def test_whole_image_inference(images, checkpoint, tmp_path, capsys):
    out = tmp_path / 'out'
    status = demo.main([str(images), '--config', str(CONFIG),
                        '--checkpoint', str(checkpoint), '--out-dir',
                        str(out), '--device', 'cpu'])
    assert status == 0
    inputs = sorted(images.glob('*.jpg'))
    assert len(inputs) == 4
    for image in inputs:
        record = json.loads((out / f'{image.stem}_pose.json').read_text())
        h, w = cv2.imread(str(image)).shape[:2]
        assert (record['width'], record['height']) == (w, h)
        assert record['boxes_from'] == 'whole image'
        assert len(record['keypoint_names']) == 17
        assert record['keypoint_names'][0] == 'nose'
        (person, ) = record['people']
        assert person['bbox'] == [0, 0, w, h]
        assert np.array(person['keypoints']).shape == (17, 2)
        assert len(person['keypoint_scores']) == 17
        drawn = cv2.imread(str(out / f'{image.stem}_pose.jpg'))
        assert drawn.shape == (h, w, 3)
    assert '1 person(s)' in capsys.readouterr().out


@pytest.mark.slow
def test_detector_boxes_are_used(images, checkpoint, detector_checkpoint,
                                 tmp_path, monkeypatch):
    """Detector path end to end, with the detector's output replaced by two
    person boxes, a low-score one and another class."""
    import mmdet.apis
    from mmdet.structures import DetDataSample

    def fake_inference(model, image):
        result = DetDataSample()
        result.pred_instances = InstanceData(
            bboxes=torch.tensor([[10., 10., 60., 120.], [50., 5., 90., 110.],
                                 [0., 0., 20., 20.], [5., 5., 95., 100.]]),
            scores=torch.tensor([0.9, 0.8, 0.3, 0.95]),
            labels=torch.tensor([0, 0, 0, 1]))
        return result

    monkeypatch.setattr(mmdet.apis, 'inference_detector', fake_inference)
    image = sorted(images.glob('*.jpg'))[0]
    status = demo.main([
        str(image), '--config', str(CONFIG), '--checkpoint', str(checkpoint),
        '--det-config', str(DET_CONFIG), '--det-checkpoint',
        str(detector_checkpoint), '--out-dir', str(tmp_path)
    ])
    assert status == 0
    record = json.loads((tmp_path / f'{image.stem}_pose.json').read_text())
    assert record['boxes_from'] == 'detector'
    people = record['people']
    assert [p['bbox'] for p in people] == [[10, 10, 60, 120],
                                           [50, 5, 90, 110]]
    assert [p['bbox_score'] for p in people] == pytest.approx([0.9, 0.8])


@pytest.mark.slow
def test_detector_finding_nobody_is_an_error(images, checkpoint,
                                             detector_checkpoint, tmp_path,
                                             capsys):
    image = sorted(images.glob('*.jpg'))[0]
    status = demo.main([
        str(image), '--config', str(CONFIG), '--checkpoint', str(checkpoint),
        '--det-config', str(DET_CONFIG), '--det-checkpoint',
        str(detector_checkpoint), '--det-score-thr', '0.5', '--out-dir',
        str(tmp_path)
    ])
    assert status == 1
    err = capsys.readouterr().err
    assert f'the detector found no person in {image}' in err
    assert 'at least 0.5 (--det-score-thr' in err


def test_unreadable_image_is_named_and_others_processed(
        images, checkpoint, tmp_path, capsys):
    folder = tmp_path / 'in'
    folder.mkdir()
    good = sorted(images.glob('*.jpg'))[0]
    (folder / 'a_good.jpg').write_bytes(good.read_bytes())
    (folder / 'b_broken.jpg').write_text('not an image')
    (folder / 'c_empty.png').write_bytes(b'')
    out = tmp_path / 'out'
    status = demo.main([str(folder), '--config', str(CONFIG),
                        '--checkpoint', str(checkpoint), '--out-dir',
                        str(out)])
    assert status == 1
    err = capsys.readouterr().err
    assert f'cannot read an image from {folder / "b_broken.jpg"}' in err
    assert f'cannot read an image from {folder / "c_empty.png"}' in err
    assert '2 of 3 image(s) failed' in err
    assert (out / 'a_good_pose.json').is_file()


@pytest.mark.slow
def test_missing_checkpoint_exits_with_message(images, tmp_path):
    proc = subprocess.run([
        sys.executable, 'tools/demo.py', str(images), '--config',
        str(CONFIG), '--checkpoint', str(tmp_path / 'nope.pth'),
        '--out-dir', str(tmp_path)
    ], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 1
    assert f'checkpoint {tmp_path / "nope.pth"} does not exist' in (
        proc.stderr)


@pytest.mark.slow
def test_checkpoint_of_another_model_is_refused(images, checkpoint,
                                                tmp_path, capsys):
    """The ResNet-18 weights with the attention-hourglass config: status
    1 naming the mismatch (not poses from random weights), unless
    ``--allow-partial``."""
    mca = ROOT / 'configs/synthetic/mca_hourglass_synthetic-coco-128x96.py'
    image = sorted(images.glob('*.jpg'))[0]
    args = [str(image), '--config', str(mca),
            '--checkpoint', str(checkpoint), '--out-dir', str(tmp_path)]
    assert demo.main(args) == 1
    err = capsys.readouterr().err
    assert f'error: checkpoint {checkpoint} does not fit the model of' in err
    assert 'weights are missing from the checkpoint' in err
    assert not list(tmp_path.glob('*_pose.json'))
    assert demo.main(args + ['--allow-partial']) == 0
    assert (tmp_path / f'{image.stem}_pose.json').is_file()


def test_person_bboxes_filters_and_suppresses():
    pred = InstanceData(
        bboxes=torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.],
                             [20., 20., 30., 30.], [0., 0., 5., 5.]]),
        scores=torch.tensor([0.9, 0.8, 0.6, 0.99]),
        labels=torch.tensor([0, 0, 0, 2]))
    boxes = demo.person_bboxes(pred, cat_id=0, score_thr=0.5, nms_thr=0.3)
    # the second box overlaps the first (IoU > 0.8): suppressed
    np.testing.assert_allclose(boxes, [[0, 0, 10, 10, 0.9],
                                       [20, 20, 30, 30, 0.6]], rtol=1e-6)
    assert demo.person_bboxes(pred, 0, 0.95, 0.3).shape == (0, 5)
