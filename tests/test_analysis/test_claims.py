"""mmpose_ext.analysis.claims: the machinery of the claims table on a tiny
budget (real tools/train.py + tools/test.py runs), the statistics against
SciPy, the verdict rules, the table and plot writing."""
import json

import pytest
from scipy import stats as scipy_stats

from mmpose_ext.analysis import claims
from mmpose_ext.analysis.claims import Arm, Comparison, Row
from mmpose_ext.analysis.stats import (
    PairedDifference,
    paired_difference,
    t_cdf,
    t_quantile,
)
from mmpose_ext.apis import run_mmpose_tool

from ..test_apis.tool_runs import data_options

TINY = 'configs/synthetic/td-hm_res18_synthetic-coco-128x96.py'
TINY_HEAD = ('configs/claims/hrnet/'
             'simplebaseline-res18_synthetic-coco-128x96.py')


# statistics ---------------------------------------------------------------
@pytest.mark.parametrize('df', [1, 2, 3, 4, 7, 30])
def test_t_distribution_matches_scipy(df):
    for p in (0.6, 0.9, 0.975, 0.995):
        assert t_quantile(p, df) == pytest.approx(
            scipy_stats.t.ppf(p, df), rel=1e-9)
        assert t_quantile(1 - p, df) == pytest.approx(
            scipy_stats.t.ppf(1 - p, df), rel=1e-9)
    for t in (-5.0, -1.3, 0.0, 0.4, 2.2, 9.0):
        assert t_cdf(t, df) == pytest.approx(scipy_stats.t.cdf(t, df),
                                             abs=1e-12)


@pytest.mark.parametrize('a,b', [
    ([0.61, 0.63, 0.60], [0.58, 0.62, 0.59]),
    ([0.50, 0.52, 0.47, 0.55, 0.49], [0.53, 0.51, 0.52, 0.56, 0.50]),
    ([0.7, 0.2], [0.1, 0.3]),
])
def test_paired_difference_matches_scipy_ttest_rel(a, b):
    diff = paired_difference(a, b)
    ref = scipy_stats.ttest_rel(a, b)
    ci = ref.confidence_interval(0.95)
    assert diff.n == len(a)
    assert diff.mean == pytest.approx(sum(a) / len(a) - sum(b) / len(b))
    assert (diff.low, diff.high) == (pytest.approx(ci.low, rel=1e-9),
                                     pytest.approx(ci.high, rel=1e-9))
    assert diff.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    ci90 = ref.confidence_interval(0.9)
    diff90 = paired_difference(a, b, confidence=0.9)
    assert diff90.low == pytest.approx(ci90.low, rel=1e-9)


def test_paired_difference_refuses_bad_samples():
    with pytest.raises(ValueError, match='differ in length'):
        paired_difference([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match='at least 2 pairs'):
        paired_difference([1.0], [0.5])
    with pytest.raises(ValueError, match='finite'):
        paired_difference([1.0, float('nan')], [0.5, 0.5])
    same = paired_difference([0.5, 0.6], [0.4, 0.5])  # zero spread
    assert (same.low, same.high, same.p_value) == (
        pytest.approx(0.1), pytest.approx(0.1), 0.0)


def _diff(low, high):
    return PairedDifference(3, (low + high) / 2, 0.0, low, high, 0.5, 0.95)


def test_verdict_rules():
    assert claims.verdict(_diff(0.001, 0.02)) == 'held'
    assert claims.verdict(_diff(-0.02, -0.001)) == 'reversed'
    assert claims.verdict(_diff(-0.01, 0.02)) == 'inconclusive'
    # no loss within a margin of 0.01 AP
    no_loss = dict(kind='no_loss', margin=0.01)
    assert claims.verdict(_diff(-0.005, 0.03), **no_loss) == 'held'
    assert claims.verdict(_diff(-0.008, -0.002), **no_loss) == 'held'
    assert claims.verdict(_diff(-0.05, -0.02), **no_loss) == 'reversed'
    assert claims.verdict(_diff(-0.05, 0.01), **no_loss) == 'inconclusive'
    with pytest.raises(ValueError, match='kind'):
        claims.verdict(_diff(0, 1), kind='better')
    with pytest.raises(ValueError, match='margin'):
        claims.verdict(_diff(0, 1), margin=-1)


# rows and options ---------------------------------------------------------
def test_every_row_is_well_formed():
    assert len(claims.ROWS) == 6
    for name, row in claims.ROWS.items():
        keys = [arm.key for arm in row.arms]
        assert row.name == name and len(set(keys)) == len(keys) >= 2
        for comp in row.comparisons:
            assert comp.better in keys and comp.other in keys
            assert comp.kind in ('gain', 'no_loss')
        for arm in row.arms:
            assert (claims.REPO_ROOT / arm.config).is_file(), arm.config
        # one budget per row: every arm trains for the same epochs
        epochs = {claims._load_config(arm.config, []).train_cfg.max_epochs
                  for arm in row.arms}
        assert len(epochs) == 1, (name, epochs)


def test_paper_scale_options():
    args = claims.parse_args([
        'cpn', '--data-root', '/data/coco', '--device', 'cuda:1',
        '--epochs', '210', '--seeds', '5', '--cfg-options', 'a.b=1'
    ])
    options = claims.run_overrides(args, seed=4)
    assert options[0] == 'randomness.seed=4' and options[-1] == 'a.b=1'
    assert ('train_dataloader.dataset.ann_file=annotations/'
            'person_keypoints_train2017.json') in options
    assert 'test_dataloader.dataset.data_prefix.img=val2017/' in options
    assert 'train_dataloader.dataset.data_root=/data/coco/' in options
    assert ('val_evaluator.ann_file=/data/coco/annotations/'
            'person_keypoints_val2017.json') in options
    assert {'train_cfg.max_epochs=210', 'param_scheduler.1.end=210',
            'param_scheduler.1.T_max=210',
            'default_hooks.checkpoint.interval=210'} <= set(options)
    cfg = claims._load_config(claims.ROWS['cpn'].arms[0].config, options)
    assert cfg.train_cfg.max_epochs == 210
    assert cfg.param_scheduler[1].T_max == 210
    assert cfg.val_evaluator.ann_file.endswith('person_keypoints_val2017.json')
    runner = claims.RowRunner(claims.ROWS['cpn'], args)
    assert runner._env()['CUDA_VISIBLE_DEVICES'] == '1'
    assert 'claims.py cpn --seeds 5 --data-root /data/coco' in \
        runner.command()


@pytest.mark.parametrize('argv,message', [
    (['cpn', '--seeds', '1'], 'at least 2'),
    (['cpn', '--device', 'gpu'], 'cpu, cuda or cuda:N'),
    (['cpn', '--epochs', '0'], 'positive'),
    (['cpn', '--cfg-options', 'novalue'], 'KEY=VALUE'),
    (['nope'], 'invalid choice'),
])
def test_bad_options_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit):
        claims.parse_args(argv)
    assert message in capsys.readouterr().err


