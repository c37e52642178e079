"""mmpose_ext.analysis.claims.report: the verdict rules on constructed data
whose answer is known, Holm's correction over the table, and the table and
plot writing (pending arms, incomplete rows)."""
import json

import pytest
from scipy import stats as scipy_stats

from mmpose_ext.analysis import claims
from mmpose_ext.analysis.claims import report
from mmpose_ext.analysis.stats import equivalence_test, noninferiority_test

BASE = [0.60, 0.62, 0.58, 0.61, 0.59, 0.63, 0.57, 0.60]
# zero-mean noise with a spread of about 0.002 AP
JITTER = [0.002, -0.001, 0.0, -0.002, 0.001, 0.0015, -0.0015, 0.0]


def _shifted(delta, noise=1.0, values=BASE):
    return [b + delta + noise * j for b, j in zip(values, JITTER)]


@pytest.mark.parametrize('delta,noise,kind,expected', [
    (0.05, 1, 'gain', 'held'),
    (-0.05, 1, 'gain', 'reversed'),
    (0.0, 1, 'gain', 'equivalent'),  # |difference| << 0.01 at 8 seeds
    (0.003, 0.1, 'gain', 'held'),  # a tiny but certain gain: held first
    (0.0, 20, 'gain', 'inconclusive'),  # spread 0.04 AP: nothing shown
    (0.0, 1, 'no_loss', 'non-inferior'),
    (-0.005, 0.1, 'no_loss', 'non-inferior'),  # a loss inside the margin
    (-0.05, 1, 'no_loss', 'reversed'),
    (0.0, 20, 'no_loss', 'inconclusive'),
])
def test_verdicts_on_constructed_data(delta, noise, kind, expected):
    better = _shifted(delta, noise)
    result = report.judge(better, BASE, kind, margin=0.01)
    assert result['verdict'] == expected
    ref = scipy_stats.ttest_rel(better, BASE)
    ci = ref.confidence_interval(0.95)
    assert result['diff']['low'] == pytest.approx(ci.low)
    assert result['diff']['high'] == pytest.approx(ci.high)
    # the p-value is that of the test that gave the verdict
    if expected in ('held', 'reversed') or (expected == 'inconclusive'
                                             and kind == 'gain'):
        assert result['test'] == 'paired t'
        assert result['p_value'] == pytest.approx(ref.pvalue)
    elif expected == 'equivalent':
        assert result['test'] == 'TOST'
        assert result['p_value'] == pytest.approx(
            equivalence_test(better, BASE, 0.01).p_value)
    else:
        assert result['test'] == 'non-inferiority'
        assert result['p_value'] == pytest.approx(
            noninferiority_test(better, BASE, 0.01).p_value)
    if expected in ('held', 'reversed', 'equivalent', 'non-inferior'):
        assert result['p_value'] < 0.05


def test_equivalence_needs_the_margin():
    """The same small spread: equivalent at 0.01 AP, inconclusive at a
    margin below the spread of the mean."""
    better = _shifted(0.0, 3)
    assert report.judge(better, BASE, 'gain', 0.01)['verdict'] == \
        'equivalent'
    assert report.judge(better, BASE, 'gain', 0.0005)['verdict'] == \
        'inconclusive'
    with pytest.raises(ValueError, match='kind'):
        report.judge(better, BASE, 'better', 0.01)


def _record(row, aps, seeds=None):
    seeds = list(row.seeds) if seeds is None else seeds
    runs = {key: {s: dict(ap=ap, curve=[[1, ap / 2], [2, ap]], train_s=60.0,
                          test_s=5.0, digest=f'{key}{s}', seed=s)
                  for s, ap in zip(seeds, values)}
            for key, values in aps.items()}
    sizes = {arm.key: dict(params=2e6, flops=3e8, input_size=[128, 96])
             for arm in row.arms}
    return claims.summarize_row(row, runs, sizes, dict(
        epochs=2, command=f'make claims ROW={row.name}', data='synthetic',
        machine='2 cores'))


def test_holm_over_the_table():
    """Two rows, four comparisons: a verdict survives if its Holm-adjusted
    p-value (p sorted, times 4, 3, 2, 1, running maximum) is <= 0.05."""
    cpn = claims.ROWS['cpn']
    sg = claims.ROWS['soft_gated']
    records = [
        _record(cpn, {'refine_ohkm': _shifted(0.05),
                      'globalnet_k3': BASE,
                      'globalnet': _shifted(0.049, 30),
                      'refine_l2': _shifted(0.0, 0.5, _shifted(0.05))}),
        _record(sg, {'soft_gated': _shifted(0.0), 'plain': BASE}),
    ]
    comps = [c for r in records for c in r['comparisons']]
    assert [c['verdict'] for c in comps] == [
        'held', 'inconclusive', 'equivalent', 'non-inferior']
    p = [c['p_value'] for c in comps]
    order = sorted(range(4), key=p.__getitem__)
    adjusted, running = {}, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (4 - rank) * p[i]))
        adjusted[i] = running
    cells = report.holm_table(records)
    keys = [('cpn', 0), ('cpn', 1), ('cpn', 2), ('soft_gated', 0)]
    assert cells[keys[1]] == '—'  # inconclusive: nothing to keep
    for i in (0, 2, 3):
        word = 'yes' if adjusted[i] <= 0.05 else 'no'
        assert cells[keys[i]] == f'{word} ({adjusted[i]:.3f})'
    # a verdict that does not survive: p = 0.04 in a family of 4
    assert report.holm_table([dict(row='x', comparisons=[
        dict(verdict='held', p_value=0.04),
        dict(verdict='held', p_value=0.001)])]) == {
            ('x', 0): 'yes (0.040)', ('x', 1): 'yes (0.002)'}
    assert report.holm_table([dict(row='x', comparisons=[
        dict(verdict='held', p_value=0.04), dict(verdict='held',
                                                 p_value=0.03),
        dict(verdict='reversed', p_value=0.001)])])[('x', 0)] == \
        'no (0.060)'


