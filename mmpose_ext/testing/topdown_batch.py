"""Synthetic top-down batches packed by MMPose's own pipeline, for tests
and benchmarks.

A batch is made from random images with one person box and random
keypoints inside it, by MMPose's ``GetBBoxCenterScale``, ``TopdownAffine``,
``GenerateTarget`` (any codec, e.g. this package's ``MultiLevelHeatmap``)
and ``PackPoseInputs``, then collated: what a data loader gives
``model.train_step`` / ``model.test_step``, without any file.
"""
import copy
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import DefaultScope

__all__ = [
    'COCO_FLIP_INDICES', 'COCO_KEYPOINT_WEIGHTS', 'config_topdown_batch',
    'make_topdown_batch', 'resize_codec'
]

# COCO's horizontal flip pairs, as MMPose's coco.py metainfo defines them.
COCO_FLIP_INDICES = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
# COCO's per-keypoint loss weights (elbows/knees 1.2, wrists/ankles 1.5).
COCO_KEYPOINT_WEIGHTS = np.array(
    [1., 1., 1., 1., 1., 1., 1., 1.2, 1.2, 1.5, 1.5, 1., 1., 1.2, 1.2, 1.5,
     1.5], dtype=np.float32)

CodecType = Union[dict, Sequence[dict]]


def make_topdown_batch(codec: Optional[CodecType],
                       input_size: Tuple[int, int] = (48, 64),
                       batch_size: int = 2,
                       num_keypoints: Optional[int] = None,
                       use_dataset_keypoint_weights: bool = False,
                       seed: int = 0,
                       multilevel: bool = False,
                       dataset_meta: Optional[dict] = None,
                       image_size: Tuple[int, int] = (100, 120)) -> dict:
    """A batch as MMPose's top-down pipeline and collate produce it.

    Each sample is a random ``image_size`` image whose person box is the
    image without a margin of a tenth of its width, with keypoints drawn
    uniformly inside the box without the same margin again (80 % of them
    visible), warped to ``input_size``.

    Args:
        codec (dict | list[dict], optional): Encoder(s) of
            ``GenerateTarget``; ``None`` packs test-time samples without
            targets.
        input_size (tuple[int, int]): Network input ``(w, h)``. Defaults
            to ``(48, 64)``.
        batch_size (int): Number of samples. Defaults to ``2``.
        num_keypoints (int, optional): Keypoints per instance. Defaults to
            ``dataset_meta['num_keypoints']``, else ``17``.
        use_dataset_keypoint_weights (bool): Passed to ``GenerateTarget``.
            Defaults to ``False``.
        seed (int): Random seed of images and keypoints. Defaults to ``0``.
        multilevel (bool): Passed to ``GenerateTarget`` (a list of codecs
            encoding ``MultilevelPixelData``). Defaults to ``False``.
        dataset_meta (dict, optional): A data set's meta information (e.g.
            ``dataset_meta_from_config``), added to every sample's results
            as a dataset does; by default COCO's flip indices and keypoint
            weights for 17 keypoints, the identity and ones otherwise.
        image_size (tuple[int, int]): Size ``(w, h)`` of the random images.
            Defaults to ``(100, 120)``.

    Returns:
        dict: ``inputs`` (``[B, 3, h, w]`` float tensor) and
        ``data_samples`` (list of ``PoseDataSample``).
    """
    if num_keypoints is None:
        num_keypoints = dataset_meta['num_keypoints'] if dataset_meta else 17
    if dataset_meta is None:
        coco = num_keypoints == len(COCO_FLIP_INDICES)
        dataset_meta = dict(
            flip_indices=COCO_FLIP_INDICES
            if coco else list(range(num_keypoints)),
            dataset_keypoint_weights=COCO_KEYPOINT_WEIGHTS
            if coco else np.ones(num_keypoints, np.float32))
    elif dataset_meta.get('num_keypoints', num_keypoints) != num_keypoints:
        raise ValueError(f'num_keypoints={num_keypoints} differs from the '
                         f'{dataset_meta["num_keypoints"]} of dataset_meta')
    steps = [
        dict(type='GetBBoxCenterScale'),
        dict(type='TopdownAffine', input_size=tuple(input_size)),
    ]
    if codec is not None:
        steps.append(
            dict(type='GenerateTarget', encoder=copy.deepcopy(codec),
                 multilevel=multilevel,
                 use_dataset_keypoint_weights=use_dataset_keypoint_weights))
    steps.append(dict(type='PackPoseInputs'))
    with DefaultScope.overwrite_default_scope('mmpose'):
        pipeline = Compose(steps)

    rng = np.random.default_rng(seed)
    img_w, img_h = image_size
    margin = img_w / 10
    box = np.array([margin, margin, img_w - margin, img_h - margin])
    samples: List[dict] = []
    for i in range(batch_size):
        img = rng.integers(0, 255, (img_h, img_w, 3), dtype=np.uint8)
        keypoints = rng.uniform(box[:2] + margin, box[2:] - margin,
                                (1, num_keypoints, 2)).astype(np.float32)
        visible = (rng.random((1, num_keypoints)) > 0.2).astype(np.float32)
        results = dict(
            id=i, img_id=i, img=img, img_shape=img.shape[:2],
            ori_shape=img.shape[:2], img_path=f'sample_{i}.jpg',
            bbox=box[None].astype(np.float32),
            bbox_score=np.ones(1, dtype=np.float32), category_id=1,
            keypoints=keypoints, keypoints_visible=visible)
        results.update(dataset_meta)
        samples.append(pipeline(results))
    batch = pseudo_collate(samples)
    batch['inputs'] = torch.stack(batch['inputs']).float()
    return batch


