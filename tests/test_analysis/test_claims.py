"""mmpose_ext.analysis.claims: the row specifications (arms, seeds fixed
in advance, confound-free arms), the digests that reuse finished runs, and
the runner on a tiny budget (real tools/train.py + tools/test.py runs),
resumed after an interruption."""
import json
import shutil

import pytest
import torch

from mmpose_ext.analysis import claims
from mmpose_ext.analysis.claims import runner
from mmpose_ext.analysis.claims.rows import SEEDS, Arm, Comparison, Row
from mmpose_ext.apis import run_mmpose_tool

from ..test_apis.tool_runs import data_options

TINY = 'configs/synthetic/td-hm_res18_synthetic-coco-128x96.py'
TINY_HEAD = ('configs/claims/hrnet/'
             'simplebaseline-res18_synthetic-coco-128x96.py')


def _cfg(config, options=()):
    return runner._load_config(config, list(options))


# rows ---------------------------------------------------------------------
def test_every_row_is_well_formed():
    assert list(claims.ROWS) == ['mca_attention', 'hru', 'cpn', 'mspn',
                                 'soft_gated', 'hrnet']
    assert SEEDS == tuple(range(8))
    for name, row in claims.ROWS.items():
        assert row.name == name and len(row.seeds) == 8
        for comp in row.comparisons:
            assert comp.kind in ('gain', 'no_loss') and comp.margin > 0
            assert comp.differences and comp.paper
        for arm in row.arms:
            assert (runner.REPO_ROOT / arm.config).is_file(), arm.config
        # one budget per row: every arm trains for the same epochs
        epochs = {_cfg(arm.config).train_cfg.max_epochs for arm in row.arms}
        assert len(epochs) == 1, (name, epochs)
    soft = claims.ROWS['soft_gated'].comparisons[0]
    assert (soft.kind, soft.margin) == ('no_loss', 0.01)


def test_rows_share_no_run():
    """The same config with the same seed is the same run: no two rows may
    hold one (mca_attention and hru share a config, not a seed)."""
    owner = {}
    for row in claims.ROWS.values():
        for arm in row.arms:
            for seed in row.seeds:
                key = (arm.config, seed)
                assert owner.setdefault(key, row.name) == row.name, key
    assert set(claims.ROWS['hru'].seeds).isdisjoint(
        claims.ROWS['mca_attention'].seeds)


def test_bad_rows_are_refused():
    arms = (Arm('a', 'A', TINY), Arm('b', 'B', TINY))
    comp = Comparison('a', 'b', 'a beats b', 'none', 0.01, 'none')
    with pytest.raises(ValueError, match="arm 'c'"):
        Row('x', 'X', 'p', arms, (Comparison('a', 'c', 'c', 'p', 0.01,
                                             'none'), ))
    with pytest.raises(ValueError, match='distinct keys'):
        Row('x', 'X', 'p', arms[:1] * 2, (comp, ))
    with pytest.raises(ValueError, match='seeds'):
        Row('x', 'X', 'p', arms, (comp, ), seeds=(0, 0))
    with pytest.raises(ValueError, match='kind'):
        Comparison('a', 'b', 'c', 'p', 0.01, 'none', kind='better')
    with pytest.raises(ValueError, match='margin'):
        Comparison('a', 'b', 'c', 'p', 0.0, 'none')


@pytest.mark.slow
def test_hru_plain_arm_matches_the_hru_arm_parameters():
    from mmpose_ext.analysis.complexity import measure
    row = claims.ROWS['hru']
    params = {arm.key: measure(str(runner.REPO_ROOT / arm.config),
                               device='cpu')['params'] for arm in row.arms}
    assert abs(params['preact_wide'] / params['hru'] - 1) < 0.05
    assert params['preact'] / params['hru'] < 0.8  # today's arm: smaller


def test_cpn_globalnet_arm_decodes_an_output_on_refinenets_target():
    from mmpose_ext.models.losses.target_levels import resolve_target_level
    row = claims.ROWS['cpn']
    refine = _cfg(row.arm('refine_ohkm').config).model.head
    levels = len(refine.decoder.kernel_sizes)
    refine_target = resolve_target_level(refine.get('refine_level', -1),
                                         levels, 'refine')
    same = _cfg(row.arm('globalnet_k3').config).model.head
    released = _cfg(row.arm('globalnet').config).model.head
    assert not same.refine_net and not released.refine_net
    # GlobalNet alone decodes output 0
    assert resolve_target_level(same.global_levels[0], levels,
                                'global 0') == refine_target
    kernels = refine.decoder.kernel_sizes
    assert kernels[refine_target] == 3
    assert kernels[released.global_levels[0]] == 9  # as released
    # the other GlobalNet outputs keep their levels
    assert tuple(same.global_levels[1:]) == tuple(released.global_levels[1:])


