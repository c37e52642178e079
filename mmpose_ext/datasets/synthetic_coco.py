"""Generate a small, learnable synthetic dataset in COCO keypoint format.

Every image shows 1-3 articulated, front-facing stick figures (torso,
head with eyes / nose / ears, two-segment arms and legs with human
proportions) on a textured background with distractor shapes. Some
keypoints are hidden behind an occluder or by another figure (``v=1``) or
fall outside the image (``v=0`` with ``x=y=0``, as in COCO); all other
keypoints are visible (``v=2``). Left / right follow COCO: "left" is the
person's left, and since the figures face the camera the left keypoints
are drawn on the image's right (before any arm crossing), so COCO's flip
pairs are correct for flip augmentation and flip test.

Usage::

    python tools/make_synthetic_coco.py --out data/synthetic_coco \\
        [--num-train 1000] [--num-val 200] [--seed 0] \\
        [--img-size 256 | --img-size W H] [--workers N]

Output layout (the directory is created if needed; files of an earlier
run with the same names are overwritten)::

    OUT/
    |-- annotations/
    |   |-- person_keypoints_train.json
    |   `-- person_keypoints_val.json
    `-- images/
        |-- train/000000000001.jpg ...
        `-- val/000100000001.jpg ...

Image ids are ``index + 1`` for train and ``100000000 + index + 1`` for
val (unique across the two splits, like COCO); the file name is the id
with 12 digits. Annotation ids are ``image_id * 10 + k`` for the k-th
person (k = 1..3). ``bbox`` is the tight integer box around the drawn
figure (head, limb thickness, hands and feet included) clipped to the
image. ``segmentation`` is empty and ``area`` is 0.53 of the bbox area,
the typical mask / box ratio of COCO persons, so that OKS (which uses
``area`` as the person's scale) is as strict as on COCO.

Both JSON files and all images are byte-identical for a given ``--seed``
and image size, whatever ``--workers`` is: each image draws from its own
random stream seeded with ``(seed, split, index)``.

MMPose's stock ``CocoDataset`` and ``CocoMetric`` read the output
directly::

    data_root = 'data/synthetic_coco/'
    train_dataloader = dict(dataset=dict(
        type='CocoDataset', data_root=data_root, data_mode='topdown',
        ann_file='annotations/person_keypoints_train.json',
        data_prefix=dict(img='images/train/'), pipeline=train_pipeline))
    val_dataloader = dict(dataset=dict(
        type='CocoDataset', data_root=data_root, data_mode='topdown',
        ann_file='annotations/person_keypoints_val.json',
        data_prefix=dict(img='images/val/'), test_mode=True,
        pipeline=val_pipeline))
    val_evaluator = dict(
        type='CocoMetric',
        ann_file=data_root + 'annotations/person_keypoints_val.json')
"""
from __future__ import annotations

import argparse
import functools
import json
import math
import multiprocessing
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import cv2
import numpy as np

KEYPOINT_NAMES = (
    'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear',
    'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow',
    'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee',
    'right_knee', 'left_ankle', 'right_ankle')
# COCO's person skeleton, 1-based, in the order of person_keypoints_*.json.
SKELETON = (
    (16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13),
    (6, 7), (6, 8), (7, 9), (8, 10), (9, 11), (2, 3), (1, 2), (1, 3),
    (2, 4), (3, 5), (4, 6), (5, 7))
CATEGORY = {
    'supercategory': 'person',
    'id': 1,
    'name': 'person',
    'keypoints': list(KEYPOINT_NAMES),
    'skeleton': [list(pair) for pair in SKELETON],
}
SPLITS = ('train', 'val')
SPLIT_CODES = {'train': 0, 'val': 1}
VAL_ID_OFFSET = 100_000_000
MAX_IMAGES = VAL_ID_OFFSET - 1
MAX_PERSONS = 3
MIN_LABELLED = 8  # a truncated figure keeps at least this many keypoints
JPEG_QUALITY = 90
# COCO person masks cover about 53 % of their boxes (MMPose assumes the same
# when ``area`` is missing); OKS uses ``area`` as the person's scale.
AREA_RATIO = 0.53

_SHIFT = 4  # cv2 sub-pixel drawing: coordinates are in 1/16 pixel
_ONE = 1 << _SHIFT
_OCCLUDER_ID = 255