def resize_codec(codec: dict, input_size: Sequence[int]) -> dict:
    """``codec`` for another input size ``(w, h)``.

    The heatmap size is scaled by the same factor, so that targets keep
    matching the network's output.
    """
    codec = copy.deepcopy(dict(codec))
    old = codec.get('input_size')
    if old is None or tuple(old) == tuple(input_size):
        return codec
    if 'heatmap_size' in codec:
        codec['heatmap_size'] = tuple(
            int(round(s * new / before)) for s, new, before in zip(
                codec['heatmap_size'], input_size, old))
    codec['input_size'] = tuple(input_size)
    return codec


def config_topdown_batch(cfg: Config, input_size: Sequence[int],
                         batch_size: int, dataset_meta: dict,
                         seed: int = 0) -> dict:
    """A batch with the training targets of a config.

    The targets are encoded as the ``GenerateTarget`` step of the config's
    training pipeline does (or by its ``codec`` / head decoder if it has no
    such step), with the codecs resized by :func:`resize_codec` to
    ``input_size``; the images are 1.25 x the input size.

    Args:
        cfg (Config): A top-down pose config.
        input_size (Sequence[int]): Network input ``(w, h)``.
        batch_size (int): Number of samples.
        dataset_meta (dict): The data set's meta information.
        seed (int): Random seed of images and keypoints. Defaults to ``0``.

    Returns:
        dict: As :func:`make_topdown_batch`.

    Raises:
        ValueError: if the config says nothing about its targets.
    """
    generate = next(
        (step for step in cfg.train_dataloader.dataset.get('pipeline', [])
         if step.get('type') == 'GenerateTarget'), None)
    if generate is None:
        codec = cfg.get('codec') or cfg.model.head.get('decoder')
        if codec is None:
            raise ValueError('the config has no GenerateTarget step, codec '
                             'or head decoder to encode training targets')
        generate = dict(type='GenerateTarget', encoder=codec)
    encoder = generate['encoder']
    encoder = [resize_codec(c, input_size) for c in encoder] if isinstance(
        encoder, (list, tuple)) else resize_codec(encoder, input_size)
    w, h = input_size
    return make_topdown_batch(
        encoder, input_size=tuple(input_size), batch_size=batch_size,
        use_dataset_keypoint_weights=generate.get(
            'use_dataset_keypoint_weights', False),
        seed=seed, multilevel=generate.get('multilevel', False),
        dataset_meta=dataset_meta,
        image_size=(int(w * 1.25), int(h * 1.25)))