def test_summary_table_and_plot(tmp_path):
    row = claims.ROWS['soft_gated']
    sg, plain = _shifted(0.0), BASE
    record = _record(row, {'soft_gated': sg, 'plain': plain})
    comp = record['comparisons'][0]
    assert comp['verdict'] == 'non-inferior' and comp['seeds'] == list(
        range(8))
    assert comp['differences'] == row.comparisons[0].differences
    assert record['row_time_s'] == 16 * 65.0
    assert record['runs_finished'] == record['runs_planned'] == 16
    claims.write_row(record, tmp_path)
    text = (tmp_path / 'claims.md').read_text()
    # the prose comes from the template, filled in
    assert text.startswith("# The papers' claims, re-tested")
    assert '{' not in text.split('## Summary')[0]
    assert '| soft_gated | about 3x fewer parameters' in text
    assert 'not run yet: `make claims ROW=cpn`' in text
    assert '0.600, 0.620, 0.580' in text and '| 8/8 |' in text
    assert '**non-inferior**' in text and '16 of 16 planned runs' in text
    assert '−0.01 (no loss)' in text and 'non-inferiority, ' in text
    assert '![soft_gated](claims/soft_gated.png)' in text
    png = (tmp_path / 'claims' / 'soft_gated.png').read_bytes()
    assert png.startswith(b'\x89PNG') and len(png) > 5000
    saved = json.loads((tmp_path / 'claims' / 'soft_gated.json').read_text())
    assert saved['comparisons'][0]['verdict'] == 'non-inferior'


def test_incomplete_row_with_a_pending_arm(tmp_path):
    """3 of 8 seeds finished, a new arm with none: verdicts from the
    finished pairs only, the new arm's comparison pending."""
    row = claims.ROWS['hrnet']
    seeds = [0, 1, 2]
    record = _record(row, {'hrnet': [0.60, 0.62, 0.61],
                           'simplebaseline': [0.45, 0.44, 0.46]}, seeds)
    assert record['runs_finished'] == 6 and record['runs_planned'] == 24
    first, second = record['comparisons']
    assert first['verdict'] == 'pending' and first['seeds'] == []
    assert 'diff' not in first and 'p_value' not in first
    assert second['verdict'] == 'held' and second['seeds'] == seeds
    assert second['diff']['n'] == 3
    claims.write_row(record, tmp_path)
    text = (tmp_path / 'claims.md').read_text()
    assert '**incomplete**' in text and '6 of 24 planned runs' in text
    assert 'pending (0 paired runs)' in text
    assert '| 0/8 | pending | — |' in text  # the arm without runs
    assert '| 6/24 |' in text  # the summary's runs column


def test_clock():
    assert report.clock(59.6) == '01:00'
    assert report.clock(3725) == '1:02:05'


def test_summary_block_is_regenerated_in_place(tmp_path):
    """write_row rewrites the generated block of claims_summary.md (table
    and verdicts in words) and keeps the prose around it."""
    summary = tmp_path / 'claims_summary.md'
    summary.write_text(f'# Summary\n\nprose before\n\n{report.SUMMARY_BEGIN}'
                       f'\nstale table\n{report.SUMMARY_END}\n\nprose '
                       'after\n')
    row = claims.ROWS['hrnet']
    record = _record(row, {'hrnet': [0.60, 0.62, 0.61],
                           'simplebaseline': [0.45, 0.44, 0.46]}, [0, 1, 2])
    claims.write_row(record, tmp_path)
    text = summary.read_text()
    assert 'stale table' not in text
    assert text.startswith('# Summary\n\nprose before\n\n')
    assert text.endswith(f'{report.SUMMARY_END}\n\nprose after\n')
    assert ('| hrnet | HRNet beats SimpleBaseline of about the same FLOPs '
            '| pending (0 paired runs) | ±0.01 | pending | — | 6/24 |') in text
    assert 'from the 6 of 24 planned runs finished' in text
    assert '**held**: HRNet beats SimpleBaseline of about the same FLOPs ' \
        "(each backbone's own init) (hrnet)." in text
    assert '**reversed**: none.' in text and '**pending**: HRNet' in text
    # one comparison with a verdict: Holm leaves its p-value as it is
    p = record['comparisons'][1]['p_value']
    assert ('1 verdict survives' if p <= 0.05 else
            '0 verdicts survive') in text
    # a file without the block is left alone
    summary.write_text('hand-written only\n')
    assert not report.update_summary(summary, [record])
    assert summary.read_text() == 'hand-written only\n'
