"""mmpose_ext.analysis.stats: the sign-test interval of a median."""
import math
import random

import pytest

from mmpose_ext.analysis.stats import median_interval


def coverage(n: int, k: int) -> float:
    """P(x_(k) <= median <= x_(n+1-k)) for n samples of a continuous
    distribution: the count below the median is Bin(n, 1/2)."""
    return sum(math.comb(n, i) for i in range(k, n - k + 1)) / 2**n


def test_sign_test_order_statistics():
    values = [float(v) for v in range(21, 0, -1)]  # any order
    assert median_interval(values) == (6.0, 16.0)  # x_(6), x_(16)
    assert coverage(21, 6) >= 0.95 > coverage(21, 7)
    assert median_interval(range(6)) == (0, 5)  # 1 - 2/64 >= 0.95
    assert median_interval([1.0, 2.0, 3.0, 4.0, 5.0]) is None
    assert median_interval(range(21), confidence=0.5) == (8, 12)
    assert coverage(21, 9) >= 0.5 > coverage(21, 10)


def test_covers_the_median_as_often_as_promised():
    rng = random.Random(0)
    trials, hits = 2000, 0
    for _ in range(trials):
        # skewed noise, as timings are: median of Exp(1) is ln 2
        low, high = median_interval([rng.expovariate(1.0)
                                     for _ in range(15)])
        hits += low <= math.log(2) <= high
    assert hits / trials == pytest.approx(coverage(15, 4), abs=0.02)


def test_bad_confidence():
    with pytest.raises(ValueError, match='confidence'):
        median_interval([1.0] * 10, confidence=1.0)