def test_digest_follows_the_merged_config():
    config = claims.ROWS['mspn'].arms[0].config
    a = claims.config_digest(config, ['randomness.seed=0'])
    assert a == claims.config_digest(config, ['randomness.seed=0'])
    assert a != claims.config_digest(config, ['randomness.seed=1'])
    assert a != claims.config_digest(config, ['randomness.seed=0',
                                              'train_cfg.max_epochs=7'])


def test_progress_line():
    line = claims.format_progress(6, 24, 120.0, 3, 'arm seed 0', width=8)
    assert line.startswith('[##------] 6.0/24 epochs  02:00 elapsed')
    assert 'ETA 12:00' in line  # 3 epochs in 120 s, 18 to go
    assert 'ETA ?' in claims.format_progress(3, 24, 5.0, 0, 'x')


# table and plot -----------------------------------------------------------
def _record(row, aps):
    runs = {key: {s: dict(ap=ap, curve=[[1, ap / 2], [2, ap]], train_s=60.0,
                          test_s=5.0, digest='d', seed=s)
                  for s, ap in enumerate(values)}
            for key, values in aps.items()}
    sizes = {arm.key: dict(params=2e6, flops=3e8, input_size=[128, 96])
             for arm in row.arms}
    return claims.summarize_row(row, runs, sizes, [0, 1, 2],
                                dict(epochs=2, command='make claims ROW=x',
                                     data='synthetic', machine='2 cores'))


def test_summary_table_and_plot(tmp_path):
    row = claims.ROWS['soft_gated']
    sg, plain = [0.60, 0.62, 0.61], [0.60, 0.615, 0.605]
    record = _record(row, {'soft_gated': sg, 'plain': plain})
    comp = record['comparisons'][0]
    ref = scipy_stats.ttest_rel(sg, plain).confidence_interval()
    assert comp['diff']['low'] == pytest.approx(ref.low)
    assert -0.01 < ref.low < 0  # spans zero, but within the margin
    assert comp['verdict'] == 'held'
    wider = _record(row, {'soft_gated': sg, 'plain': [0.61, 0.62, 0.60]})
    assert wider['comparisons'][0]['verdict'] == 'inconclusive'
    assert record['row_time_s'] == 6 * 65.0
    assert record['runs_finished'] == record['runs_planned'] == 6
    claims.write_row(record, tmp_path)
    text = (tmp_path / 'claims.md').read_text()
    assert '| soft_gated | about 3x fewer parameters' in text
    assert 'not run yet: `make claims ROW=cpn`' in text
    assert '0.600, 0.620, 0.610 | 0.610 |' in text
    assert '| held |' in text
    assert '![soft_gated](claims/soft_gated.png)' in text
    png = (tmp_path / 'claims' / 'soft_gated.png').read_bytes()
    assert png.startswith(b'\x89PNG') and len(png) > 5000
    saved = json.loads((tmp_path / 'claims' / 'soft_gated.json').read_text())
    assert saved['comparisons'][0]['verdict'] == 'held'


