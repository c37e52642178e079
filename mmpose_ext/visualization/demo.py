"""Top-down multi-person pose inference on images, with an optional detector.

``python tools/demo.py IMAGE_OR_DIR --config CFG --checkpoint CKPT
[--det-config DC --det-checkpoint DCK] [--det-score-thr 0.5]
[--out-dir DIR] [--device cpu]`` runs MMPose's top-down inference
(``mmpose_ext.apis.init_model`` / ``inference_topdown``) on an image or on
every image under a directory:

* with a detector (``mmdet.apis.init_detector`` / ``inference_detector``),
  on each person box it finds with a score of at least ``--det-score-thr``
  (after NMS), as MMPose's ``topdown_demo_with_mmdet.py`` does;
* without one, on the whole image as a single box.

For each image it saves into ``--out-dir`` the image with the predicted
skeletons drawn by MMPose's visualizer (the pose config's ``visualizer``,
with the model's dataset meta) as ``NAME_pose.EXT``, and ``NAME_pose.json``
with, per person, the box, its score, the keypoints ``[x, y]`` in image
pixels and their scores.

Checkpoints load weights-only (``import mmpose_ext`` allow-lists what
MMEngine checkpoints contain); ``--trust-checkpoint`` loads files that
need full unpickling. A pose checkpoint that does not fit the config's
model is refused (``mmpose_ext.apis.init_model``) unless
``--allow-partial``. Exits with status 1, naming the problem, when a
checkpoint is missing or does not fit, an image cannot be read, or the
detector finds no person above the threshold (other images are still
processed).
"""
import argparse
import json
import pickle
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import List, Optional, Sequence

import mmcv
import numpy as np
import torch
from mmengine.config import ConfigDict
from mmengine.logging import MMLogger
from mmengine.structures import InstanceData
from mmpose.apis import inference_topdown
from mmpose.evaluation.functional import nms
from mmpose.registry import VISUALIZERS
from mmpose.structures import merge_data_samples

from ..apis.inference import init_model
from ..engine.checkpoint_allowlist import (
    explain_refused_checkpoint,
    trust_checkpoint_pickles,
)
from ..engine.checkpoint_fit import CheckpointMismatchError

__all__ = [
    'Demo', 'DemoError', 'build_visualizer', 'find_images',
    'instances_to_json', 'main', 'parse_args', 'person_bboxes', 'read_image'
]

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff',
                    '.webp')


class DemoError(Exception):
    """A problem with the inputs, reported without a traceback."""


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        epilog='Example: python tools/demo.py data/synthetic_coco/images/'
        'val --config configs/synthetic/mca_hourglass_amp-lightaug_'
        'synthetic-coco-128x96.py --checkpoint '
        'work_dirs/demo/best_coco_AP_epoch_12.pth '
        '--out-dir vis')
    parser.add_argument('input', type=Path, metavar='IMAGE_OR_DIR',
                        help='an image, or a directory searched recursively '
                        f'for images ({", ".join(IMAGE_EXTENSIONS)})')
    parser.add_argument('--config', required=True, metavar='CFG',
                        help='pose model config')
    parser.add_argument('--checkpoint', required=True, metavar='CKPT',
                        help='pose model checkpoint')
    parser.add_argument('--det-config', default=None, metavar='DC',
                        help='MMDetection config of a person detector '
                        '(default: no detector, the whole image is one box)')
    parser.add_argument('--det-checkpoint', default=None, metavar='DCK',
                        help='checkpoint of the detector')
    parser.add_argument('--det-score-thr', type=float, default=0.5,
                        metavar='THR',
                        help='minimum detection score of a person box '
                        '(default: %(default)s)')
    parser.add_argument('--det-cat-id', type=int, default=None, metavar='ID',
                        help='detector class index of persons (default: '
                        'the index of "person" in the detector\'s classes, '
                        'else 0)')
    parser.add_argument('--nms-thr', type=float, default=0.3, metavar='IOU',
                        help='IoU threshold of the NMS over person boxes '
                        '(default: %(default)s)')
    parser.add_argument('--kpt-thr', type=float, default=0.3, metavar='THR',
                        help='minimum keypoint score to draw (default: '
                        '%(default)s)')
    parser.add_argument('--out-dir', type=Path, default=Path('demo_out'),
                        metavar='DIR',
                        help='where the drawn images and JSON files go '
                        '(default: %(default)s)')
    parser.add_argument('--device', default=None, metavar='DEV',
                        help='device, e.g. cpu or cuda:0 (default: cuda:0 '
                        'if available, else cpu)')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='load checkpoints with full unpickling (only '
                        'for files from a trusted source)')
    parser.add_argument('--allow-partial', action='store_true',
                        help='load a pose checkpoint that does not fit the '
                        'model (missing, unexpected or reshaped weights), '
                        'which is refused otherwise')
    args = parser.parse_args(argv)
    if (args.det_config is None) != (args.det_checkpoint is None):
        parser.error('--det-config and --det-checkpoint go together')
    if not 0 <= args.det_score_thr <= 1:
        parser.error('--det-score-thr must be in [0, 1]')
    return args


