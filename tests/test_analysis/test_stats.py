"""mmpose_ext.analysis.stats: the sign-test interval of a median; the
paired t, TOST and non-inferiority tests against hand computations from
their definitions; Holm's step-down."""
import math
import random

import pytest
from scipy import stats as scipy_stats

from mmpose_ext.analysis.stats import (
    equivalence_test,
    holm,
    median_interval,
    noninferiority_test,
    paired_difference,
)


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


# the paired tests of the claims table ---------------------------------------
@pytest.mark.parametrize('a,b', [
    ([0.61, 0.63, 0.60], [0.58, 0.62, 0.59]),
    ([0.50, 0.52, 0.47, 0.55, 0.49], [0.53, 0.51, 0.52, 0.56, 0.50]),
    ([0.7, 0.2], [0.1, 0.3]),
])
def test_paired_difference_by_hand(a, b):
    """Mean, sd, the t interval and the two-sided p-value computed from
    their definitions (the t quantile and CDF from scipy.stats.t)."""
    diff = paired_difference(a, b)
    d = [x - y for x, y in zip(a, b)]
    n = len(d)
    mean = sum(d) / n
    sd = math.sqrt(sum((v - mean)**2 for v in d) / (n - 1))
    half = scipy_stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    t = mean / (sd / math.sqrt(n))
    assert diff.n == n and diff.confidence == 0.95
    assert diff.mean == pytest.approx(mean, abs=1e-12)
    assert diff.sd == pytest.approx(sd, rel=1e-9)
    assert (diff.low, diff.high) == (pytest.approx(mean - half, rel=1e-9),
                                     pytest.approx(mean + half, rel=1e-9))
    assert diff.p_value == pytest.approx(
        2 * scipy_stats.t.cdf(-abs(t), n - 1), rel=1e-9)
    half90 = scipy_stats.t.ppf(0.95, n - 1) * sd / math.sqrt(n)
    assert paired_difference(a, b, 0.9).low == pytest.approx(mean - half90)


def test_paired_difference_refuses_bad_samples():
    with pytest.raises(ValueError, match='differ in length'):
        paired_difference([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match='at least 2 pairs'):
        paired_difference([1.0], [0.5])
    with pytest.raises(ValueError, match='finite'):
        paired_difference([1.0, float('nan')], [0.5, 0.5])
    with pytest.raises(ValueError, match='confidence'):
        paired_difference([1.0, 2.0], [0.5, 0.5], confidence=0)
    same = paired_difference([0.5, 0.6], [0.4, 0.5])  # zero spread
    assert (same.low, same.high, same.p_value) == (
        pytest.approx(0.1), pytest.approx(0.1), 0.0)


def _one_sided_by_hand(d, popmean, greater):
    n = len(d)
    mean = sum(d) / n
    se = math.sqrt(sum((v - mean)**2 for v in d) / (n - 1) / n)
    t = (mean - popmean) / se
    return (scipy_stats.t.sf(t, n - 1) if greater else
            scipy_stats.t.cdf(t, n - 1))


@pytest.mark.parametrize('a,b,margin', [
    ([0.600, 0.610, 0.605, 0.598], [0.601, 0.606, 0.607, 0.600], 0.01),
    ([0.61, 0.63, 0.60], [0.58, 0.62, 0.59], 0.01),
    ([0.61, 0.63, 0.60], [0.58, 0.62, 0.59], 0.05),
])
def test_tost_and_noninferiority_by_hand(a, b, margin):
    d = [x - y for x, y in zip(a, b)]
    lower = _one_sided_by_hand(d, -margin, greater=True)
    upper = _one_sided_by_hand(d, margin, greater=False)
    tost = equivalence_test(a, b, margin)
    assert tost.p_value == pytest.approx(max(lower, upper), rel=1e-9)
    assert tost.passed == (max(lower, upper) < 0.05)
    assert tost.n == len(a) and tost.margin == margin
    # TOST at alpha passes exactly when the 1 - 2 alpha interval lies
    # inside (-margin, margin)
    ci = paired_difference(a, b, confidence=0.9)
    assert tost.passed == (-margin < ci.low and ci.high < margin)
    ni = noninferiority_test(a, b, margin)
    assert ni.p_value == pytest.approx(lower, rel=1e-9)
    assert ni.passed == (ci.low > -margin)


def test_one_sided_tests_with_zero_spread_and_bad_margins():
    a, b = [0.5, 0.6, 0.7], [0.5, 0.6, 0.7]  # identical: difference 0
    assert equivalence_test(a, b, 0.01).passed
    assert noninferiority_test(a, b, 0.01).p_value == 0.0
    shifted = [0.48, 0.58, 0.68]  # exactly 0.02 worse
    assert not noninferiority_test(shifted, b, 0.01).passed
    assert not equivalence_test(shifted, b, 0.01).passed
    with pytest.raises(ValueError, match='margin'):
        equivalence_test(a, b, -0.01)
    with pytest.raises(ValueError, match='alpha'):
        noninferiority_test(a, b, 0.01, alpha=1.5)


def test_holm_step_down():
    # m = 4: sorted p x (4, 3, 2, 1), running maximum, capped at 1
    p = [0.01, 0.04, 0.03, 0.005]
    assert holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []
    # against the definition: reject H_(i) iff every p_(j) <= alpha /
    # (m - j) for j <= i
    rng = random.Random(1)
    for _ in range(200):
        ps = [rng.random() ** 3 for _ in range(rng.randint(1, 8))]
        order = sorted(range(len(ps)), key=ps.__getitem__)
        rejected, still = set(), True
        for j, i in enumerate(order):
            still = still and ps[i] <= 0.05 / (len(ps) - j)
            if still:
                rejected.add(i)
        assert {i for i, q in enumerate(holm(ps)) if q <= 0.05} == rejected
    with pytest.raises(ValueError, match='p-values'):
        holm([0.5, 1.2])