class Figure(NamedTuple):
    """One stick figure in image coordinates.

    Attributes:
        keypoints: ``(17, 2)`` keypoint coordinates (pixels, COCO order).
        prims: Drawing primitives, see :func:`_draw_prims`.
        box: ``(x0, y0, x1, y1)`` tight extent of the drawn figure.
        height: Nominal standing height in pixels.
    """

    keypoints: np.ndarray
    prims: list
    box: np.ndarray
    height: float


def _dir(theta: float) -> np.ndarray:
    """Return the unit vector at angle ``theta``.

    Args:
        theta: Angle in radians; 0 points down the image, positive angles
            turn towards the image's right (+x).

    Returns:
        ``(2,)`` unit vector ``(sin theta, cos theta)``.
    """
    return np.array([math.sin(theta), math.cos(theta)])


def _pt(p: np.ndarray) -> tuple[int, int]:
    """Convert a float point to cv2 fixed-point coordinates."""
    return round(float(p[0]) * _ONE), round(float(p[1]) * _ONE)


def _color(rng: np.random.Generator, avoid: np.ndarray,
           min_dist: float = 90.0) -> tuple[int, int, int]:
    """Sample a BGR colour that stands out from ``avoid``.

    Args:
        rng: Random generator.
        avoid: ``(3,)`` colour (e.g. the mean background colour).
        min_dist: Minimum Euclidean distance to ``avoid``.

    Returns:
        A BGR colour tuple.
    """
    col = rng.uniform(0, 255, size=3)
    for _ in range(20):
        if np.linalg.norm(col - avoid) >= min_dist:
            break
        col = rng.uniform(0, 255, size=3)
    return tuple(int(c) for c in col)


def _shade(col: Sequence[int], factor: float) -> tuple[int, int, int]:
    """Scale a colour's brightness by ``factor`` (clipped to 0..255)."""
    return tuple(int(min(255, max(0, c * factor))) for c in col)


@functools.lru_cache(maxsize=4)
def _noise_bank(height: int, width: int) -> np.ndarray:
    """Return a fixed ``(2 * height, 2 * width, 3)`` Gaussian noise bank.

    Random crops of it are much cheaper than fresh noise for every image
    and just as deterministic (the bank has its own fixed seed).
    """
    rng = np.random.default_rng(0x5EED)
    return rng.standard_normal((2 * height, 2 * width, 3), dtype=np.float32)


def make_background(rng: np.random.Generator, width: int,
                    height: int) -> np.ndarray:
    """Draw a textured background: gradient + blobs + stripes + noise.

    Args:
        rng: Random generator.
        width: Image width in pixels.
        height: Image height in pixels.

    Returns:
        ``(height, width, 3)`` uint8 BGR image.
    """
    c0, c1 = rng.uniform(20, 235, size=(2, 3)).astype(np.float32)
    xs = np.arange(width, dtype=np.float32)[None, :]
    ys = np.arange(height, dtype=np.float32)[:, None]
    ang = rng.uniform(0, 2 * math.pi)
    ramp = xs * math.cos(ang) + ys * math.sin(ang)
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    img = c0 + (c1 - c0) * ramp[..., None]
    gh, gw = rng.integers(2, 9, size=2)
    blobs = rng.standard_normal((gh, gw, 3), dtype=np.float32)
    img += cv2.resize(blobs, (width, height),
                      interpolation=cv2.INTER_CUBIC) * rng.uniform(5, 35)
    if rng.random() < 0.6:
        period = rng.uniform(5, 40)
        ang = rng.uniform(0, math.pi)
        wave = np.sin((xs * math.cos(ang) + ys * math.sin(ang)) *
                      (2 * math.pi / period) + rng.uniform(0, 2 * math.pi))
        img += wave[..., None] * rng.uniform(-30, 30, size=3).astype(
            np.float32)
    oy, ox = rng.integers(0, height), rng.integers(0, width)
    img += _noise_bank(height, width)[oy:oy + height, ox:ox + width] * \
        np.float32(rng.uniform(2, 12))
    return np.clip(img, 0, 255).astype(np.uint8)


