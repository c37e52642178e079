"""Target unpacking, accuracy and flip-test decoding shared by the multi-output
heatmap heads (:class:`CPNHead`, :class:`MultiStageHeatmapHead`).

MMPose's ``HeatmapHead`` does both inline for a single output and a
single target level; these heads predict several outputs and read ``L``
target levels packed by multi-level codecs, hence these helpers.
"""
from typing import Callable, Optional, Tuple

import torch
from mmengine.structures import PixelData
from mmpose.evaluation.functional import pose_pck_accuracy
from mmpose.models.utils.tta import flip_heatmaps
from mmpose.utils.tensor_utils import to_numpy
from mmpose.utils.typing import ConfigType, Features, OptSampleList
from torch import Tensor

__all__ = ['add_accuracy', 'level_targets', 'predict_final_heatmaps']


def add_accuracy(losses: dict, train_cfg: Optional[ConfigType],
                 heatmaps: Tensor, targets: Tensor, weights: Tensor) -> dict:
    """Add ``acc_pose`` (MMPose's PCK of the heatmaps' argmax) to
    ``losses``, unless ``train_cfg.compute_acc`` is ``False``.

    The accuracy copies the heatmaps to the host before backward starts
    (on a GPU the step waits for it); MMPose's ``HeatmapHead`` switches it
    off with the same key (``model.train_cfg.compute_acc=False``).

    Args:
        losses (dict): The head's losses, updated in place.
        train_cfg (dict, optional): The head's ``train_cfg``.
        heatmaps (Tensor): Predicted ``[B, K, H, W]``.
        targets (Tensor): Targets ``[B, K, H, W]``.
        weights (Tensor): Keypoint weights ``[B, K]``.

    Returns:
        dict: ``losses``.
    """
    if not (train_cfg or {}).get('compute_acc', True):
        return losses
    _, avg_acc, _ = pose_pck_accuracy(
        output=to_numpy(heatmaps), target=to_numpy(targets),
        mask=to_numpy(weights) > 0)
    losses['acc_pose'] = torch.tensor(avg_acc, device=targets.device)
    return losses


def level_targets(batch_data_samples: OptSampleList,
                  num_keypoints: int) -> Tuple[Tensor, Tensor]:
    """Targets ``[B, L, K, H, W]`` and keypoint weights ``[B, L, K]``.

    Args:
        batch_data_samples (list[:obj:`PoseDataSample`]): Samples packed by
            ``PackPoseInputs``: ``gt_fields.heatmaps`` ``[L * K, H, W]``
            (level-major) and ``gt_instance_labels.keypoint_weights``
            ``[1, L, K]``, or ``[1, K]`` from single-level codecs (used for
            every level).
        num_keypoints (int): ``K``, the head's output channels.

    Returns:
        tuple[Tensor, Tensor]: The targets and weights.
    """
    K = num_keypoints
    heatmaps = torch.stack([d.gt_fields.heatmaps for d in batch_data_samples])
    weights = torch.cat(
        [d.gt_instance_labels.keypoint_weights for d in batch_data_samples])
    B, C, H, W = heatmaps.shape
    if C % K:
        raise ValueError(
            f'target heatmaps have {C} channels, not a multiple of '
            f'out_channels={K}: does the codec encode {K} keypoints?')
    L = C // K
    heatmaps = heatmaps.view(B, L, K, H, W)
    if weights.dim() == 2:  # single-level codecs pack [N, K]
        weights = weights[:, None].expand(B, L, K)
    if weights.shape != (B, L, K):
        raise ValueError(
            f'keypoint weights of shape {tuple(weights.shape)} do not '
            f'match {L} target levels of {K} keypoints')
    return heatmaps, weights


def predict_final_heatmaps(final_heatmaps: Callable[[Features], Tensor],
                           decode: Callable[[Tensor], list],
                           feats: Features,
                           batch_data_samples: OptSampleList,
                           test_cfg: Optional[ConfigType],
                           heatmap_size: Optional[Tuple[int, int]] = None):
    """Decode keypoints from a head's final heatmaps, with flip test.

    Args:
        final_heatmaps (Callable): Features -> the heatmaps ``[B, K, H, W]``
            to decode.
        decode (Callable): The head's ``decode``.
        feats (Features): Features, or a pair of them (original and
            flipped) when ``test_cfg['flip_test']`` is on.
        batch_data_samples (list[:obj:`PoseDataSample`]): The batch data
            samples (``flip_indices`` in their metainfo).
        test_cfg (dict, optional): ``flip_test``, ``flip_mode``,
            ``shift_heatmap`` and ``output_heatmaps`` as in MMPose's
            ``HeatmapHead``; ``None`` for none of them.
        heatmap_size (tuple, optional): The decoder's ``(w, h)``: heatmaps
            of another size are refused (the decoder would scale the
            keypoints by the wrong ratio). Defaults to ``None``.

    Returns:
        list[InstanceData] | tuple: The predictions, and the heatmaps as
        ``PixelData`` when ``output_heatmaps`` is set.

    Raises:
        ValueError: if the heatmaps are not ``heatmap_size``.
    """
    test_cfg = test_cfg or {}
    if test_cfg.get('flip_test', False):
        _feats, _feats_flip = feats
        heatmaps_flip = flip_heatmaps(
            final_heatmaps(_feats_flip),
            flip_mode=test_cfg.get('flip_mode', 'heatmap'),
            flip_indices=batch_data_samples[0].metainfo['flip_indices'],
            shift_heatmap=test_cfg.get('shift_heatmap', False))
        heatmaps = (final_heatmaps(_feats) + heatmaps_flip) * 0.5
    else:
        heatmaps = final_heatmaps(feats)
    expected = heatmap_size
    if expected is not None and tuple(heatmaps.shape[-2:]) != (
            expected[1], expected[0]):
        raise ValueError(
            f'the head outputs {heatmaps.shape[-1]}x{heatmaps.shape[-2]} '
            f'(w x h) heatmaps but its decoder\'s heatmap_size is '
            f'{tuple(expected)}: the decoded keypoints would be scaled by '
            f'the wrong ratio. Set the decoder\'s heatmap_size to '
            f'({heatmaps.shape[-1]}, {heatmaps.shape[-2]}).')
    preds = decode(heatmaps)
    if test_cfg.get('output_heatmaps', False):
        return preds, [PixelData(heatmaps=hm) for hm in heatmaps.detach()]
    return preds