def find_images(path: Path) -> List[Path]:
    """``path`` itself, or the images under the directory ``path``."""
    if path.is_dir():
        images = sorted(p for p in path.rglob('*')
                        if p.is_file() and p.suffix.lower() in
                        IMAGE_EXTENSIONS)
        if not images:
            raise DemoError(f'no images ({", ".join(IMAGE_EXTENSIONS)}) '
                            f'found under {path}')
        return images
    if not path.exists():
        raise DemoError(f'{path} does not exist')
    return [path]


def read_image(path: Path) -> np.ndarray:
    """The image as a BGR array.

    Raises:
        DemoError: if the file cannot be decoded as an image.
    """
    try:
        image = mmcv.imread(str(path), channel_order='bgr')
    except Exception as err:  # empty files make OpenCV raise
        raise DemoError(f'cannot read an image from {path}: {err}') from err
    if image is None or image.size == 0:
        raise DemoError(f'cannot read an image from {path}: not an image '
                        'file or unsupported format')
    return image


def check_file(path: str, what: str) -> None:
    if not Path(path).is_file():
        raise DemoError(f'{what} {path} does not exist')


def person_bboxes(pred_instances: InstanceData, cat_id: int,
                  score_thr: float, nms_thr: float) -> np.ndarray:
    """Person boxes ``[N, 5]`` (x1, y1, x2, y2, score) of a detection.

    Keeps the boxes of class ``cat_id`` with a score of at least
    ``score_thr``, then MMPose's greedy NMS at IoU ``nms_thr``.
    """
    pred = pred_instances.cpu().numpy()
    bboxes = np.concatenate(
        [pred.bboxes.reshape(-1, 4),
         pred.scores.reshape(-1, 1)], axis=1).astype(np.float32)
    keep = (pred.labels == cat_id) & (pred.scores >= score_thr)
    bboxes = bboxes[keep]
    if len(bboxes) == 0:
        return bboxes
    return bboxes[nms(bboxes, nms_thr)]


def instances_to_json(pred_instances: InstanceData) -> List[dict]:
    """Per person: box, box score, keypoints ``[x, y]`` and scores."""
    people = []
    for i in range(len(pred_instances.keypoints)):
        person = dict(
            bbox=[float(v) for v in pred_instances.bboxes[i]],
            bbox_score=float(np.asarray(pred_instances.bbox_scores[i])),
            keypoints=np.asarray(pred_instances.keypoints[i],
                                 dtype=float).tolist(),
            keypoint_scores=np.asarray(pred_instances.keypoint_scores[i],
                                       dtype=float).tolist())
        people.append(person)
    return people


def build_visualizer(model: torch.nn.Module):
    """MMPose's visualizer from the pose config, set to its dataset."""
    cfg = ConfigDict(model.cfg.visualizer)
    cfg.pop('vis_backends', None)  # images are saved through out_file
    cfg['name'] = 'tools_demo_visualizer'
    visualizer = VISUALIZERS.build(cfg)
    visualizer.set_dataset_meta(model.dataset_meta)
    return visualizer


