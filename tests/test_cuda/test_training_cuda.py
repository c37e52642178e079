"""A few training steps per family on CUDA in float32, float16 (MMEngine's
``AmpOptimWrapper``, dynamic loss scaling) and bfloat16: every loss finite
and the loss lower after them, on one fixed batch."""
import math

import pytest

from .cuda_tier import (
    CUDA_TIER,
    FAMILIES,
    PRECISIONS,
    assert_learns,
    build_model,
    family_config,
    fixed_batch,
    optim_wrapper,
    train_losses,
)

pytestmark = CUDA_TIER
#: enough for float16's dynamic loss scale to come down from 2**16 on
#: CPN's / MSPN's 255-peak targets (each overflow skips a step)
STEPS = 30


@pytest.mark.parametrize('precision', PRECISIONS)
@pytest.mark.parametrize('family', FAMILIES)
def test_few_steps_lower_the_loss(family, precision):
    cfg = family_config(family)
    model = build_model(cfg, 'cuda')
    wrapper = optim_wrapper(model, precision)
    losses = train_losses(model, fixed_batch(cfg), wrapper, STEPS)
    assert_learns(losses, f'{family} {precision}')
    if precision == 'fp16':
        scale = float(wrapper.loss_scaler.get_scale())
        assert math.isfinite(scale) and scale >= 1, scale
    for name, param in model.named_parameters():
        assert param.is_cuda and bool(param.isfinite().all()), name
