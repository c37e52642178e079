"""Count the parameters and FLOPs of pose models built from their configs.

``python tools/analysis/model_complexity.py CONFIG [CONFIG ...]
[--input-shape H W] [--cfg-options K=V ...] [--device DEV]`` builds each
config's model (random weights, nothing is downloaded) and prints its
parameters and FLOPs, counted by MMEngine's counter
(``mmengine.analysis.get_model_complexity_info``: one multiply-add of a
convolution or matrix product is one FLOP; norms and upsampling count
per element, element-wise additions, products and activations not at all)
for one image (batch 1) at the config's input size, read from its
``TopdownAffine`` / codec ``input_size`` (given there as ``(w, h)``). The
counted forward is the model's ``tensor`` mode: backbone, neck and head,
without flip test or decoding.

``--all`` measures every ``*.py`` under ``configs/`` (``--root``) except
``_base_/`` and, with ``--out docs/model_zoo.md``, writes the model zoo
table: config, model, parameters, FLOPs, input size and the published work
(paper, data set and, where certain, its figure) the config corresponds to
(see ``REFERENCES``). A config that fails to build or run is reported in
its row; the others are still measured, and the tool then exits with
status 1, naming the failures.

Example::

    python tools/analysis/model_complexity.py configs/mca_hourglass_coco.py
    python tools/analysis/model_complexity.py --all --out docs/model_zoo.md
"""
import argparse
import contextlib
import logging
import re
import sys
import time
import traceback
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple

import torch
from mmengine.analysis import get_model_complexity_info
from mmengine.config import Config, DictAction
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

from .config_summary import REPO_ROOT, config_input_size, describe_model
from .tensor_forward import TensorForward

__all__ = [
    'FLOPS_NOTE', 'REFERENCES', 'find_configs', 'find_reference',
    'forward_complexity', 'main', 'markdown_table', 'measure', 'parse_args',
    'print_result'
]

# Published work a config corresponds to: (regular expression searched in
# the config's path, reference). The first match wins, so specific patterns
# come first. A figure is given only where it is certain and measured on
# the same model; otherwise the paper and its data sets only.
REFERENCES: List[Tuple[str, str]] = [
    (r'claims/', 'none: an arm of the claims table on the synthetic data '
     'set (docs/claims.md)'),
    (r'synthetic', 'none: a small variant for the synthetic data set '
     '(tools/make_synthetic_coco.py)'),
    (r'sg-block',
     'SoftGatedBlock of Bulat et al., FG 2020 (arXiv:2002.11098) in the '
     'attention hourglass of Chu et al., CVPR 2017 (arXiv:1702.07432); no '
     'published figure for the combination'),
    (r'mca_hourglass.*mpii',
     'Chu et al., CVPR 2017 (arXiv:1702.07432), MPII: 89.9 PCKh@0.5 on '
     'the test set (8 stacks, 256×256)'),
    (r'mca_hourglass',
     'Chu et al., CVPR 2017 (arXiv:1702.07432); the paper reports MPII '
     'and LSP, not COCO'),
    (r'mca-neck',
     'attention of Chu et al., CVPR 2017 (arXiv:1702.07432) on HRNet-W32 '
     'of Sun et al., CVPR 2019 (arXiv:1902.09212); no published figure for '
     'the combination'),
    (r'cpn_hrnet',
     'head of Chen et al., CVPR 2018 (arXiv:1711.07319) on HRNet-W32 of '
     'Sun et al., CVPR 2019 (arXiv:1902.09212), COCO; no published figure '
     'for the combination'),
    (r'cpn', 'Chen et al., CVPR 2018 (arXiv:1711.07319), COCO'),
    (r'mspn', 'Li et al., 2019 (arXiv:1901.00148), COCO'),
    (r'soft[-_]gated|sg-hourglass',
     'Bulat et al., FG 2020 (arXiv:2002.11098)'),
    (r'res-hourglass',
     'Newell et al., ECCV 2016 (arXiv:1603.06937); the paper reports FLIC '
     'and MPII, not COCO'),
    (r'hrnet-w32',
     'Sun et al., CVPR 2019 (arXiv:1902.09212), COCO: HRNet-W32 at '
     '256×192 (trained with MSE, without OHKM) 74.4 AP on val2017, '
     '28.5 M parameters, 7.10 GFLOPs as the paper counts them'),
]

