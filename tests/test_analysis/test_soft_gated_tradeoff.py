"""mmpose_ext.analysis.soft_gated_tradeoff on the synthetic pair, with the
training replaced by logged runs (the real one takes ~20 min)."""
import json
from pathlib import Path

from mmpose_ext.analysis import soft_gated_tradeoff as tool


def write_run(work_dir, aps):
    vis = work_dir / '20260101_000000' / 'vis_data'
    vis.mkdir(parents=True)
    lines = [dict(epoch=1, loss=0.1, step=1)] + [
        {'coco/AP': ap, 'step': i + 1} for i, ap in enumerate(aps)]
    (vis / 'scalars.json').write_text('\n'.join(json.dumps(x)
                                                for x in lines))


def test_last_val_ap_reads_the_last_validation(tmp_path):
    assert tool.last_val_ap(tmp_path) is None
    write_run(tmp_path, [0.1, 0.4, 0.3])
    assert tool.last_val_ap(tmp_path) == 0.3


def test_table_from_logged_runs(tmp_path, monkeypatch, one_thread):
    monkeypatch.setattr(tool, 'PAIRS', tool.PAIRS[1:])  # synthetic only
    _, config, ref, _ = tool.PAIRS[0]
    write_run(tmp_path / tool.run_name(config), [0.2, 0.25])
    write_run(tmp_path / tool.run_name(ref), [0.3, 0.35])
    out = tmp_path / 'table.md'
    table = tool.main(['--skip-train', '--work-dir', str(tmp_path),
                       '--threads', '1', '--windows', '1', '--out',
                       str(out)])
    assert out.read_text().strip() == table
    rows = [r.split('|')[1:-1] for r in table.splitlines()[2:]]
    assert [Path(ref).name in rows[0][1], Path(config).name in rows[1][1]
            ] == [True, True]
    assert [r[-1].strip() for r in rows] == ['0.350', '0.250']
    for row in rows:
        params, flops, train, test = (float(c.split()[0]) for c in row[2:6])
        assert params > 0.1 and flops > 0.1 and train > 0 and test > 0