def draw_distractors(rng: np.random.Generator, img: np.ndarray) -> None:
    """Draw random rectangles, ellipses, lines and zig-zags in place.

    Args:
        rng: Random generator.
        img: ``(H, W, 3)`` uint8 image, modified in place.
    """
    h, w = img.shape[:2]
    size = min(h, w)
    for _ in range(int(rng.integers(3, 11))):
        col = tuple(int(c) for c in rng.uniform(0, 255, size=3))
        kind = rng.random()
        c = rng.uniform(0, 1, size=2) * (w, h)
        if kind < 0.3:
            rect = ((float(c[0]), float(c[1])),
                    tuple(float(s) for s in rng.uniform(0.04, 0.35, 2) * size),
                    float(rng.uniform(0, 180)))
            pts = np.round(cv2.boxPoints(rect) * _ONE).astype(np.int32)
            cv2.fillPoly(img, [pts], col, cv2.LINE_AA, _SHIFT)
        elif kind < 0.55:
            axes = rng.uniform(0.02, 0.15, size=2) * size
            thick = -1 if rng.random() < 0.6 else int(rng.integers(1, 5))
            cv2.ellipse(img, _pt(c), _pt(axes), float(rng.uniform(0, 180)),
                        0, 360, col, thick, cv2.LINE_AA, _SHIFT)
        elif kind < 0.8:
            d = _dir(rng.uniform(0, 2 * math.pi)) * rng.uniform(0.1, 0.5)
            cv2.line(img, _pt(c), _pt(c + d * size), col,
                     int(rng.integers(1, 9)), cv2.LINE_AA, _SHIFT)
        else:  # limb-like zig-zag: a hard negative for the pose model
            thick = int(rng.integers(2, 8))
            p = c
            for _ in range(int(rng.integers(2, 4))):
                q = p + _dir(rng.uniform(0, 2 * math.pi)) * \
                    rng.uniform(0.06, 0.2) * size
                cv2.line(img, _pt(p), _pt(q), col, thick, cv2.LINE_AA,
                         _SHIFT)
                p = q


def _seg(rng: np.random.Generator, lo: float, hi: float,
         height: float) -> float:
    """Sample a limb length, sometimes foreshortened (out-of-plane)."""
    length = rng.uniform(lo, hi) * height
    if rng.random() < 0.25:
        length *= rng.uniform(0.65, 1.0)
    return length