FLOPS_NOTE = (
    'FLOPs: MMEngine\'s counter (`mmengine.analysis.'
    'get_model_complexity_info`) for one image (batch 1) at the input size '
    'shown, through backbone, neck and head (no flip test, no decoding): '
    'one multiply-add of a convolution or matrix product counts as one '
    'FLOP; batch norms (2 per element), upsampling (1 per output element, '
    '4 for bilinear) and adaptive pooling are counted too (under 1% '
    'here); element-wise additions, products and activations are not. '
    'Published FLOPs are the papers\' own counts and may follow other '
    'conventions. Parameters: all of the model\'s parameters. See '
    '[README.md](../README.md#models) for notes on the models.')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        epilog='Configs are built with random weights: no checkpoint or '
        'pretrained weights are loaded.')
    parser.add_argument('configs', nargs='*', metavar='CONFIG',
                        help='config file(s) to measure')
    parser.add_argument('--all', action='store_true',
                        help='measure every *.py under --root except '
                        '_base_/')
    parser.add_argument('--root', type=Path, default=REPO_ROOT / 'configs',
                        metavar='DIR',
                        help='config directory walked by --all (default: '
                        'the repository\'s configs/)')
    parser.add_argument('--input-shape', type=int, nargs=2, default=None,
                        metavar=('H', 'W'),
                        help='input height and width (default: the '
                        'config\'s input size)')
    parser.add_argument('--out', type=Path, default=None, metavar='PATH',
                        help='write the results as a Markdown table to '
                        'this file, e.g. docs/model_zoo.md')
    parser.add_argument('--device', default=None, metavar='DEV',
                        help='device to build and run the models on '
                        '(default: cuda if available, else cpu)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default=None, metavar='KEY=VALUE',
                        help='override settings of every measured config, '
                        'as in tools/train.py')
    args = parser.parse_args(argv)
    if args.all and args.configs:
        parser.error('give either CONFIG files or --all, not both')
    if not args.all and not args.configs:
        parser.error('give at least one CONFIG, or --all')
    if args.input_shape and min(args.input_shape) < 1:
        parser.error('--input-shape must be positive')
    return args


def find_configs(root: Path) -> List[Path]:
    """Every ``*.py`` under ``root`` except those in a ``_base_`` folder
    (``root/_base_``, ``root/claims/_base_``, ...)."""
    return sorted(p for p in root.rglob('*.py')
                  if '_base_' not in p.relative_to(root).parts[:-1]
                  and p.name != '__init__.py')


def find_reference(config: str) -> str:
    """The entry of ``REFERENCES`` matching the config path, or ``''``."""
    for pattern, reference in REFERENCES:
        if re.search(pattern, config):
            return reference
    return ''


def default_device() -> str:
    return 'cuda' if torch.cuda.is_available() else 'cpu'