def test_hrnet_row_arms_share_the_init_scheme():
    """Built and initialised as the runner does: Normal(0, 0.001) convs and
    no zero-initialised BN in both backbones of the first comparison."""
    from mmpose.registry import MODELS
    from mmpose.utils import register_all_modules
    register_all_modules()
    row = claims.ROWS['hrnet']

    def init_stats(key):
        torch.manual_seed(0)
        model = MODELS.build(_cfg(row.arm(key).config).model)
        model.init_weights()
        convs = torch.cat([m.weight.detach().flatten()
                           for m in model.backbone.modules()
                           if isinstance(m, torch.nn.Conv2d)])
        zero_bn = sum(bool((m.weight == 0).all())
                      for m in model.backbone.modules()
                      if isinstance(m, torch.nn.BatchNorm2d))
        return float(convs.std()), zero_bn

    first = row.comparisons[0]
    for key in (first.better, first.other):
        std, zero_bn = init_stats(key)
        assert std == pytest.approx(1e-3, rel=0.05) and zero_bn == 0, key
    std, zero_bn = init_stats('simplebaseline')  # today's arm
    assert std > 5e-3 and zero_bn == 8  # the 8 BasicBlocks' last BN


# options and digests ------------------------------------------------------
def test_paper_scale_options():
    args = claims.parse_args([
        'cpn', '--data-root', '/data/coco', '--device', 'cuda:1',
        '--epochs', '210', '--cfg-options', 'a.b=1'
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
    cfg = _cfg(claims.ROWS['cpn'].arms[0].config, options)
    assert cfg.train_cfg.max_epochs == 210
    assert cfg.param_scheduler[1].T_max == 210
    assert cfg.val_evaluator.ann_file.endswith('person_keypoints_val2017.json')
    row_runner = runner.RowRunner(claims.ROWS['cpn'], args)
    assert row_runner._env()['CUDA_VISIBLE_DEVICES'] == '1'
    assert 'claims.py cpn --data-root /data/coco' in row_runner.command()
    assert row_runner.seeds == list(range(8))


@pytest.mark.parametrize('argv,message', [
    (['cpn', '--seeds', '3'], 'unrecognized arguments'),  # fixed per row
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
    # the distributed wrapper does not change a single-process run
    assert a == claims.config_digest(config, [
        'randomness.seed=0',
        'model_wrapper_cfg.type=MMDistributedDataParallel',
        'model_wrapper_cfg.find_unused_parameters=True'])


def test_recorded_runs_keep_their_digests():
    """The runs recorded in docs/claims/*.json are reused only while their
    configs hash as they did: seed 0 of every recorded config."""
    checked = set()
    for path in sorted((runner.REPO_ROOT / 'docs' / 'claims').glob(
            '*.json')):
        for arm in json.loads(path.read_text())['arms'].values():
            run = arm['runs'].get('0')
            if run is None or arm['config'] in checked:
                continue
            checked.add(arm['config'])
            assert claims.config_digest(arm['config'], [
                'randomness.seed=0']) == run['digest'], arm['config']
    assert len(checked) >= 10


def test_progress_line():
    line = runner.format_progress(6, 24, 120.0, 3, 'arm seed 0', width=8)
    assert line.startswith('[##------] 6.0/24 epochs  02:00 elapsed')
    assert 'ETA 12:00' in line  # 3 epochs in 120 s, 18 to go
    assert 'ETA ?' in runner.format_progress(3, 24, 5.0, 0, 'x')


# the runs themselves ------------------------------------------------------
@pytest.mark.slow
def test_row_trains_tests_records_and_resumes(synthetic_coco, tmp_path,
                                              monkeypatch, capsys):
    """Two arms x two seeds of one epoch through tools/train.py and
    tools/test.py (their commands run in this process, to spare 8
    interpreter start-ups): interrupted after 2 runs, resumed with the
    other 2; a third call runs nothing; a changed config re-runs."""
    commands = []
    fail_at = [3]  # the third training is interrupted

    def run_here(self, cmd, log, progress):
        tool = 'train' if cmd[1].endswith('train.py') else 'test'
        if tool == 'train':
            fail_at[0] -= 1
            if fail_at[0] == 0:
                raise KeyboardInterrupt
        commands.append(cmd)
        progress()
        monkeypatch.setattr('sys.argv', [f'tools/{tool}.py'])
        # --cfg-options come last; MMEngine's visualizer is a named global
        run_mmpose_tool(tool, cmd[2:] + [f'visualizer.name=v{len(commands)}'])
        log.write_text('ran in process')

    monkeypatch.setattr(runner.RowRunner, '_run', run_here)
    row = Row('tiny', 'Tiny', '[p](https://example.org)',
              (Arm('a', 'res18', TINY), Arm('b', 'res18 wide', TINY_HEAD)),
              (Comparison('a', 'b', 'a beats b', 'none', 0.01,
                          'width'), ), seeds=(0, 1))
    monkeypatch.setitem(claims.ROWS, 'tiny', row)
    argv = ['tiny', '--epochs', '1', '--work-dir', str(tmp_path / 'work'),
            '--docs-dir', str(tmp_path / 'docs'), '--cfg-options',
            *data_options(synthetic_coco), 'train_cfg.val_interval=1']
    saved = tmp_path / 'docs' / 'claims' / 'tiny.json'
    with pytest.raises(KeyboardInterrupt):
        claims.main(argv)
    partial = json.loads(saved.read_text())  # written after every run
    assert partial['runs_finished'] == 2 and partial['runs_planned'] == 4
    assert partial['comparisons'][0]['verdict'] == 'pending'
    assert 'pending (1 paired run)' in (tmp_path / 'docs' /
                                        'claims.md').read_text()
    first = len(commands)
    assert first == 4  # train + test of arm a and arm b, seed 0
    record = claims.main(argv)
    assert record['runs_finished'] == 4
    resumed = commands[first:]
    assert [cmd[1].split('/')[-1] for cmd in resumed] == [
        'train.py', 'test.py'] * 2
    # only seed 1 ran again: seed-major, paired
    assert all('randomness.seed=1' in cmd for cmd in resumed)
    for arm in record['arms'].values():
        for seed, run in arm['runs'].items():
            assert 0 <= run['ap'] <= 1 and run['curve'][0][0] == 1
            assert run['curve'][-1][1] == pytest.approx(run['ap'])
    assert record['arms']['a']['params'] < record['arms']['b']['params']
    assert record['comparisons'][0]['verdict'] in (
        'held', 'reversed', 'equivalent', 'inconclusive')
    assert (tmp_path / 'docs' / 'claims' / 'tiny.png').is_file()

    # resume: everything is finished, nothing may run
    def no_run(*args, **kwargs):
        raise AssertionError('a finished run was started again')

    monkeypatch.setattr(runner.RowRunner, 'train_and_test', no_run)
    saved.write_text(saved.read_text().replace(
        record['updated'], '2000-01-01'))
    again = claims.main(argv)
    assert again['arms'] == record['arms']
    assert again['updated'] == '2000-01-01'  # no new run, the date stays
    # with work_dirs gone, the committed record still counts as finished
    shutil.rmtree(tmp_path / 'work')
    assert claims.main(argv)['runs_finished'] == 4

    # a changed budget is a different run
    started = []
    monkeypatch.setattr(runner.RowRunner, 'train_and_test',
                        lambda self, arm, seed, digest, progress:
                        started.append((arm.key, seed)) or dict(
                            record['arms'][arm.key]['runs'][str(seed)],
                            digest=digest))
    two_epochs = argv[:2] + ['2'] + argv[3:]
    claims.main(two_epochs)
    assert sorted(started) == [('a', 0), ('a', 1), ('b', 0), ('b', 1)]

    # the 2-epoch runs are now the finished ones: --dry-run lists nothing
    # of them, but every 1-epoch run; --rerun starts every run again
    capsys.readouterr()
    assert claims.main(two_epochs + ['--dry-run']) == {}
    out = capsys.readouterr().out
    assert out.count('# finished:') == 4 and 'train.py' not in out
    claims.main(argv + ['--dry-run'])
    out = capsys.readouterr().out
    assert '# finished' not in out and out.count('train.py') == 4
    started.clear()
    claims.main(two_epochs + ['--rerun'])
    assert sorted(started) == [('a', 0), ('a', 1), ('b', 0), ('b', 1)]