def test_incomplete_row_is_marked(tmp_path):
    row = claims.ROWS['hrnet']
    record = _record(row, {'hrnet': [0.5, 0.6], 'simplebaseline': [0.4]})
    assert record['runs_finished'] == 3
    assert 'diff' not in record['comparisons'][0]  # one pair only
    claims.write_row(record, tmp_path)
    text = (tmp_path / 'claims.md').read_text()
    assert '**incomplete**' in text and 'not enough paired runs' in text


# the runs themselves ------------------------------------------------------
def test_row_trains_tests_records_and_resumes(synthetic_coco, tmp_path,
                                              monkeypatch, capsys):
    """Two arms x two seeds of one epoch through tools/train.py and
    tools/test.py (their commands run in this process, to spare 8
    interpreter start-ups); a second call runs nothing; a changed config
    re-runs."""
    commands = []

    def run_here(self, cmd, log, progress):
        tool = 'train' if cmd[1].endswith('train.py') else 'test'
        commands.append(cmd)
        progress()
        monkeypatch.setattr('sys.argv', [f'tools/{tool}.py'])
        # --cfg-options come last; MMEngine's visualizer is a named global
        run_mmpose_tool(tool, cmd[2:] + [f'visualizer.name=v{len(commands)}'])
        log.write_text('ran in process')

    monkeypatch.setattr(claims.RowRunner, '_run', run_here)
    row = Row('tiny', 'Tiny', '[p](https://example.org)',
              (Arm('a', 'res18', TINY), Arm('b', 'res18 wide', TINY_HEAD)),
              (Comparison('a', 'b', 'a beats b', 'none'), ))
    monkeypatch.setitem(claims.ROWS, 'tiny', row)
    argv = ['tiny', '--seeds', '2', '--epochs', '1', '--work-dir',
            str(tmp_path / 'work'), '--docs-dir', str(tmp_path / 'docs'),
            '--cfg-options', *data_options(synthetic_coco),
            'train_cfg.val_interval=1']
    record = claims.main(argv)
    assert record['runs_finished'] == 4
    assert [cmd[1].split('/')[-1] for cmd in commands] == [
        'train.py', 'test.py'] * 4
    # seed-major, paired: arm a and arm b of seed 0, then of seed 1
    assert [next(o for o in cmd if o.startswith('randomness.seed='))
            for cmd in commands[::2]] == ['randomness.seed=0'] * 2 + [
                'randomness.seed=1'] * 2
    for arm in record['arms'].values():
        for seed, run in arm['runs'].items():
            assert 0 <= run['ap'] <= 1 and run['curve'][0][0] == 1
            assert run['curve'][-1][1] == pytest.approx(run['ap'])
    assert record['arms']['a']['params'] < record['arms']['b']['params']
    assert 'diff' in record['comparisons'][0]
    assert (tmp_path / 'docs' / 'claims' / 'tiny.png').is_file()

    # resume: everything is finished, nothing may run
    def no_run(*args, **kwargs):
        raise AssertionError('a finished run was started again')

    monkeypatch.setattr(claims.RowRunner, 'train_and_test', no_run)
    saved = tmp_path / 'docs' / 'claims' / 'tiny.json'
    saved.write_text(saved.read_text().replace(
        record['updated'], '2000-01-01'))
    again = claims.main(argv)
    assert again['arms'] == record['arms']
    assert again['updated'] == '2000-01-01'  # no new run, the date stays
    # with work_dirs gone, the committed record still counts as finished
    import shutil
    shutil.rmtree(tmp_path / 'work')
    assert claims.main(argv)['runs_finished'] == 4

    # a changed budget is a different run
    started = []
    monkeypatch.setattr(claims.RowRunner, 'train_and_test',
                        lambda self, arm, seed, digest, progress:
                        started.append((arm.key, seed)) or dict(
                            record['arms'][arm.key]['runs'][str(seed)],
                            digest=digest))
    claims.main(argv[:4] + ['2'] + argv[5:])
    assert sorted(started) == [('a', 0), ('a', 1), ('b', 0), ('b', 1)]

    # the 2-epoch runs are now the finished ones: --dry-run lists nothing
    # of them, but every 1-epoch run; --rerun starts every run again
    capsys.readouterr()
    assert claims.main(argv[:4] + ['2'] + argv[5:] + ['--dry-run']) == {}
    out = capsys.readouterr().out
    assert out.count('# finished:') == 4 and 'train.py' not in out
    claims.main(argv + ['--dry-run'])
    out = capsys.readouterr().out
    assert '# finished' not in out and out.count('train.py') == 4
    started.clear()
    claims.main(argv[:4] + ['2'] + argv[5:] + ['--rerun'])
    assert sorted(started) == [('a', 0), ('a', 1), ('b', 0), ('b', 1)]