def sample_figure(rng: np.random.Generator, height: float,
                  bg_mean: np.ndarray) -> Figure:
    """Sample a front-facing stick figure with the pelvis at the origin.

    Proportions (fractions of the standing height): torso 0.30, shoulder
    width 0.22, hip width 0.16, upper arm 0.17, forearm 0.15, thigh 0.245,
    shin 0.235, head 0.13 tall.

    Args:
        rng: Random generator.
        height: Standing height (top of head to ankles) in pixels.
        bg_mean: ``(3,)`` mean background colour, avoided by the figure.

    Returns:
        The figure in local coordinates (pelvis at ``(0, 0)``).
    """
    rad = math.radians
    kp = np.zeros((17, 2))
    rot = rng.normal(0, rad(5))  # whole-body tilt
    lean = rng.normal(0, rad(8))
    if rng.random() < 0.1:
        lean = rng.uniform(-rad(40), rad(40))
    torso = rot + lean  # "down" angle of the torso
    up, right = -_dir(torso), _dir(torso + math.pi / 2)
    yaw = rng.uniform(0.65, 1.0)  # narrows the body as if turned a bit
    shoulders = up * rng.uniform(0.28, 0.32) * height
    half_sw = rng.uniform(0.2, 0.25) * height * yaw / 2
    half_hw = rng.uniform(0.14, 0.18) * height * yaw / 2
    # Facing the camera: the person's left is on the image's right.
    kp[5], kp[6] = shoulders + right * half_sw, shoulders - right * half_sw
    kp[11], kp[12] = right * half_hw, -right * half_hw

    for side, (sho, elb, wri) in ((1, (5, 7, 9)), (-1, (6, 8, 10))):
        if rng.random() < 0.65:
            abduct = rng.uniform(-20, 100)
        else:
            abduct = rng.uniform(100, 175)
        upper = torso + side * rad(abduct)
        flex = rng.uniform(0, 140) * (1 if rng.random() < 0.6 else -1)
        kp[elb] = kp[sho] + _dir(upper) * _seg(rng, 0.16, 0.19, height)
        kp[wri] = kp[elb] + _dir(upper + side * rad(flex)) * \
            _seg(rng, 0.14, 0.16, height)
    for side, (hip, knee, ank) in ((1, (11, 13, 15)), (-1, (12, 14, 16))):
        if rng.random() < 0.8:
            abduct = rng.uniform(-8, 30)
        else:
            abduct = rng.uniform(30, 75)
        thigh = rot + side * rad(abduct)
        bend = rng.uniform(0, 40) * (1 if rng.random() < 0.5 else -1)
        if rng.random() < 0.2:
            bend = -rng.uniform(40, 110)  # squat: feet come back inwards
        kp[knee] = kp[hip] + _dir(thigh) * _seg(rng, 0.23, 0.26, height)
        kp[ank] = kp[knee] + _dir(thigh + side * rad(bend)) * \
            _seg(rng, 0.22, 0.25, height)

    neck = torso + rng.normal(0, rad(10))
    h_up, h_right = -_dir(neck), _dir(neck + math.pi / 2)
    ry = rng.uniform(0.06, 0.07) * height
    rx = ry * rng.uniform(0.8, 0.92)
    head = shoulders + h_up * rng.uniform(0.11, 0.13) * height
    turn = rng.uniform(-0.3, 0.3)  # face turned left / right
    kp[0] = head + h_right * turn * 0.9 * rx - h_up * 0.2 * ry
    kp[1] = head + h_right * (0.4 + 0.6 * turn) * rx + h_up * 0.2 * ry
    kp[2] = head + h_right * (-0.4 + 0.6 * turn) * rx + h_up * 0.2 * ry
    kp[3] = head + h_right * 0.88 * rx + h_up * 0.05 * ry
    kp[4] = head - h_right * 0.88 * rx + h_up * 0.05 * ry

    # Colours: one for the whole figure, or skin / shirt / trousers.
    skin = _color(rng, bg_mean)
    if rng.random() < 0.3:
        shirt = trousers = shoes = hair = skin
    else:
        shirt, trousers = _color(rng, bg_mean), _color(rng, bg_mean)
        shoes, hair = _shade(trousers, 0.5), _color(rng, bg_mean, 40)
    dark = sum(skin) < 300
    eye_col = (245, 245, 245) if dark else (20, 20, 20)
    t = rng.uniform(0.035, 0.065) * height
    head_deg = -math.degrees(neck)
    eye_r = max(1.0, 0.15 * rx)

    prims: list = []
    for hip, knee, ank in ((11, 13, 15), (12, 14, 16)):
        prims.append(('line', kp[hip], kp[knee], t * 1.2, trousers))
        prims.append(('line', kp[knee], kp[ank], t * 1.1, trousers))
        foot = kp[ank] + (kp[ank] - kp[knee]) / max(
            np.linalg.norm(kp[ank] - kp[knee]), 1e-6) * t * 0.5
        prims.append(('ellipse', foot, (t * 0.9, t * 0.6),
                      -math.degrees(math.atan2(*(kp[ank] - kp[knee]))),
                      shoes))
    prims.append(('poly', kp[[5, 6, 12, 11]], shirt))
    prims.append(('line', shoulders, head, t * 0.9, skin))
    if hair is not skin and rng.random() < 0.7:
        prims.append(('ellipse', head + h_up * 0.15 * ry,
                      (rx * 1.08, ry), head_deg, hair))
    for ear in (3, 4):
        prims.append(('ellipse', kp[ear], (0.25 * rx, 0.3 * ry), head_deg,
                      _shade(skin, 0.8)))
    prims.append(('ellipse', head, (rx, ry), head_deg, skin))
    prims.append(('circle', kp[1], eye_r, eye_col))
    prims.append(('circle', kp[2], eye_r, eye_col))
    prims.append(('circle', kp[0], max(1.0, 0.12 * rx), _shade(skin, 0.6)))
    mouth = kp[0] - h_up * 0.35 * ry
    prims.append(('line', mouth - h_right * 0.25 * rx,
                  mouth + h_right * 0.25 * rx, max(1.0, 0.08 * rx),
                  _shade(skin, 0.55)))
    for sho, elb, wri in ((5, 7, 9), (6, 8, 10)):
        prims.append(('line', kp[sho], kp[elb], t, shirt))
        prims.append(('line', kp[elb], kp[wri], t * 0.85,
                      skin if rng.random() < 0.5 else shirt))
        prims.append(('circle', kp[wri], t * 0.6, skin))
    return Figure(kp, prims, _prims_box(prims), height)


