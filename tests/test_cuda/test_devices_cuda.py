"""The same weights on CUDA and on the CPU: the same heatmaps (relative
tolerance ``HEATMAP_RTOL``, TF32 off) and, with the config's flip test and
decoding, the same keypoints."""
import numpy as np
import pytest

from .cuda_tier import (
    CUDA_TIER,
    FAMILIES,
    HEATMAP_RTOL,
    build_model,
    copy_to,
    family_config,
    fixed_batch,
    heatmaps,
    no_tf32,
    optim_wrapper,
    predicted_keypoints,
    relative_difference,
    train_losses,
)

pytestmark = CUDA_TIER


@pytest.mark.parametrize('family', FAMILIES)
def test_same_heatmaps_on_cuda_and_cpu(family):
    cfg = family_config(family)
    batch = fixed_batch(cfg, batch_size=4)
    model = build_model(cfg, 'cpu')
    with no_tf32():
        on_cuda = heatmaps(copy_to(model, 'cuda'), batch)
    on_cpu = heatmaps(model, batch)
    assert on_cuda.shape == on_cpu.shape
    assert relative_difference(on_cuda, on_cpu) < HEATMAP_RTOL


@pytest.mark.parametrize('family', FAMILIES)
def test_same_flip_test_keypoints_on_cuda_and_cpu(family):
    """Trained a little first on CUDA, so that the heatmaps have peaks
    (random weights give flat maps whose argmax any rounding moves); then
    at least 95 % of the keypoints agree within 0.01 px, the rest being
    keypoints whose two best heatmap pixels are within rounding."""
    cfg = family_config(family)
    assert cfg.model.test_cfg.get('flip_test'), 'the config has no flip test'
    batch = fixed_batch(cfg)
    model = build_model(cfg, 'cuda')
    train_losses(model, batch, optim_wrapper(model, 'fp32', lr=2e-3), 30)
    with no_tf32():
        on_cuda = predicted_keypoints(model, batch)
    on_cpu = predicted_keypoints(copy_to(model, 'cpu'), batch)
    assert on_cuda.shape == on_cpu.shape == (8, 17, 2)
    same = np.abs(on_cuda - on_cpu).max(-1) < 0.01
    assert same.mean() >= 0.95, np.abs(on_cuda - on_cpu).max(-1)
