"""mmpose_ext.analysis.gpu_check (tools/verify_gpu.py): the report of one
verification run, on this CPU machine (the CUDA tier skips, the benchmark
runs on the CPU), and the tier's outcomes under a budget."""
import json
import re
import textwrap

import pytest
import torch

from mmpose_ext.analysis import gpu_check
from mmpose_ext.package_files import cuda_tier_dir

FAMILIES = ('mca_hourglass', 'hourglass', 'soft_gated', 'cpn', 'mspn',
            'hrnet')


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(),
                    reason='the CPU run of the verification')
def test_cpu_run_reports_skipped_tier_and_cpu_figures(tmp_path, capsys):
    assert gpu_check.main(['--out', str(tmp_path)]) == 0
    report = json.loads((tmp_path / 'report.json').read_text())
    assert report['verdict'] == 'cpu-only'
    env = report['environment']
    assert env['gpus'] == [] and env['cuda_available'] is False
    assert env['torch'] == torch.__version__
    assert env['cuda'] == torch.version.cuda
    assert env['versions']['mmpose_ext'] == '0.1.0'

    # the tier: every test of every file skipped with the reason; each
    # family in each per-family file
    tier = report['tier']
    assert tier['dir'] == str(cuda_tier_dir()) and not tier['timed_out']
    assert tier['returncode'] == 0
    tests = tier['tests']
    assert len(tests) >= 40
    assert tier['counts'] == dict(passed=0, failed=0, error=0,
                                  skipped=len(tests), **{'not run': 0})
    assert all('CUDA is not available' in t['message'] for t in tests)
    files = {t['id'].split('::')[0].rsplit('/', 1)[-1] for t in tests}
    assert files == {p.name for p in gpu_check.tier_files(cuda_tier_dir())}
    assert files >= set(gpu_check.TIER_ORDER)
    for name in files - {'test_interpolate_cuda.py'}:
        ids = [t['id'] for t in tests if name in t['id']]
        for family in FAMILIES:
            assert any(f'[{family}' in i or f'-{family}]' in i
                       for i in ids), (name, family)
    # the files run in TIER_ORDER, cheap ones first
    order = [n for n in dict.fromkeys(
        t['id'].split('::')[0].rsplit('/', 1)[-1] for t in tests)]
    assert order == list(gpu_check.TIER_ORDER)

    # the benchmark: one tiny run on the CPU, with the pipeline time
    (run, ) = report['benchmark']['runs']
    assert run['returncode'] == 0 and not run['timed_out']
    bench = run['report']
    assert bench['device'] == 'cpu' and bench['gpu'] is None
    res = bench['results']['config']
    assert res['input_size'] == [64, 64]
    for mode in ('train', 'test'):
        r = res[mode]
        assert r['images_per_s'] == pytest.approx(
            bench['batch_size'] / r['median_s_per_iter'])
        assert r['total_memory_mb'] == pytest.approx(
            r['peak_memory_mb'] + r['state_memory_mb'])
    assert res['data_pipeline']['s_per_image'] > 0
    assert res['data_pipeline']['images'] == 2

    markdown = (tmp_path / 'report.md').read_text()
    assert 'verdict: **cpu-only**' in markdown
    assert f'PyTorch {torch.__version__}' in markdown
    rows = re.findall(r'^\| `(.+?)` \| (\w[\w ]*) \|', markdown, re.M)
    assert len(rows) == len(tests)
    assert {outcome for _, outcome in rows} == {'skipped'}
    assert re.search(r'^\| config \| 64x64 \| train \| [\d.]+ \|', markdown,
                     re.M)
    assert 'cpu-only' in capsys.readouterr().out


FAKE_TIER = '''
import time
import pytest

pytestmark = pytest.mark.cuda


@pytest.fixture
def broken():
    raise RuntimeError('fixture broke')


def test_a_passes():
    assert True


def test_b_fails():
    assert 1 == 2, 'one is not two'


def test_c_skips():
    pytest.skip('no such thing here')


def test_d_errors(broken):
    pass


def test_e_hangs():
    time.sleep(600)


def test_f_never_reached():
    pass
'''
NOT_CUDA = '''
def test_g_not_cuda():
    pass
'''


@pytest.mark.slow
def test_tier_outcomes_and_budget(tmp_path, monkeypatch):
    """Every outcome is told apart; the budget stops a hung test (and what
    it started), and the tests after it are ``not run``."""
    tier = tmp_path / 'tier'
    tier.mkdir()
    (tier / 'test_fake_cuda.py').write_text(textwrap.dedent(FAKE_TIER))
    (tier / 'test_other_cuda.py').write_text(NOT_CUDA)  # deselected
    monkeypatch.setattr(gpu_check, 'cuda_tier_dir', lambda: tier)
    out = tmp_path / 'out'
    out.mkdir()
    result = gpu_check.run_tier(out, budget_s=30)
    assert result['timed_out']
    outcomes = {t['id'].split('::')[-1]: t['outcome']
                for t in result['tests']}
    assert outcomes == dict(test_a_passes='passed', test_b_fails='failed',
                            test_c_skips='skipped', test_d_errors='error',
                            test_e_hangs='not run',
                            test_f_never_reached='not run')
    messages = {t['id'].split('::')[-1]: t['message']
                for t in result['tests']}
    assert 'one is not two' in messages['test_b_fails']
    assert messages['test_c_skips'] == 'Skipped: no such thing here'
    assert 'fixture broke' in messages['test_d_errors']
    assert result['counts'] == {'passed': 1, 'failed': 1, 'error': 1,
                                'skipped': 1, 'not run': 2}
    report = dict(environment=dict(cuda_available=True), tier=result)
    assert gpu_check.verdict(report) == 'fail'


def _report(cuda=True, counts=None, returncode=0, timed_out=False,
            bench_rc=0):
    counts = dict(dict.fromkeys(gpu_check.OUTCOMES, 0), **(counts or {}))
    return dict(environment=dict(cuda_available=cuda),
                tier=dict(counts=counts, returncode=returncode,
                          timed_out=timed_out),
                benchmark=dict(runs=[dict(returncode=bench_rc)]))


def test_verdict():
    assert gpu_check.verdict(_report(counts=dict(passed=3))) == 'pass'
    assert gpu_check.verdict(_report(cuda=False, counts=dict(
        skipped=3))) == 'cpu-only'
    assert gpu_check.verdict(_report(counts=dict(
        passed=3, failed=1), returncode=1)) == 'fail'
    assert gpu_check.verdict(_report(counts=dict(error=1),
                                     returncode=1)) == 'fail'
    assert gpu_check.verdict(_report(counts={'passed': 2, 'not run': 1},
                                     returncode=-9,
                                     timed_out=True)) == 'fail'
    assert gpu_check.verdict(_report(counts=dict(passed=3),
                                     bench_rc=1)) == 'fail'
    # pytest crashed before running anything (exit status 3/4)
    assert gpu_check.verdict(_report(returncode=4)) == 'fail'


def test_bad_arguments_are_named(capsys):
    with pytest.raises(SystemExit):
        gpu_check.parse_args(['--budget', '0'])
    assert '--budget and --bench-budget must be > 0' in (
        capsys.readouterr().err)
    if not torch.cuda.is_available():
        with pytest.raises(SystemExit):
            gpu_check.parse_args(['--device', 'cuda'])
        assert 'CUDA is not available' in capsys.readouterr().err