def _prims_box(prims: list) -> np.ndarray:
    """Return the tight ``(x0, y0, x1, y1)`` extent of drawing primitives.

    Args:
        prims: Primitives as built by :func:`sample_figure`.

    Returns:
        ``(4,)`` float array.
    """
    pts, half = [], []  # every primitive as points with x / y half-extents
    for prim in prims:
        kind = prim[0]
        if kind == 'line':
            pts += [prim[1], prim[2]]
            half += [(prim[3] / 2, prim[3] / 2)] * 2
        elif kind == 'poly':
            pts += list(prim[1])
            half += [(0.0, 0.0)] * len(prim[1])
        elif kind == 'circle':
            pts.append(prim[1])
            half.append((prim[2], prim[2]))
        else:  # rotated ellipse
            (ax, ay), phi = prim[2], math.radians(prim[3])
            cos, sin = math.cos(phi), math.sin(phi)
            pts.append(prim[1])
            half.append((math.hypot(ax * cos, ay * sin),
                         math.hypot(ax * sin, ay * cos)))
    pts_arr, half_arr = np.array(pts), np.array(half)
    return np.concatenate([(pts_arr - half_arr).min(0),
                           (pts_arr + half_arr).max(0)])


def _translate(fig: Figure, offset: np.ndarray) -> Figure:
    """Move a figure by ``offset`` pixels."""
    prims = []
    for prim in fig.prims:
        prim = list(prim)
        prim[1] = prim[1] + offset
        if prim[0] == 'line':
            prim[2] = prim[2] + offset
        prims.append(tuple(prim))
    return Figure(fig.keypoints + offset, prims,
                  fig.box + np.tile(offset, 2), fig.height)


def _draw_prims(img: np.ndarray, prims: list, fill: int | None) -> None:
    """Rasterise primitives into ``img``.

    Args:
        img: Image to draw into, modified in place.
        prims: ``('line', p0, p1, thickness, colour)``,
            ``('poly', points, colour)``, ``('circle', centre, radius,
            colour)`` or ``('ellipse', centre, axes, angle_deg, colour)``.
        fill: If given, draw every primitive with this value and without
            anti-aliasing (for the instance-id map); otherwise use the
            primitives' colours, anti-aliased.
    """
    aa = cv2.LINE_8 if fill is not None else cv2.LINE_AA
    for prim in prims:
        kind, col = prim[0], prim[-1] if fill is None else fill
        if kind == 'line':
            cv2.line(img, _pt(prim[1]), _pt(prim[2]), col,
                     max(1, round(float(prim[3]))), aa, _SHIFT)
        elif kind == 'poly':
            pts = np.round(prim[1] * _ONE).astype(np.int32)
            cv2.fillPoly(img, [pts], col, aa, _SHIFT)
        elif kind == 'circle':
            cv2.circle(img, _pt(prim[1]), round(float(prim[2]) * _ONE), col,
                       -1, aa, _SHIFT)
        else:
            cv2.ellipse(img, _pt(prim[1]), _pt(np.asarray(prim[2])),
                        prim[3], 0, 360, col, -1, aa, _SHIFT)


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection of two boxes over the smaller box's area."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    area = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return iw * ih / max(area, 1e-6)


def _clip_box(box: np.ndarray, width: int, height: int) -> np.ndarray:
    """Clip an ``(x0, y0, x1, y1)`` box to the image."""
    return np.clip(box, 0, [width, height, width, height])


def _inside(kp: np.ndarray, width: int, height: int) -> np.ndarray:
    """Boolean mask of keypoints inside the image (pixel-centre coords)."""
    return ((kp[:, 0] >= 0) & (kp[:, 0] <= width - 1) & (kp[:, 1] >= 0)
            & (kp[:, 1] <= height - 1))


