"""Multi-level Gaussian heatmap codec for multi-stage top-down models."""
import numbers
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
from mmpose.codecs.base import BaseKeypointCodec
from mmpose.codecs.utils import (
    gaussian_blur,
    get_heatmap_maximum,
    refine_keypoints,
    refine_keypoints_dark,
)
from mmpose.registry import KEYPOINT_CODECS

from ..utils import check_int, check_int_sequence, is_int

_REFINE_MODES = ('shift', 'dark', 'none')


def _is_positive_odd_int(value) -> bool:
    """Whether ``value`` is a positive odd integer."""
    return is_int(value) and value > 0 and value % 2 == 1


def _check_size(name: str, size) -> Tuple[int, int]:
    """Validate a ``(w, h)`` size and return it as a tuple of ints."""
    return check_int_sequence(name, size, length=2, unit=' (w, h)')


def _reflect101(index: np.ndarray, length: int) -> np.ndarray:
    """Map (possibly out-of-range) indices into ``[0, length)`` the way
    OpenCV's default border mode ``BORDER_REFLECT_101`` (``gfedcb|abcdefgh|
    gfedcba``) does, reflecting as many times as needed."""
    if length == 1:
        return np.zeros_like(index)
    period = 2 * (length - 1)
    index = np.mod(index, period)
    return np.where(index >= length, period - index, index)


def _delta_blur_table(kernel_size: int, length: int) -> np.ndarray:
    """1-D responses of OpenCV's Gaussian blur to a unit delta.

    Row ``p`` of the returned ``(length, length)`` array is the output of
    filtering a length-``length`` signal that is 1 at ``p`` and 0 elsewhere
    with ``cv2.getGaussianKernel(kernel_size, 0)`` under
    ``BORDER_REFLECT_101``: the kernel centred at ``p`` plus the parts of it
    that the border reflects back into the signal.
    """
    kernel = cv2.getGaussianKernel(kernel_size, 0, cv2.CV_64F).ravel()
    radius = kernel_size // 2
    out_pos = np.arange(length)[:, None]  # output position x
    taps = np.arange(kernel_size)[None, :]  # kernel tap t
    # output x reads source sample reflect(x + t - radius) with weight g[t]
    src_pos = _reflect101(out_pos + taps - radius, length)
    table = np.zeros((length, length), dtype=np.float64)
    np.add.at(table, (src_pos, np.broadcast_to(out_pos, src_pos.shape)),
              np.broadcast_to(kernel, src_pos.shape))
    return table


