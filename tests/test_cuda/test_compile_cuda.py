"""``compile=True`` with channels-last weights on CUDA (the fast path of
``FastPathHook``): the training losses of the compiled model equal the
eager model's from the same weights (relative tolerance
``COMPILE_RTOL``, TF32 off)."""
import pytest
from mmengine.optim import OptimWrapper
from torch.optim import Adam

from mmpose_ext.engine.fast_path import apply_fast_path, compile_options

from .cuda_tier import (
    COMPILE_RTOL,
    CUDA_TIER,
    FAMILIES,
    build_model,
    copy_to,
    family_config,
    fixed_batch,
    no_tf32,
    train_losses,
)

pytestmark = CUDA_TIER


@pytest.mark.parametrize('family', FAMILIES)
def test_compiled_channels_last_losses_equal_eager(family):
    cfg = family_config(family)
    batch = fixed_batch(cfg)
    eager = build_model(cfg, 'cuda')
    fast = apply_fast_path(copy_to(eager, 'cuda'), channels_last=True,
                           compile_cfg=compile_options(True))
    with no_tf32():
        expected = train_losses(eager, batch,
                                OptimWrapper(Adam(eager.parameters(),
                                                  lr=1e-3)), 3)
        got = train_losses(fast, batch,
                           OptimWrapper(Adam(fast.parameters(), lr=1e-3)),
                           3)
    assert got == pytest.approx(expected, rel=COMPILE_RTOL), (got, expected)