def place_figure(rng: np.random.Generator, fig: Figure, width: int,
                 height: int, truncate: bool) -> Figure | None:
    """Position a figure in the image.

    Args:
        rng: Random generator.
        fig: Figure in local coordinates.
        width: Image width.
        height: Image height.
        truncate: If True, push 10-35 % of the figure's keypoint extent
            out of one image side, so that at least one keypoint is
            outside; otherwise keep the whole figure inside.

    Returns:
        The translated figure, or None if it does not fit.
    """
    box = fig.box
    lo = np.array([-box[0], -box[1]])
    hi = np.array([width - 1 - box[2], height - 1 - box[3]])
    if np.any(hi < lo):
        return None
    offset = rng.uniform(lo, hi)
    if truncate:
        kp = fig.keypoints
        kmin, kmax = kp.min(0), kp.max(0)
        frac = rng.uniform(0.1, 0.35) * (kmax - kmin)
        side = rng.choice(4, p=[0.5, 0.2, 0.2, 0.1])  # bottom,left,right,top
        axis = 1 if side in (0, 3) else 0
        limit = (width, height)[axis] - 1
        if side in (0, 2):
            offset[axis] = limit - kmax[axis] + frac[axis]
        else:
            offset[axis] = -kmin[axis] - frac[axis]
    fig = _translate(fig, offset)
    if truncate and _inside(fig.keypoints, width, height).sum() < \
            MIN_LABELLED:
        return None
    return fig


def generate_image(seed: int, split: str, index: int, width: int,
                   height: int) -> tuple[np.ndarray, list[np.ndarray],
                                         list[np.ndarray]]:
    """Render one image and its keypoint labels.

    Args:
        seed: Global seed.
        split: ``'train'`` or ``'val'``.
        index: Image index within the split.
        width: Image width.
        height: Image height.

    Returns:
        ``(image, keypoints, boxes)``: the BGR image, one ``(17, 3)``
        COCO ``[x, y, v]`` array per person and one ``(x0, y0, x1, y1)``
        box per person (clipped to the image).
    """
    rng = np.random.default_rng([seed, SPLIT_CODES[split], index])
    img = make_background(rng, width, height)
    bg_mean = img[::4, ::4].reshape(-1, 3).mean(0)
    draw_distractors(rng, img)
    ids = np.zeros((height, width), np.uint8)

    # Images with index % 4 == 1 always get a truncated figure and those
    # with index % 4 == 2 an occluder, so small sets contain v=0 and v=1.
    truncate = index % 4 == 1 or rng.random() < 0.1
    occlude = index % 4 == 2 or rng.random() < 0.3
    n_persons = int(rng.choice(MAX_PERSONS, p=[0.5, 0.3, 0.2])) + 1
    figures: list[Figure] = []
    for k in range(n_persons):
        person_h = rng.uniform(0.4, 0.95 - 0.15 * k) * height
        for attempt in range(80 if k == 0 else 32):
            # a new pose every 4th attempt, 15 % smaller every 16th
            if attempt and attempt % 16 == 0:
                person_h = max(person_h * 0.85, 0.3 * height)
            if attempt % 4 == 0:
                local = sample_figure(rng, person_h, bg_mean)
            fig = place_figure(rng, local, width, height,
                               truncate and k == 0)
            if fig is None:
                continue
            box = _clip_box(fig.box, width, height)
            if all(_overlap(box, _clip_box(f.box, width, height)) < 0.15
                   for f in figures):
                figures.append(fig)
                break
        else:
            if k == 0:
                raise RuntimeError(
                    f'could not place a figure in {split} image {index}')
    for k, fig in enumerate(figures):
        _draw_prims(img, fig.prims, None)
        _draw_prims(ids, fig.prims, k + 1)

    if occlude:
        fig = figures[int(rng.integers(len(figures)))]
        cands = np.flatnonzero(_inside(fig.keypoints, width, height))
        centre = fig.keypoints[rng.choice(cands)]
        size = rng.uniform(0.12, 0.25, size=2) * fig.height
        # Keep the chosen keypoint well inside the occluder, whatever its
        # rotation: the shift is at most 0.36 of the shorter side.
        centre = centre + rng.uniform(-0.25, 0.25, size=2) * size.min()
        col = _color(rng, bg_mean, 60)
        if rng.random() < 0.5:
            rect = ((float(centre[0]), float(centre[1])),
                    (float(size[0]), float(size[1])),
                    float(rng.uniform(0, 90)))
            pts = np.round(cv2.boxPoints(rect) * _ONE).astype(np.int32)
            cv2.fillPoly(img, [pts], col, cv2.LINE_AA, _SHIFT)
            cv2.polylines(img, [pts], True, _shade(col, 0.6), 2, cv2.LINE_AA,
                          _SHIFT)
            cv2.fillPoly(ids, [pts], _OCCLUDER_ID, cv2.LINE_8, _SHIFT)
        else:
            prim = [('ellipse', centre, size / 2, rng.uniform(0, 180), col)]
            _draw_prims(img, prim, None)
            _draw_prims(ids, prim, _OCCLUDER_ID)

    keypoints, boxes = [], []
    for k, fig in enumerate(figures):
        kp = fig.keypoints
        inside = _inside(kp, width, height)
        xi = np.clip(np.round(kp[:, 0]), 0, width - 1).astype(int)
        yi = np.clip(np.round(kp[:, 1]), 0, height - 1).astype(int)
        vis = np.where(ids[yi, xi] == k + 1, 2, 1)
        kpv = np.concatenate([kp, vis[:, None]], 1)
        kpv[~inside] = 0
        keypoints.append(kpv)
        boxes.append(_clip_box(fig.box, width, height))
    return img, keypoints, boxes


