"""Draw the multi-context attention maps of a model over an image.

``python tools/visualize_attention.py IMAGE CONFIG CHECKPOINT [--out PNG]
[--bbox X1 Y1 X2 Y2]`` runs top-down inference on one person box (the
whole image by default), collects the maps every ``MultiContextAttention``
module of the model kept during that forward (the attention hourglass's
per-stack modules, or an attention neck), and saves a PNG grid over the
network's input crop: one holistic map per attention module, then one
part-attention map per keypoint of the last module that has them.
"""
import argparse
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from mmpose.apis import inference_topdown
from mmpose.structures.bbox import get_warp_matrix

from ..apis.inference import init_model
from ..engine.checkpoint_fit import CheckpointMismatchError
from ..models.necks import MultiContextAttention

__all__ = ['attention_tiles', 'grid', 'main', 'overlay', 'parse_args']


def overlay(crop: np.ndarray, attention: np.ndarray,
            title: str) -> np.ndarray:
    """Blend one ``[h, w]`` map in [0, 1] over a BGR crop, with a title.

    Args:
        crop (np.ndarray): The network input crop, ``[H, W, 3]`` uint8.
        attention (np.ndarray): The attention map, ``[h, w]`` in [0, 1].
        title (str): Text drawn in the tile's corner.

    Returns:
        np.ndarray: The ``[H, W, 3]`` uint8 tile.
    """
    size = (crop.shape[1], crop.shape[0])
    heat = cv2.resize(attention.astype(np.float32), size,
                      interpolation=cv2.INTER_LINEAR)
    heat = cv2.applyColorMap((np.clip(heat, 0, 1) * 255).astype(np.uint8),
                             cv2.COLORMAP_JET)
    tile = cv2.addWeighted(crop, 0.45, heat, 0.55, 0)
    cv2.putText(tile, title, (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.38,
                (255, 255, 255), 1, cv2.LINE_AA)
    return tile


def grid(tiles: Sequence[np.ndarray], columns: int) -> np.ndarray:
    """Arrange equally sized tiles row by row, padding the last row."""
    h, w = tiles[0].shape[:2]
    rows = -(-len(tiles) // columns)
    canvas = np.zeros((rows * h, columns * w, 3), np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        canvas[r * h:(r + 1) * h, c * w:(c + 1) * w] = tile
    return canvas


def attention_tiles(model: torch.nn.Module, image: np.ndarray,
                    bbox: Optional[Sequence[float]] = None
                    ) -> Tuple[List[np.ndarray], int]:
    """Run the model on one box and draw its attention maps.

    Args:
        model (nn.Module): A top-down pose model with at least one
            ``MultiContextAttention`` module.
        image (np.ndarray): BGR image.
        bbox (Sequence[float], optional): ``(x1, y1, x2, y2)``; the whole
            image if ``None``.

    Returns:
        tuple[list[np.ndarray], int]: The tiles and the number of holistic
        tiles at their front.
    """
    modules = [m for m in model.modules()
               if isinstance(m, MultiContextAttention)]
    if not modules:
        raise ValueError(
            'the model has no MultiContextAttention module: use a config '
            'with HRUHourglassNet(attention=...) or the attention neck')
    # one forward, so the kept maps belong to the unflipped input
    model.test_cfg['flip_test'] = False
    bboxes = None if bbox is None else np.array([bbox], dtype=np.float32)
    sample = inference_topdown(model, image, bboxes)[0]

    w, h = sample.metainfo['input_size']
    center = sample.metainfo['input_center']
    scale = sample.metainfo['input_scale']
    warp = get_warp_matrix(np.asarray(center, np.float32),
                           np.asarray(scale, np.float32), 0, (w, h))
    crop = cv2.warpAffine(image, warp, (int(w), int(h)),
                          flags=cv2.INTER_LINEAR)

    names = model.dataset_meta.get('keypoint_id2name', {})
    tiles = []
    for i, module in enumerate(modules):
        holistic = module.attention_maps['holistic'][0, 0].cpu().numpy()
        tiles.append(overlay(crop, holistic, f'holistic {i + 1}'))
    num_holistic = len(tiles)
    with_parts = [m for m in modules if m.attention_maps['parts'] is not None]
    if with_parts:
        parts = with_parts[-1].attention_maps['parts'][0].cpu().numpy()
        for k, part in enumerate(parts):
            tiles.append(overlay(crop, part, names.get(k, f'kpt {k}')))
    return tiles, num_holistic


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('image', type=Path)
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', type=Path, default=Path('attention.png'))
    parser.add_argument('--bbox', type=float, nargs=4, default=None,
                        metavar=('X1', 'Y1', 'X2', 'Y2'))
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--columns', type=int, default=6)
    parser.add_argument('--allow-partial', action='store_true',
                        help='load a checkpoint that does not fit the model')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> Path:
    """Draw and save the grid; returns its path.

    Raises:
        SystemExit: naming the image or checkpoint that cannot be read,
            or the checkpoint that does not fit the model.
    """
    args = parse_args(argv)
    image = cv2.imread(str(args.image))
    if image is None:
        raise SystemExit(f'cannot read an image from {args.image}')
    if not Path(args.checkpoint).is_file():
        raise SystemExit(f'checkpoint {args.checkpoint} does not exist')
    try:
        model = init_model(args.config, args.checkpoint, device=args.device,
                           allow_partial=args.allow_partial)
    except CheckpointMismatchError as err:
        raise SystemExit(f'error: {err}') from None
    tiles, num_holistic = attention_tiles(model, image, args.bbox)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), grid(tiles, args.columns))
    print(f'saved {args.out}: {num_holistic} holistic and '
          f'{len(tiles) - num_holistic} part attention maps')
    return args.out