@contextlib.contextmanager
def quiet_analysis() -> Iterator[None]:
    """Silence the counter's per-operator warnings (element-wise operators
    such as ``aten::add`` are not counted by design)."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def forward_complexity(model: torch.nn.Module, input_shape: Sequence[int]
                       ) -> dict:
    """MMEngine's count of one forward of a pose estimator at batch 1.

    Backbone, neck and head (:class:`TensorForward`: no preprocessing,
    flip test or decoding), in eval mode under ``torch.no_grad()``; the
    model's training mode is restored.

    Args:
        model (nn.Module): An MMPose pose estimator.
        input_shape (Sequence[int]): ``(h, w)``.

    Returns:
        dict: MMEngine's ``get_model_complexity_info`` result (``flops``
        counts one multiply-add as one FLOP, ``params``, ``activations``).
    """
    h, w = input_shape
    training = model.training
    try:
        with torch.no_grad(), quiet_analysis():
            return get_model_complexity_info(
                TensorForward(model).eval(), input_shape=(3, h, w),
                show_table=False, show_arch=False)
    finally:
        model.train(training)


def measure(config: str,
            input_shape: Optional[Sequence[int]] = None,
            cfg_options: Optional[dict] = None,
            device: Optional[str] = None) -> dict:
    """Parameters and FLOPs of one config's model.

    Args:
        config (str): The config file.
        input_shape (Sequence[int], optional): ``(h, w)``; the config's
            input size by default.
        cfg_options (dict, optional): Overrides merged into the config.
        device (str, optional): Device; cuda if available by default.

    Returns:
        dict: ``config``, ``model`` (summary), ``input_size`` (``(h, w)``),
        ``params``, ``flops``, ``activations`` (counts) and ``seconds``.
    """
    start = time.perf_counter()
    init_default_scope('mmpose')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if input_shape is None:
        w, h = config_input_size(cfg)
    else:
        h, w = input_shape
    model = MODELS.build(cfg.model)  # random weights: nothing downloaded
    info = forward_complexity(model.to(device or default_device()), (h, w))
    return dict(config=config, model=describe_model(cfg.model),
                input_size=(h, w), params=int(info['params']),
                flops=int(info['flops']),
                activations=int(info['activations']),
                seconds=time.perf_counter() - start)


def relative(path: Path) -> str:
    """``path`` relative to the repository when inside it."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def markdown_table(rows: Sequence[dict], command: str) -> str:
    """The model zoo page for measured (and failed) rows."""
    lines = [
        '# Model zoo',
        '',
        f'_Generated by `tools/analysis/model_complexity.py --all` '
        f'(`{command}`); do not edit by hand._',
        '',
        '| config | model | params (M) | FLOPs (G) | input (h×w) | '
        'published reference |',
        '|---|---|---|---|---|---|',
    ]
    for row in rows:
        ref = row['reference'] or '—'
        if 'error' in row:
            lines.append(f'| `{row["config"]}` | failed: '
                         f'{_cell(row["error"])} | | | | {ref} |')
            continue
        h, w = row['input_size']
        lines.append(
            f'| `{row["config"]}` | {row["model"]} | '
            f'{row["params"] / 1e6:.2f} | {row["flops"] / 1e9:.2f} | '
            f'{h}×{w} | {ref} |')
    lines += ['', FLOPS_NOTE, '']
    return '\n'.join(lines)


def _cell(text: str) -> str:
    """One line of text that is safe inside a Markdown table cell."""
    return ' '.join(str(text).split()).replace('|', '\\|')[:300]


def print_result(row: dict) -> None:
    if 'error' in row:
        print(f'{row["config"]}: FAILED: {row["error"]}', flush=True)
        return
    h, w = row['input_size']
    print(f'{row["config"]}\n'
          f'  model:       {row["model"]}\n'
          f'  input:       3x{h}x{w} (C x H x W), batch 1\n'
          f'  params:      {row["params"] / 1e6:.2f} M '
          f'({row["params"]:,})\n'
          f'  FLOPs:       {row["flops"] / 1e9:.2f} G '
          f'({row["flops"]:,}; one multiply-add = one FLOP)\n'
          f'  activations: {row["activations"] / 1e6:.2f} M\n'
          f'  reference:   {row["reference"] or "-"}\n'
          f'  (measured in {row["seconds"]:.1f} s)', flush=True)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the tool; returns the exit status (1 if any config failed)."""
    args = parse_args(argv)
    # keep MMEngine's per-module messages off the console
    MMLogger.get_instance(f'model_complexity-{time.time_ns()}',
                         log_level='WARNING')
    configs = find_configs(args.root) if args.all else [
        Path(c) for c in args.configs
    ]
    if not configs:
        print(f'no configs found under {args.root}', file=sys.stderr)
        return 1
    rows = []
    for config in configs:
        name = relative(config)
        try:
            row = measure(str(config), args.input_shape, args.cfg_options,
                          args.device)
            row['config'] = name
        except Exception as err:  # report the row, go on with the others
            if not args.all and len(configs) == 1:
                raise
            traceback.print_exc(file=sys.stderr)
            row = dict(config=name, error=f'{type(err).__name__}: {err}')
        row['reference'] = find_reference(name)
        print_result(row)
        rows.append(row)

    if args.out is not None:
        command = 'python tools/analysis/model_complexity.py ' + ' '.join(
            sys.argv[1:] if argv is None else argv)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(markdown_table(rows, command.strip()),
                            encoding='utf-8')
        print(f'wrote {args.out}')
    failed = [row['config'] for row in rows if 'error' in row]
    if failed:
        print(f'{len(failed)} of {len(rows)} configs failed:\n  ' +
              '\n  '.join(failed), file=sys.stderr)
        return 1
    return 0