@KEYPOINT_CODECS.register_module()
class MultiLevelHeatmap(BaseKeypointCodec):
    """Encode keypoints as L levels of Gaussian heatmaps in a single pass.

    Multi-stage top-down models supervise every stage/unit with a target of
    its own resolution-dependent spread: `CPN`_ and `MSPN`_ use Gaussian
    blur kernels of decreasing size (e.g. 15, 11, 9, 7, 5), while HRNet-style
    models (`HRNet`_) parameterise the Gaussian by ``sigma``. This codec
    produces all L levels at once, fully vectorised over levels and
    keypoints.

    MMPose's own codecs are not enough for this: one ``MegviiHeatmap`` or
    ``MSRAHeatmap`` per level means L separate encoding passes (each
    looping over keypoints, ``MegviiHeatmap`` calling ``cv2.GaussianBlur``
    per keypoint), and ``GenerateTarget(multilevel=True)`` silently drops
    the dataset keypoint weights because its loop
    ``for w in encoded['keypoint_weights']: w = w * ...`` only rebinds a
    local variable. Here the weights are one ``[N, L, K]`` array, so the
    single-encoder path of ``GenerateTarget(use_dataset_keypoint_weights=
    True)`` multiplies every level by the ``[K]`` dataset weights through
    broadcasting.

    Two target conventions are supported; exactly one of ``sigmas`` and
    ``kernel_sizes`` must be given.

    - Kernel mode (``kernel_sizes``, CPN/MSPN, as MMPose's
      ``MegviiHeatmap``): level ``l`` is ``cv2.GaussianBlur(delta, (k, k),
      0)`` of a unit delta at the keypoint's pixel ``floor(x / s)`` (the
      integer cast of ``MegviiHeatmap``, which truncates towards zero and so
      differs only for ``-1 < x / s < 0``, outside the map), with OpenCV's
      default border ``BORDER_REFLECT_101``, scaled so that the value at the
      keypoint's pixel equals ``peak``. ``MegviiHeatmap`` (and the original
      CPN code) uses 255 there; ``peak=255`` reproduces its targets to float
      precision, ``peak=1`` gives unit-peak targets. It is computed in
      closed form, without calling OpenCV per keypoint: the blur of a delta
      is the outer product of two 1-D responses, each OpenCV's 1-D Gaussian
      kernel (``cv2.getGaussianKernel(k, 0)``) centred at the keypoint plus
      the tails the border reflects back. These responses are tabulated
      for every pixel position in ``__init__``, so encoding is a table
      lookup and one broadcast multiply. Near the border, the reflected
      tails can make a pixel next to the keypoint slightly larger than
      ``peak``, exactly as with OpenCV.
    - Sigma mode (``sigmas``, HRNet/MSRA): level ``l`` is
      ``peak * exp(-((x - mx)**2 + (y - my)**2) / (2 * sigma_l**2))`` on the
      whole map (not truncated at 3 sigma as ``MSRAHeatmap`` does), centred
      at the rounded location ``floor(x / s + 0.5)`` as ``MSRAHeatmap``
      with ``unbiased=False``, or at the sub-pixel location ``x / s`` when
      ``unbiased=True``.

    Coordinate convention: ``x / s``, with ``s = input_size / heatmap_size``
    (``scale_factor``), is the heatmap coordinate of an input-image
    coordinate ``x``, as in MMPose. In kernel mode heatmap pixel ``i``
    stands for the interval ``[i, i + 1)`` (integer cast), so its centre is
    ``i + 0.5``; in sigma mode it stands for ``[i - 0.5, i + 0.5)``
    (rounding), centre ``i``. :meth:`decode` adds that centre offset
    (0.5 in kernel mode, as ``MegviiHeatmap.decode`` does, 0 in sigma mode)
    before multiplying by ``s``, so that an encode/decode round trip is
    unbiased.

    Keypoint weights: the weight of keypoint ``k`` of instance ``n`` is its
    visibility ``keypoints_visible[n, k]``, set to 0 when the visibility is
    below 0.5 (MMPose's codecs draw no heatmap then either), when the
    location is not finite, or when its heatmap location ``(x / s, y / s)``
    is not in ``[border, W - border) x [border, H - border)``. With
    ``border=0`` this means the keypoint lies outside the input image (the
    heatmap's extent ``[0, W) x [0, H)``); ``border=b`` also drops keypoints
    within ``b`` heatmap pixels (``b * s`` input pixels) of the edge. The
    weight is the same for every level and is then multiplied by
    ``dataset_keypoint_weights`` when given. Keypoints with a zero weight get
    all-zero heatmaps. In sigma mode a kept keypoint in the last half pixel
    (``x / s >= W - 0.5``) rounds to ``W``, just off the map, and gets the
    in-map part of its Gaussian, as in ``MSRAHeatmap`` (which also keeps
    keypoints outside the map as long as their 3-sigma window overlaps it).

    Instances: like MMPose's ``generate_gaussian_heatmaps`` (used by
    ``MSRAHeatmap``), the heatmaps of N > 1 instances are merged by a
    per-pixel maximum over instances, while ``keypoint_weights`` keep one
    row per instance. Note that ``MSRAHeatmap.encode`` and
    ``MegviiHeatmap.encode`` themselves reject N > 1 with an assertion;
    top-down pipelines always pass N = 1.

    Layouts: by default (``multilevel=False``) the L levels are stacked
    into one array, the layout of this package's multi-level heads
    (``CPNHead``, ``MultiStageHeatmapHead``). With ``multilevel=True`` the
    targets are packed exactly as MMPose's ``GenerateTarget(multilevel=
    True)`` packs one single-level encoder per level: heatmaps as a list
    of L ``(K, H, W)`` arrays (``PackPoseInputs`` turns it into a
    ``MultilevelPixelData``) and keypoint weights as one ``(L, N, K)``
    array, the layout MMPose's ``MSPNHead`` (RSN and MSPN configs) indexes.
    Both layouts hold the same values; as one array, the weights of the
    multilevel layout are still multiplied by the dataset keypoint weights
    in ``GenerateTarget(use_dataset_keypoint_weights=True)``.

    Note:

        - instance number: N
        - keypoint number: K
        - level number: L
        - keypoint dimension: D
        - image size: [w, h]
        - heatmap size: [W, H]

    Encoded:

        - heatmaps (np.ndarray): The float32 heatmaps in shape (L * K, H, W),
            level-major: level ``l`` occupies channels ``l * K:(l + 1) * K``
            (3-D because ``PixelData`` only accepts 2-D/3-D arrays); with
            ``multilevel=True`` a list of L arrays (K, H, W)
        - keypoint_weights (np.ndarray): The float32 target weights in shape
            (N, L, K); (N, K) when a single level is encoded, as MMPose's
            single-level codecs pack them, so that stock heads such as
            ``HeatmapHead`` train on this codec unchanged; (L, N, K) with
            ``multilevel=True``

    Args:
        input_size (tuple): Image size in [w, h].
        heatmap_size (tuple): Heatmap size in [W, H].
        sigmas (Sequence[float], optional): Per-level Gaussian sigmas in
            heatmap pixels (sigma mode). Defaults to ``None``.
        kernel_sizes (Sequence[int], optional): Per-level odd, positive
            ``cv2.GaussianBlur`` kernel sizes (kernel mode). Defaults to
            ``None``.
        peak (float): Target value at the keypoint's pixel. Defaults to
            ``1.0``.
        border (int): Keypoints less than ``border`` heatmap pixels from
            the heatmap edge (``x / s < border`` or ``x / s >= W - border``,
            same for y) get zero weight (see above). Defaults to ``0``.
        blur_kernel_size (int): Odd kernel size of the Gaussian blur applied
            to the heatmaps before decoding (CPN/MSPN test-time), ``0`` for
            no blur. Defaults to ``0``.
        refine (str): Sub-pixel refinement at decoding: ``'shift'`` (move
            a quarter pixel towards the higher neighbour, as HRNet),
            ``'dark'`` (`DARK`_) or ``'none'``. Defaults to ``'shift'``.
        unbiased (bool): In sigma mode, centre the Gaussian at the sub-pixel
            location instead of the rounded one. Only valid with
            ``sigmas``. Defaults to ``False``.
        dark_blur_kernel_size (int, optional): Odd kernel size of the
            modulation blur of DARK refinement. ``None`` derives it from the
            last level: its kernel size in kernel mode, or the kernel whose
            OpenCV sigma ``0.3 * ((ks - 1) * 0.5 - 1) + 0.8`` is closest to
            its sigma in sigma mode (11 for sigma 2). Defaults to ``None``.
        multilevel (bool): Pack the targets in MMPose's multi-level layout
            for MMPose's ``MSPNHead`` (see above) instead of stacking them.
            Defaults to ``False``.

    .. _`CPN`: https://arxiv.org/abs/1711.07319
    .. _`MSPN`: https://arxiv.org/abs/1901.00148
    .. _`HRNet`: https://arxiv.org/abs/1902.09212
    .. _`DARK`: https://arxiv.org/abs/1910.06278
    """

    label_mapping_table = dict(keypoint_weights='keypoint_weights', )
    field_mapping_table = dict(heatmaps='heatmaps', )

    def __init__(self,
                 input_size: Tuple[int, int],
                 heatmap_size: Tuple[int, int],
                 sigmas: Optional[Sequence[float]] = None,
                 kernel_sizes: Optional[Sequence[int]] = None,
                 peak: float = 1.0,
                 border: int = 0,
                 blur_kernel_size: int = 0,
                 refine: str = 'shift',
                 unbiased: bool = False,
                 dark_blur_kernel_size: Optional[int] = None,
                 multilevel: bool = False) -> None:
        super().__init__()
        self.input_size = _check_size('input_size', input_size)
        self.heatmap_size = _check_size('heatmap_size', heatmap_size)
        W, H = self.heatmap_size

        if (sigmas is None) == (kernel_sizes is None):
            raise ValueError(
                'exactly one of `sigmas` and `kernel_sizes` must be given, '
                f'got sigmas={sigmas!r} and kernel_sizes={kernel_sizes!r}')
        if kernel_sizes is not None:
            self.mode = 'kernel'
            self.kernel_sizes = check_int_sequence('kernel_sizes',
                                                   kernel_sizes, odd=True)
            self.sigmas = None
        else:
            self.mode = 'sigma'
            if not isinstance(sigmas, (list, tuple, np.ndarray)) or len(
                    sigmas) == 0:
                raise ValueError('sigmas must be a non-empty sequence of '
                                 f'positive numbers, got {sigmas!r}')
            for s in sigmas:
                if (isinstance(s, bool) or not isinstance(s, numbers.Real)
                        or not np.isfinite(s) or s <= 0):
                    raise ValueError(
                        'sigmas must contain positive finite numbers, got '
                        f'{s!r} in {sigmas!r}')
            self.sigmas = tuple(float(s) for s in sigmas)
            self.kernel_sizes = None

        if (isinstance(peak, bool) or not isinstance(peak, numbers.Real)
                or not np.isfinite(peak) or peak <= 0):
            raise ValueError(
                f'peak must be a positive finite number, got {peak!r}')
        check_int('border', border, minimum=0)
        if 2 * border >= min(W, H):
            raise ValueError(
                f'border={border!r} leaves no valid pixel on a heatmap of '
                f'size {self.heatmap_size} (need 2 * border < min(W, H))')
        if not is_int(blur_kernel_size) or not (
                blur_kernel_size == 0
                or _is_positive_odd_int(blur_kernel_size)):
            raise ValueError('blur_kernel_size must be 0 (no blur) or an odd '
                             f'positive int, got {blur_kernel_size!r}')
        if refine not in _REFINE_MODES:
            raise ValueError(f'refine must be one of {_REFINE_MODES}, got '
                             f'{refine!r}')
        if not isinstance(unbiased, bool):
            raise ValueError(f'unbiased must be a bool, got {unbiased!r}')
        if unbiased and self.mode != 'sigma':
            raise ValueError('unbiased=True needs `sigmas` (a blurred delta '
                             'in kernel mode is always pixel-centred), got '
                             f'kernel_sizes={kernel_sizes!r}')
        if not isinstance(multilevel, bool):
            raise ValueError(
                f'multilevel must be a bool, got {multilevel!r}')
        if dark_blur_kernel_size is None:
            if self.mode == 'kernel':
                dark_blur_kernel_size = self.kernel_sizes[-1]
            else:
                # invert OpenCV's sigma = 0.3 * ((ks - 1) * 0.5 - 1) + 0.8
                half = round((self.sigmas[-1] - 0.8) / 0.3 + 1)
                dark_blur_kernel_size = 2 * max(int(half), 1) + 1
        elif not _is_positive_odd_int(dark_blur_kernel_size):
            raise ValueError('dark_blur_kernel_size must be None or an odd '
                             f'positive int, got {dark_blur_kernel_size!r}')

        self.peak = float(peak)
        self.border = int(border)
        self.blur_kernel_size = int(blur_kernel_size)
        self.refine = refine
        self.unbiased = unbiased
        self.dark_blur_kernel_size = int(dark_blur_kernel_size)
        self.multilevel = multilevel
        self.num_levels = len(self.kernel_sizes or self.sigmas)
        self.scale_factor = (np.array(self.input_size) /
                             self.heatmap_size).astype(np.float32)

        # integer centre = floor(x / s + offset); decoded = (i + offset') * s
        if self.mode == 'kernel':
            self._round_offset, self._center_offset = 0.0, 0.5
        else:
            self._round_offset, self._center_offset = 0.5, 0.0
        self._limit = np.array([W - border, H - border], dtype=np.float32)
        self._xs = np.arange(W, dtype=np.float32)
        self._ys = np.arange(H, dtype=np.float32)

        # Per-level 1-D profile tables [L, rows, n]: row p is the profile of
        # a keypoint whose integer centre is p, equal to 1 at p (the y table
        # carries ``peak``). In sigma mode the centre of a keypoint in the
        # last half pixel rounds to n, just off the map, hence one more row.
        # The extra last row is all zeros and is looked up by zero-weight
        # keypoints.
        if self.mode == 'kernel':
            rows_x = [_delta_blur_table(k, W) for k in self.kernel_sizes]
            rows_y = [_delta_blur_table(k, H) for k in self.kernel_sizes]
            rows_x = [t / np.diag(t)[:, None] for t in rows_x]
            rows_y = [t / np.diag(t)[:, None] for t in rows_y]
        else:
            self._inv_two_var = np.array(
                [0.5 / s**2 for s in self.sigmas],
                dtype=np.float32)[:, None, None, None]
            dx2 = np.square(np.arange(W)[None] - np.arange(W + 1)[:, None])
            dy2 = np.square(np.arange(H)[None] - np.arange(H + 1)[:, None])
            rows_x = [np.exp(-dx2 / (2 * s**2)) for s in self.sigmas]
            rows_y = [np.exp(-dy2 / (2 * s**2)) for s in self.sigmas]
        self._table_x = self._stack_tables(rows_x)
        self._table_y = self._stack_tables(rows_y, self.peak)

    @staticmethod
    def _stack_tables(tables: Sequence[np.ndarray],
                      scale: float = 1.0) -> np.ndarray:
        """Stack per-level profile tables ``[rows, n]`` into a float32
        ``[L, rows + 1, n]`` array scaled by ``scale``, with an all-zero
        last row."""
        rows, length = tables[0].shape
        stacked = np.zeros((len(tables), rows + 1, length), dtype=np.float32)
        stacked[:, :rows] = np.stack(tables) * scale
        return stacked

    def encode(self,
               keypoints: np.ndarray,
               keypoints_visible: Optional[np.ndarray] = None,
               dataset_keypoint_weights: Optional[np.ndarray] = None) -> dict:
        """Encode keypoints into L levels of heatmaps.

        The keypoint coordinates are in the input image space.

        Args:
            keypoints (np.ndarray): Keypoint coordinates in shape (N, K, D)
                (only the first two coordinates are used).
            keypoints_visible (np.ndarray, optional): Keypoint visibilities
                in shape (N, K) (or (N, K, C), of which channel 0 is used).
                ``None`` means all visible. Defaults to ``None``.
            dataset_keypoint_weights (np.ndarray, optional): Per-keypoint
                weights in shape (K,) multiplied into the weights of every
                level. Leave it ``None`` when ``GenerateTarget`` already
                applies them (``use_dataset_keypoint_weights=True``).
                Defaults to ``None``.

        Returns:
            dict:
            - heatmaps (np.ndarray | list[np.ndarray]): The heatmaps in
                shape (L * K, H, W), level-major, or L arrays (K, H, W)
                with ``multilevel=True``
            - keypoint_weights (np.ndarray): The target weights in shape
                (N, L, K), (N, K) when L == 1, or (L, N, K) with
                ``multilevel=True``
        """
        keypoints = np.asarray(keypoints)
        if keypoints.ndim != 3 or keypoints.shape[-1] < 2:
            raise ValueError('keypoints must have shape (N, K, D) with '
                             f'D >= 2, got shape {keypoints.shape}')
        N, K = keypoints.shape[:2]
        W, H = self.heatmap_size
        L = self.num_levels

        if keypoints_visible is None:
            visible = np.ones((N, K), dtype=np.float32)
        else:
            visible = np.asarray(keypoints_visible, dtype=np.float32)
            if visible.ndim == 3:
                visible = visible[..., 0]
            if visible.shape != (N, K):
                raise ValueError(
                    f'keypoints_visible must have shape (N, K) = {(N, K)}, '
                    f'got shape {np.shape(keypoints_visible)}')

        mu = keypoints[..., :2] / self.scale_factor
        finite = np.isfinite(mu).all(axis=-1)
        if not finite.all():
            mu = np.where(finite[..., None], mu, -1.0)
        inside = finite & ((mu >= self.border) &
                           (mu < self._limit)).all(axis=-1)
        # far-away keypoints are dropped anyway; clipping keeps the integer
        # cast and the Gaussian profiles free of overflow
        mu = np.clip(mu, -1, max(W, H))
        center = np.floor(mu + self._round_offset).astype(np.int64)
        weights = np.where(inside & (visible >= 0.5), visible,
                           np.float32(0))
        if dataset_keypoint_weights is not None:
            dataset_keypoint_weights = np.asarray(
                dataset_keypoint_weights, dtype=np.float32)
            if dataset_keypoint_weights.shape != (K, ):
                raise ValueError(
                    f'dataset_keypoint_weights must have shape (K,) = '
                    f'{(K, )}, got shape {dataset_keypoint_weights.shape}')
            weights = weights * dataset_keypoint_weights
        weights = weights.astype(np.float32, copy=False)
        active = weights > 0

        if self.unbiased:
            # [L, N, K, W] and [L, N, K, H] sub-pixel Gaussian profiles
            mu = mu.astype(np.float32)
            prof_x = np.exp(-np.square(self._xs - mu[..., 0, None]) *
                            self._inv_two_var)
            prof_y = np.exp(-np.square(self._ys - mu[..., 1, None]) *
                            self._inv_two_var)
            prof_y *= (active * np.float32(self.peak))[..., None]
        else:
            # look up the profiles (np.take keeps them C-contiguous);
            # inactive keypoints read the all-zero last row
            prof_x = np.take(
                self._table_x, np.where(active, center[..., 0], -1), axis=1)
            prof_y = np.take(
                self._table_y, np.where(active, center[..., 1], -1), axis=1)

        # [L, N, K, H, W] outer products in one broadcast multiply (einsum
        # is about twice as fast as ``*`` for this stride-0 pattern)
        heatmaps = np.einsum('lnkh,lnkw->lnkhw', prof_y, prof_x)
        if N == 0:
            heatmaps = np.zeros((L, K, H, W), dtype=np.float32)
        elif N > 1:
            heatmaps = heatmaps.max(axis=1)

        if self.multilevel:
            # MMPose's GenerateTarget(multilevel=True) layout (class doc)
            return dict(
                heatmaps=list(heatmaps.reshape(L, K, H, W)),
                keypoint_weights=np.repeat(weights[None], L, axis=0))
        keypoint_weights = weights if L == 1 else np.repeat(
            weights[:, None, :], L, axis=1)
        return dict(
            heatmaps=heatmaps.reshape(L * K, H, W),
            keypoint_weights=keypoint_weights)

    def decode(self, encoded: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Decode one level of heatmaps into keypoints.

        The head passes a single level (usually the finest). The heatmaps are
        optionally blurred (``blur_kernel_size``), the maximum of each is
        located (``get_heatmap_maximum``) and refined (``refine``); the
        pixel centre offset of the encoding convention (0.5 in kernel mode,
        0 in sigma mode) is added and the result is scaled by
        ``scale_factor`` into input-image pixel coordinates, the frame
        :meth:`encode` takes its keypoints in.

        Args:
            encoded (np.ndarray): Heatmaps in shape (K, H, W).

        Returns:
            tuple:
            - keypoints (np.ndarray): Decoded keypoint coordinates in shape
                (1, K, 2), in the input image space
            - scores (np.ndarray): The maximum heatmap values divided by
                ``peak`` in shape (1, K); keypoints whose heatmap has no
                positive value get a score <= 0
        """
        heatmaps = np.array(encoded, dtype=np.float32, copy=True)
        if heatmaps.ndim != 3 or heatmaps.shape[1:] != self.heatmap_size[::-1]:
            W, H = self.heatmap_size
            raise ValueError(
                f'encoded must have shape (K, H, W) = (K, {H}, {W}), got '
                f'shape {np.shape(encoded)}')
        K = heatmaps.shape[0]

        if self.blur_kernel_size > 0:
            # mmpose's gaussian_blur rescales by the channel maximum; only
            # blur channels with a positive maximum to avoid 0 / 0.
            positive = heatmaps.reshape(K, -1).max(axis=1) > 0
            if positive.any():
                heatmaps[positive] = gaussian_blur(heatmaps[positive],
                                                   self.blur_kernel_size)

        keypoints, scores = get_heatmap_maximum(heatmaps)
        keypoints, scores = keypoints[None], scores[None]

        if self.refine == 'shift':
            keypoints = refine_keypoints(keypoints, heatmaps)
        elif self.refine == 'dark':
            # all-zero channels give 0 / 0 inside the modulation blur; their
            # maxima are at -1 and are not refined
            with np.errstate(divide='ignore', invalid='ignore'):
                keypoints = refine_keypoints_dark(
                    keypoints, heatmaps, self.dark_blur_kernel_size)

        keypoints = (keypoints + self._center_offset) * self.scale_factor
        scores = scores / self.peak
        return keypoints.astype(np.float32), scores.astype(np.float32)