def image_id(split: str, index: int) -> int:
    """Return the COCO image id of image ``index`` of ``split``."""
    return index + 1 + (VAL_ID_OFFSET if split == 'val' else 0)


def _work(task: tuple[int, str, int, int, int, str]
          ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Generate, save and annotate one image (a worker-pool task).

    Args:
        task: ``(seed, split, index, width, height, image_dir)``.

    Returns:
        The COCO ``images`` entry and the image's ``annotations`` entries.

    Raises:
        OSError: If the image cannot be written.
    """
    seed, split, index, width, height, img_dir = task
    img, keypoints, boxes = generate_image(seed, split, index, width,
                                           height)
    img_id = image_id(split, index)
    file_name = f'{img_id:012d}.jpg'
    path = os.path.join(img_dir, file_name)
    if not cv2.imwrite(path, img, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
        raise OSError(f'could not write image {path}')
    anns = []
    for k, (kpv, box) in enumerate(zip(keypoints, boxes), 1):
        x0, y0 = math.floor(box[0]), math.floor(box[1])
        x1, y1 = math.ceil(box[2]), math.ceil(box[3])
        w, h = x1 - x0, y1 - y0
        flat: list[float | int] = []
        for x, y, v in kpv.tolist():
            flat += [round(x, 2), round(y, 2), int(v)]
        anns.append({
            'id': img_id * 10 + k,
            'image_id': img_id,
            'category_id': 1,
            'keypoints': flat,
            'num_keypoints': int((kpv[:, 2] > 0).sum()),
            'bbox': [x0, y0, w, h],
            'area': round(AREA_RATIO * w * h, 2),
            'iscrowd': 0,
            'segmentation': [],
        })
    info = {'id': img_id, 'file_name': file_name, 'width': width,
            'height': height}
    return info, anns


def write_split(out: Path, split: str, num: int, seed: int, width: int,
                height: int, pool: Any | None) -> tuple[int, int]:
    """Generate one split: its images and its annotation file.

    Args:
        out: Output root directory.
        split: ``'train'`` or ``'val'``.
        num: Number of images.
        seed: Global seed.
        width: Image width.
        height: Image height.
        pool: A ``multiprocessing.Pool`` or None to work in-process.

    Returns:
        ``(number of images, number of person annotations)``.
    """
    img_dir = out / 'images' / split
    img_dir.mkdir(parents=True, exist_ok=True)
    tasks = [(seed, split, i, width, height, str(img_dir))
             for i in range(num)]
    if pool is None:
        results = [_work(t) for t in tasks]
    else:
        results = pool.map(_work, tasks, chunksize=max(1, min(32, num // 8)))
    images = [info for info, _ in results]
    annotations = [ann for _, anns in results for ann in anns]
    coco = {
        'info': {'description': f'synthetic stick-figure keypoints '
                                f'({split}, seed {seed})',
                 'version': '1.0'},
        'licenses': [],
        'images': images,
        'annotations': annotations,
        'categories': [CATEGORY],
    }
    ann_file = out / 'annotations' / f'person_keypoints_{split}.json'
    ann_file.parent.mkdir(parents=True, exist_ok=True)
    ann_file.write_text(json.dumps(coco, separators=(',', ':')) + '\n')
    return len(images), len(annotations)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse and validate the command line.

    Args:
        argv: Arguments without the program name (default: ``sys.argv``).

    Returns:
        The parsed arguments, with ``img_size`` as ``(width, height)``.
    """
    parser = argparse.ArgumentParser(
        description='Generate a synthetic COCO-keypoint dataset of stick '
                    'figures (see the module docstring for the layout).')
    parser.add_argument('--out', required=True, type=Path,
                        help='output directory, e.g. data/synthetic_coco')
    parser.add_argument('--num-train', type=int, default=1000,
                        help='number of training images (default 1000)')
    parser.add_argument('--num-val', type=int, default=200,
                        help='number of validation images (default 200)')
    parser.add_argument('--seed', type=int, default=0,
                        help='random seed (default 0)')
    parser.add_argument('--img-size', type=int, nargs='+', default=[256],
                        metavar='N',
                        help='image size: one value for a square image or '
                             'W H (default 256)')
    parser.add_argument('--workers', type=int,
                        default=min(4, os.cpu_count() or 1),
                        help='worker processes (default: min(4, CPUs))')
    args = parser.parse_args(argv)
    for name in ('num_train', 'num_val'):
        value = getattr(args, name)
        if not 1 <= value <= MAX_IMAGES:
            parser.error(f'--{name.replace("_", "-")} must be a positive '
                         f'integer <= {MAX_IMAGES}, got {value}')
    if args.seed < 0:
        parser.error(f'--seed must be >= 0, got {args.seed}')
    if len(args.img_size) not in (1, 2):
        parser.error('--img-size takes one value (square) or two (W H), '
                     f'got {len(args.img_size)}')
    if len(args.img_size) == 1:
        args.img_size = args.img_size * 2
    if not all(64 <= s <= 4096 for s in args.img_size):
        parser.error('--img-size values must be within 64..4096, got '
                     f'{args.img_size}')
    args.img_size = tuple(args.img_size)
    if args.workers < 1:
        parser.error(f'--workers must be >= 1, got {args.workers}')
    return args


def _check_out_dir(out: Path) -> None:
    """Create ``out`` and make sure files can be written into it.

    Raises:
        OSError: With a readable message if that is impossible.
    """
    if out.exists() and not out.is_dir():
        raise OSError(f'output path {out} exists and is not a directory')
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / '.write_test'
        probe.write_bytes(b'')
        probe.unlink()
    except OSError as err:
        raise OSError(f'output directory {out} is not writable: '
                      f'{err.strerror or err}') from err


def main(argv: Sequence[str] | None = None) -> int:
    """Run the generator.

    Args:
        argv: Arguments without the program name (default: ``sys.argv``).

    Returns:
        Process exit code (0 on success, 1 on an I/O error).
    """
    args = parse_args(argv)
    width, height = args.img_size
    start = time.perf_counter()
    try:
        _check_out_dir(args.out)
        # One OpenCV thread per worker: the processes already fill the CPUs.
        # Forked from a fresh server process, not from this one: a child
        # forked from a process that has run a parallel OpenCV call hangs
        # in cv2.setNumThreads.
        pool = None
        if args.workers > 1:
            context = multiprocessing.get_context('forkserver')
            context.set_forkserver_preload([__name__])
            pool = context.Pool(args.workers, initializer=cv2.setNumThreads,
                                initargs=(1, ))
        try:
            counts = {split: write_split(args.out, split, num, args.seed,
                                         width, height, pool)
                      for split, num in (('train', args.num_train),
                                         ('val', args.num_val))}
        finally:
            if pool is not None:
                pool.close()
                pool.join()
    except OSError as err:
        print(f'make_synthetic_coco: error: {err}', file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - start
    (n_tr, p_tr), (n_va, p_va) = counts['train'], counts['val']
    print(f'Wrote {n_tr} train / {n_va} val images ({p_tr} / {p_va} '
          f'persons, {width}x{height}) to {args.out} in {elapsed:.1f} s '
          f'with {args.workers} worker(s)')
    return 0

