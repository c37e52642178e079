"""Small statistics for the benchmark and claims commands."""
import math
from typing import NamedTuple, Optional, Sequence, Tuple

__all__ = [
    'PairedDifference', 'incomplete_beta', 'median_interval',
    'paired_difference', 't_cdf', 't_quantile'
]


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


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified
    Lentz's method)."""
    tiny, eps = 1e-300, 1e-15
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        for num in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                    -(a + m) * (a + b + m) * x / ((a + 2 * m) *
                                                  (a + 2 * m + 1))):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h


def incomplete_beta(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function ``I_x(a, b)``.

    Args:
        a (float): First shape, ``> 0``.
        b (float): Second shape, ``> 0``.
        x (float): Point in ``[0, 1]``.

    Returns:
        float: ``I_x(a, b)``.
    """
    if not 0.0 <= x <= 1.0:
        raise ValueError(f'x must be in [0, 1], got {x!r}')
    if x in (0.0, 1.0):
        return x
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) +
                 a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """CDF of Student's t distribution with ``df`` degrees of freedom.

    Args:
        t (float): The point.
        df (float): Degrees of freedom, ``> 0``.

    Returns:
        float: ``P(T <= t)``.
    """
    if not df > 0:
        raise ValueError(f'df must be positive, got {df!r}')
    tail = 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """Quantile of Student's t distribution (the inverse of
    :func:`t_cdf`), by bisection.

    Args:
        p (float): Probability in ``(0, 1)``.
        df (float): Degrees of freedom, ``> 0``.

    Returns:
        float: ``t`` with ``t_cdf(t, df) == p``.
    """
    if not 0 < p < 1:
        raise ValueError(f'p must be in (0, 1), got {p!r}')
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        low, high = high, 2.0 * high
    for _ in range(200):
        mid = 0.5 * (low + high)
        if t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
        if high - low <= 1e-12 * max(1.0, high):
            break
    return 0.5 * (low + high)


class PairedDifference(NamedTuple):
    """Mean paired difference with its Student-t interval.

    Attributes:
        n: Number of pairs.
        mean: Mean of the differences ``a_i - b_i``.
        sd: Their sample standard deviation (``ddof=1``).
        low: Lower end of the two-sided interval.
        high: Upper end.
        p_value: Two-sided p-value of the paired t-test of a zero mean.
        confidence: Coverage of the interval.
    """

    n: int
    mean: float
    sd: float
    low: float
    high: float
    p_value: float
    confidence: float


def paired_difference(a: Sequence[float], b: Sequence[float],
                      confidence: float = 0.95) -> PairedDifference:
    """Paired t-test and interval of the mean difference ``a - b``.

    The two arms of a claims row are trained with the same seeds (same
    data order and augmentation draws), so ``a[i]`` and ``b[i]`` are a
    pair; the interval is ``mean +- t_{(1+c)/2, n-1} * sd / sqrt(n)``
    (``scipy.stats.ttest_rel(a, b).confidence_interval(c)``, implemented
    here so that the result does not depend on a SciPy version).

    Args:
        a (Sequence[float]): First arm, one value per pair.
        b (Sequence[float]): Second arm, same length and order.
        confidence (float): Coverage, in ``(0, 1)``. Defaults to ``0.95``.

    Returns:
        PairedDifference: ``n``, ``mean``, ``sd``, ``low``, ``high``,
        ``p_value`` and ``confidence``.
    """
    if len(a) != len(b):
        raise ValueError(f'paired samples differ in length: {len(a)} and '
                         f'{len(b)}')
    n = len(a)
    if n < 2:
        raise ValueError(f'a paired interval needs at least 2 pairs, got {n}')
    if not 0 < confidence < 1:
        raise ValueError(f'confidence must be in (0, 1), got {confidence!r}')
    diffs = [float(x) - float(y) for x, y in zip(a, b)]
    if not all(math.isfinite(d) for d in diffs):
        raise ValueError(f'paired samples must be finite, got {a!r} and '
                         f'{b!r}')
    mean = sum(diffs) / n
    sd = math.sqrt(sum((d - mean)**2 for d in diffs) / (n - 1))
    se = sd / math.sqrt(n)
    half = t_quantile((1 + confidence) / 2, n - 1) * se
    if se > 0:
        p_value = 2.0 * t_cdf(-abs(mean) / se, n - 1)
    else:
        p_value = 1.0 if mean == 0 else 0.0
    return PairedDifference(n, mean, sd, mean - half, mean + half, p_value,
                            confidence)
