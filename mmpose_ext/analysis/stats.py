"""Small statistics for the benchmark commands."""
import math
from typing import Optional, Sequence, Tuple

__all__ = ['median_interval']


def median_interval(values: Sequence[float],
                    confidence: float = 0.95
                    ) -> Optional[Tuple[float, float]]:
    """Distribution-free confidence interval of the median of ``values``.

    The benchmark commands time two models in alternating windows and report
    the median of the per-window throughput ratios; the noise of a shared
    CPU is neither normal nor symmetric, so the interval is the sign-test
    one: the order statistics ``(x_(k), x_(n+1-k))`` with the largest ``k``
    for which ``P(k <= Bin(n, 1/2) <= n - k) >= confidence`` (the number
    of values below the median is ``Bin(n, 1/2)`` for any continuous
    distribution). Neither NumPy nor SciPy (not a dependency) offers it.

    Args:
        values (Sequence[float]): The sample, in any order.
        confidence (float): Coverage, in ``(0, 1)``. Defaults to ``0.95``.

    Returns:
        tuple[float, float] | None: ``(low, high)``, or ``None`` when the
        sample is too small for the confidence (fewer than 6 values at
        95 %).
    """
    if not 0 < confidence < 1:
        raise ValueError(f'confidence must be in (0, 1), got {confidence!r}')
    x = sorted(values)
    n = len(x)
    interval = None
    below = 0  # P(Bin(n, 1/2) < k) * 2**n
    for k in range(1, n // 2 + 1):
        below += math.comb(n, k - 1)
        if 1 - 2 * below / 2**n < confidence:
            break
        interval = (x[k - 1], x[n - k])
    return interval
