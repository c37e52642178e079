"""Small statistics for the benchmark and claims commands.

The t-based tests are SciPy's (``scipy.stats``, a runtime dependency):
:func:`paired_difference` (``ttest_rel`` and its interval),
:func:`equivalence_test` (two one-sided tests, TOST),
:func:`noninferiority_test` (a one-sided ``ttest_1samp``); :func:`holm`
is Holm's step-down adjustment of a family of p-values.
"""
import math
from typing import List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
from scipy import stats as scipy_stats

__all__ = [
    'OneSidedTest', 'PairedDifference', 'equivalence_test', 'holm',
    'median_interval', 'noninferiority_test', 'paired_difference'
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
    distribution). Neither NumPy nor SciPy offers it.

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


def _differences(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    """``a - b`` of two paired samples, checked."""
    if len(a) != len(b):
        raise ValueError(f'paired samples differ in length: {len(a)} and '
                         f'{len(b)}')
    if len(a) < 2:
        raise ValueError(f'a paired test needs at least 2 pairs, got '
                         f'{len(a)}')
    diffs = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if not np.isfinite(diffs).all():
        raise ValueError(f'paired samples must be finite, got {list(a)!r} '
                         f'and {list(b)!r}')
    return diffs


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f'confidence must be in (0, 1), got {confidence!r}')


def paired_difference(a: Sequence[float], b: Sequence[float],
                      confidence: float = 0.95) -> PairedDifference:
    """Paired t-test and interval of the mean difference ``a - b``.

    The arms of a claims row are trained with the same seeds (same data
    order and augmentation draws), so ``a[i]`` and ``b[i]`` are a pair:
    ``scipy.stats.ttest_rel(a, b)``, its two-sided p-value and its
    ``confidence_interval(confidence)``, i.e. ``mean +- t_{(1+c)/2, n-1}
    * sd / sqrt(n)``. With zero spread the interval is the mean itself
    and the p-value 0 (1 if the mean is 0 too).

    Args:
        a (Sequence[float]): First arm, one value per pair.
        b (Sequence[float]): Second arm, same length and order.
        confidence (float): Coverage, in ``(0, 1)``. Defaults to ``0.95``.

    Returns:
        PairedDifference: ``n``, ``mean``, ``sd``, ``low``, ``high``,
        ``p_value`` and ``confidence``.
    """
    _check_confidence(confidence)
    diffs = _differences(a, b)
    n = len(diffs)
    mean, sd = float(diffs.mean()), float(diffs.std(ddof=1))
    if sd == 0:
        return PairedDifference(n, mean, 0.0, mean, mean,
                                1.0 if mean == 0 else 0.0, confidence)
    result = scipy_stats.ttest_rel(a, b)
    ci = result.confidence_interval(confidence)
    return PairedDifference(n, mean, sd, float(ci.low), float(ci.high),
                            float(result.pvalue), confidence)


class OneSidedTest(NamedTuple):
    """Result of a one-sided (or two one-sided) paired t-test.

    Attributes:
        n: Number of pairs.
        margin: The margin tested against, ``>= 0``.
        p_value: The test's p-value (for TOST the larger of its two).
        passed: Whether ``p_value < alpha``.
        alpha: Level of the test.
    """

    n: int
    margin: float
    p_value: float
    passed: bool
    alpha: float


def _one_sided_p(diffs: np.ndarray, popmean: float, alternative: str) -> float:
    """p-value of ``ttest_1samp(diffs, popmean, alternative=...)``; with
    zero spread the evidence is exact (0 or 1)."""
    if float(diffs.std(ddof=1)) == 0:
        mean = float(diffs.mean())
        held = mean > popmean if alternative == 'greater' else mean < popmean
        return 0.0 if held else 1.0
    return float(scipy_stats.ttest_1samp(
        diffs, popmean, alternative=alternative).pvalue)


def _check_test(margin: float, alpha: float) -> None:
    if not (math.isfinite(margin) and margin >= 0):
        raise ValueError(f'margin must be finite and >= 0, got {margin!r}')
    if not 0 < alpha < 1:
        raise ValueError(f'alpha must be in (0, 1), got {alpha!r}')


def equivalence_test(a: Sequence[float], b: Sequence[float], margin: float,
                     alpha: float = 0.05) -> OneSidedTest:
    """Two one-sided paired t-tests (TOST): is ``|mean(a - b)| < margin``?

    Tests ``H0: mean <= -margin`` against ``mean > -margin`` and ``H0:
    mean >= margin`` against ``mean < margin`` (``scipy.stats.ttest_1samp``
    on the differences); equivalence is shown at level ``alpha`` when both
    reject, i.e. when the larger p-value is below ``alpha`` (the same as
    the ``1 - 2 alpha`` interval lying inside ``(-margin, margin)``).

    Args:
        a (Sequence[float]): First arm, one value per pair.
        b (Sequence[float]): Second arm, same length and order.
        margin (float): Equivalence margin, ``>= 0``.
        alpha (float): Level. Defaults to ``0.05``.

    Returns:
        OneSidedTest: ``p_value`` is the larger of the two one-sided ones.
    """
    _check_test(margin, alpha)
    diffs = _differences(a, b)
    p = max(_one_sided_p(diffs, -margin, 'greater'),
            _one_sided_p(diffs, margin, 'less'))
    return OneSidedTest(len(diffs), margin, p, p < alpha, alpha)


def noninferiority_test(a: Sequence[float], b: Sequence[float],
                        margin: float,
                        alpha: float = 0.05) -> OneSidedTest:
    """One-sided paired t-test that ``a`` is not worse than ``b`` by
    ``margin`` or more: ``H0: mean(a - b) <= -margin`` against ``mean >
    -margin`` (``scipy.stats.ttest_1samp(..., alternative='greater')``).

    Args:
        a (Sequence[float]): First arm, one value per pair.
        b (Sequence[float]): Second arm, same length and order.
        margin (float): Non-inferiority margin, ``>= 0``.
        alpha (float): Level. Defaults to ``0.05``.

    Returns:
        OneSidedTest: The test's p-value and whether it passed.
    """
    _check_test(margin, alpha)
    diffs = _differences(a, b)
    p = _one_sided_p(diffs, -margin, 'greater')
    return OneSidedTest(len(diffs), margin, p, p < alpha, alpha)


def holm(p_values: Sequence[float]) -> List[float]:
    """Holm's step-down adjusted p-values (family-wise error control).

    Sorted ascending, the ``i``-th smallest p-value (``i`` from 0) is
    multiplied by ``m - i``, made non-decreasing along the order and
    capped at 1; a hypothesis is rejected at family-wise level ``alpha``
    when its adjusted p-value is ``<= alpha``.

    Args:
        p_values (Sequence[float]): The family's p-values, in ``[0, 1]``.

    Returns:
        list[float]: Adjusted p-values, in the input order.
    """
    p = [float(v) for v in p_values]
    if not all(0.0 <= v <= 1.0 for v in p):
        raise ValueError(f'p-values must be in [0, 1], got {p_values!r}')
    m = len(p)
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(sorted(range(m), key=p.__getitem__)):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted
