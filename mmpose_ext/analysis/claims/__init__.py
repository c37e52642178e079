"""The papers' claims, re-tested side by side (``docs/claims.md``).

Split by job:

* :mod:`.rows`: the row specifications (data): arms, the seeds fixed
  before the runs, per comparison the claim, the paper's figures, the
  margin and the remaining differences between the arms;
* :mod:`.runner`: the training and testing runs of a row (``make claims
  ROW=...``, ``tools/analysis/claims.py``), resumed by config digest, with
  progress and ETA;
* :mod:`.report`: statistics and verdicts, the AP-against-epoch plot and
  the Markdown table (its prose in ``claims.md.tmpl``).
"""
from .report import judge, render_markdown, summarize_row, write_row
from .rows import ROWS, SEEDS, Arm, Comparison, Row
from .runner import config_digest, main, parse_args, run_overrides

__all__ = [
    'Arm', 'Comparison', 'ROWS', 'Row', 'SEEDS', 'config_digest', 'judge',
    'main', 'parse_args', 'render_markdown', 'run_overrides',
    'summarize_row', 'write_row'
]