class Demo:
    """The pose model, the optional detector and the visualizer."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        device = args.device or ('cuda:0'
                                 if torch.cuda.is_available() else 'cpu')
        check_file(args.checkpoint, 'checkpoint')
        if args.det_checkpoint is not None:
            check_file(args.det_checkpoint, 'detector checkpoint')
        self.pose = init_model(args.config, args.checkpoint, device=device,
                               allow_partial=args.allow_partial)
        # before the detector: building it switches the default scope
        self.visualizer = build_visualizer(self.pose)
        self.detector = None
        if args.det_config is not None:
            try:
                from mmdet.apis import inference_detector, init_detector
            except ImportError as err:
                raise DemoError('--det-config needs MMDetection (mmdet '
                                f'3.x): {err}') from err
            from mmpose.utils import adapt_mmdet_pipeline
            self._inference_detector = inference_detector
            with explain_refused_checkpoint(args.det_checkpoint):
                self.detector = init_detector(args.det_config,
                                              args.det_checkpoint,
                                              device=device)
            self.detector.cfg = adapt_mmdet_pipeline(self.detector.cfg)
            self.cat_id = args.det_cat_id
            if self.cat_id is None:
                classes = [str(c).lower() for c in
                           self.detector.dataset_meta.get('classes', ())]
                self.cat_id = classes.index('person') if (
                    'person' in classes) else 0

    def detect(self, path: Path, image: np.ndarray) -> np.ndarray:
        """Person boxes ``[N, 5]``, or the whole image without a detector.
        """
        if self.detector is None:
            h, w = image.shape[:2]
            return np.array([[0, 0, w, h, 1]], dtype=np.float32)
        result = self._inference_detector(self.detector, image)
        bboxes = person_bboxes(result.pred_instances, self.cat_id,
                               self.args.det_score_thr, self.args.nms_thr)
        if len(bboxes) == 0:
            raise DemoError(
                f'the detector found no person in {path} with a score of '
                f'at least {self.args.det_score_thr} (--det-score-thr, '
                f'class index {self.cat_id})')
        return bboxes

    def __call__(self, path: Path, out_dir: Path) -> dict:
        """Infer, draw and save one image; returns its JSON record."""
        image = read_image(path)
        bboxes = self.detect(path, image)
        samples = inference_topdown(self.pose, image, bboxes[:, :4])
        for sample, score in zip(samples, bboxes[:, 4]):
            sample.pred_instances.bbox_scores = np.array([score],
                                                         dtype=np.float32)
        merged = merge_data_samples(samples)
        out_dir.mkdir(parents=True, exist_ok=True)
        out_image = out_dir / f'{path.stem}_pose{path.suffix}'
        self.visualizer.add_datasample(
            'result', mmcv.bgr2rgb(image), data_sample=merged,
            draw_gt=False, draw_bbox=self.detector is not None, show=False,
            out_file=str(out_image), kpt_thr=self.args.kpt_thr)
        record = dict(
            image=str(path), width=int(image.shape[1]),
            height=int(image.shape[0]),
            boxes_from='detector' if self.detector is not None else
            'whole image',
            keypoint_names=[
                self.pose.dataset_meta['keypoint_id2name'][k]
                for k in range(self.pose.dataset_meta['num_keypoints'])
            ],
            people=instances_to_json(merged.pred_instances))
        out_json = out_dir / f'{path.stem}_pose.json'
        out_json.write_text(json.dumps(record))
        print(f'{path}: {len(record["people"])} person(s) -> {out_image}, '
              f'{out_json}', flush=True)
        return record


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the demo; returns the exit status."""
    args = parse_args(argv)
    # keep MMEngine's loading messages off the console
    MMLogger.get_instance(f'demo-{time.time_ns()}', log_level='WARNING')
    errors = []
    try:
        images = find_images(args.input)
        with ExitStack() as stack:
            if args.trust_checkpoint:
                stack.enter_context(trust_checkpoint_pickles())
            demo = Demo(args)
        for path in images:
            rel = path.relative_to(args.input) if args.input.is_dir() \
                else Path(path.name)
            try:
                demo(path, args.out_dir / rel.parent)
            except DemoError as err:
                print(f'error: {err}', file=sys.stderr, flush=True)
                errors.append(str(err))
    except (DemoError, pickle.UnpicklingError,
            CheckpointMismatchError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    if errors:
        print(f'{len(errors)} of {len(images)} image(s) failed:\n  ' +
              '\n  '.join(errors), file=sys.stderr)
        return 1
    return 0

