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

``--all --metafiles`` also writes the OpenMMLab model index from the
measured rows: ``model-index.yml`` beside ``--root`` (the checkout's root
by default) importing one ``<family>/metafile.yml`` per family folder of
``--root``, in MMPose's format (``Collections`` and ``Models`` with
``Architecture``, ``Training Data``, ``Parameters``, ``FLOPs`` and, where
the package measured them, synthetic-data ``Results``; see
``COLLECTIONS``, ``MODEL_COLLECTIONS`` and ``RESULTS``). It lists the
model configs of the family folders (:func:`model_configs`): not
``_base_/``, not the claims arms of ``claims/``, not the aliases directly
in ``--root``. MMEngine reads it to resolve ``mmpose_ext::`` bases and
OpenMMLab's ``mim search`` to list the models.

Example::

    python tools/analysis/model_complexity.py configs/mca_hourglass_coco.py
    python tools/analysis/model_complexity.py --all --out docs/model_zoo.md
    python tools/analysis/model_complexity.py --all --metafiles
"""
import argparse
import contextlib
import logging
import re
import sys
import time
import traceback
from pathlib import Path
from typing import Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import torch
import yaml
from mmengine.analysis import get_model_complexity_info
from mmengine.config import Config, DictAction
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

from ..package_files import checkout_root, configs_dir, find_configs
from .config_summary import config_input_size, describe_model
from .tensor_forward import TensorForward

__all__ = [
    'COLLECTIONS', 'FLOPS_NOTE', 'MODEL_COLLECTIONS', 'REFERENCES', 'RESULTS',
    'SYNTHETIC_DATASET', 'Collection', 'MeasuredResult', 'find_collection',
    'find_reference', 'forward_complexity', 'main', 'markdown_table',
    'measure', 'model_configs', 'model_index', 'model_metadata', 'parse_args',
    'print_result', 'write_model_index'
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


class Collection(NamedTuple):
    """A collection of the model index: the published method its models
    implement.

    Args:
        title (str): The paper's title.
        url (str): The paper.
        readme (str): The package's page on the method, relative to the
            checkout.
        architecture (tuple[str]): The method's names for the
            ``Architecture`` of its models, before their registry
            components (:func:`model_metadata`).
    """
    title: str
    url: str
    readme: str
    architecture: Tuple[str, ...]


#: The collections of the model index, by name.
COLLECTIONS: Dict[str, Collection] = {
    'CPN': Collection(
        'Cascaded Pyramid Network for Multi-Person Pose Estimation',
        'https://arxiv.org/abs/1711.07319', 'docs/cpn.md', ('CPN', )),
    'Hourglass': Collection(
        'Stacked Hourglass Networks for Human Pose Estimation',
        'https://arxiv.org/abs/1603.06937', 'docs/mca_hourglass.md',
        ('Hourglass', )),
    'HRNet': Collection(
        'Deep High-Resolution Representation Learning for Human Pose '
        'Estimation', 'https://arxiv.org/abs/1902.09212', 'docs/hrnet.md',
        ('HRNet', )),
    'MCA Hourglass': Collection(
        'Multi-Context Attention for Human Pose Estimation',
        'https://arxiv.org/abs/1702.07432', 'docs/mca_hourglass.md',
        ('Hourglass', 'Multi-Context Attention')),
    'MSPN': Collection(
        'Rethinking on Multi-Stage Networks for Human Pose Estimation',
        'https://arxiv.org/abs/1901.00148', 'docs/mspn.md', ('MSPN', )),
    'Soft-Gated Hourglass': Collection(
        'Toward fast and accurate human pose estimation via soft-gated skip '
        'connections', 'https://arxiv.org/abs/2002.11098',
        'docs/soft_gated.md', ('Hourglass', 'Soft-Gated Skip Connections')),
    # MMPose's own collection of the model (its resnet_coco.yml)
    'SimpleBaseline2D': Collection(
        'Simple Baselines for Human Pose Estimation and Tracking',
        'http://openaccess.thecvf.com/content_ECCV_2018/html/'
        'Bin_Xiao_Simple_Baselines_for_ECCV_2018_paper.html',
        'README.md#quick-start', ('SimpleBaseline2D', )),
}

# The collection of each model config: (regular expression searched in the
# config's path relative to configs/, collection name); the first match
# wins. A family folder is one collection unless it mixes methods.
MODEL_COLLECTIONS: List[Tuple[str, str]] = [
    (r'^cpn/', 'CPN'),
    (r'^hourglass/', 'Hourglass'),
    (r'^hrnet/', 'HRNet'),
    (r'^mca_hourglass/', 'MCA Hourglass'),
    (r'^mspn/', 'MSPN'),
    (r'^soft_gated/', 'Soft-Gated Hourglass'),
    (r'^synthetic/mca_hourglass', 'MCA Hourglass'),
    (r'^synthetic/td-hm_res', 'SimpleBaseline2D'),
]


class MeasuredResult(NamedTuple):
    """A result the package measured for a model config.

    Args:
        metrics (dict): CocoMetric's figures, named as in MMPose's
            metafiles (``AP``, ``AP@0.5``, ``AP@0.75``, ``AR``).
        command (str): The command that measured them.
        source (str): Where the run is described.
    """
    metrics: Dict[str, float]
    command: str
    source: str


#: Where the synthetic data set's results come from.
SYNTHETIC_DATASET = 'synthetic COCO (tools/make_synthetic_coco.py)'
#: Results the package measured, by config path relative to configs/: all
#: on the synthetic data set's val split (200 images, flip test), which
#: is also its test split. None on COCO or MPII.
RESULTS: Dict[str, MeasuredResult] = {
    'cpn/cpn_res18_synthetic-coco-128x96.py': MeasuredResult(
        {'AP': 0.628, 'AP@0.5': 0.969, 'AP@0.75': 0.713},
        '.venv/bin/python tools/train.py '
        'configs/cpn/cpn_res18_synthetic-coco-128x96.py --work-dir '
        'work_dirs/cpn_synthetic', 'README.md, Models (epoch 10 of 10)'),
    'synthetic/mca_hourglass_amp-lightaug_synthetic-coco-128x96.py':
    MeasuredResult({'AP': 0.713, 'AP@0.5': 0.968, 'AP@0.75': 0.826,
                    'AR': 0.750}, 'make demo',
                   'README.md, Quick start (seed 0)'),
    'synthetic/mca_hourglass_synthetic-coco-128x96.py': MeasuredResult(
        {'AP': 0.637}, 'make demo '
        'DEMO_CONFIG=configs/synthetic/mca_hourglass_synthetic-coco-128x96.py',
        'README.md, Quick start'),
    'synthetic/td-hm_res18_synthetic-coco-128x96.py': MeasuredResult(
        {'AP': 0.456}, 'make demo '
        'DEMO_CONFIG=configs/synthetic/td-hm_res18_synthetic-coco-128x96.py',
        'README.md, Quick start'),
}

#: Names of the training sets in the index, by dataset type.
DATASET_NAMES = {'CocoDataset': 'COCO', 'MpiiDataset': 'MPII'}


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
    parser.add_argument('--root', type=Path, default=None, metavar='DIR',
                        help='config directory walked by --all (default: '
                        'the package\'s configs/)')
    parser.add_argument('--input-shape', type=int, nargs=2, default=None,
                        metavar=('H', 'W'),
                        help='input height and width (default: the '
                        'config\'s input size)')
    parser.add_argument('--out', type=Path, default=None, metavar='PATH',
                        help='write the results as a Markdown table to '
                        'this file, e.g. docs/model_zoo.md')
    parser.add_argument('--metafiles', action='store_true',
                        help='with --all: write the OpenMMLab model index, '
                        'model-index.yml beside --root and '
                        '<family>/metafile.yml in it')
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
    if args.metafiles and not args.all:
        parser.error('--metafiles needs --all (the index lists every model)')
    if args.input_shape and min(args.input_shape) < 1:
        parser.error('--input-shape must be positive')
    return args


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
    """``path`` relative to the checkout when inside it."""
    path = Path(path).resolve()
    root = checkout_root()
    try:
        return str(path.relative_to(root)) if root else str(path)
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


def model_configs(root: Optional[Path] = None) -> List[Path]:
    """The model configs the model index lists, sorted.

    Every config in a family folder of ``root`` (``cpn/``, ``hrnet/``,
    ...), but not the ``_base_`` folders, not the claims arms
    (``claims/``: arms of an experiment table, not models) and not the
    files directly in ``root``, which are aliases of family configs
    (``mca_hourglass_coco.py``).

    Args:
        root (Path, optional): The configs folder. Defaults to the
            package's (:func:`mmpose_ext.package_files.configs_dir`).
    """
    root = Path(root) if root is not None else configs_dir()
    return [p for p in find_configs(root, include_claims=False)
            if p.parent != root]


def find_collection(config: str) -> str:
    """The collection of a model config (``MODEL_COLLECTIONS``).

    Args:
        config (str): The config's path relative to ``configs/``, e.g.
            ``cpn/cpn_res50_8xb64-210e_coco-256x192.py``.

    Raises:
        ValueError: if no entry matches the config.
    """
    for pattern, name in MODEL_COLLECTIONS:
        if re.search(pattern, config):
            return name
    raise ValueError(
        f'{config}: no entry of MODEL_COLLECTIONS matches it; add its '
        'family to MODEL_COLLECTIONS (and COLLECTIONS)')


def model_metadata(cfg: Config, collection: str) -> dict:
    """The ``Architecture`` and ``Training Data`` of a model config.

    Args:
        cfg (Config): The model config.
        collection (str): Its collection (a key of ``COLLECTIONS``).

    Returns:
        dict: ``Architecture``: the collection's names, then the registry
        types of the model's backbone (and of its ``block`` and
        ``attention`` where it sets them), neck and head, each once;
        ``Training Data``: the training set (``COCO``, ``MPII``), as
        ``synthetic COCO`` when its data root is the synthetic set's.
    """
    model = cfg.model
    backbone = model.get('backbone') or {}
    parts = [backbone, backbone.get('block'), backbone.get('attention'),
             model.get('neck'), model.get('head')]
    architecture = list(COLLECTIONS[collection].architecture)
    for part in parts:
        kind = part.get('type') if isinstance(part, dict) else None
        if kind and kind not in architecture:
            architecture.append(kind)
    dataset = cfg.train_dataloader.dataset
    data = DATASET_NAMES.get(dataset.type, dataset.type)
    if 'synthetic' in str(dataset.get('data_root', '')):
        data = f'synthetic {data}'
    return {'Architecture': architecture, 'Training Data': data}


INDEX_HEADER = (
    '# Generated by `python tools/analysis/model_complexity.py --all '
    '--metafiles`\n'
    '# (mmpose_ext.analysis.complexity); do not edit by hand.\n')
METAFILE_NOTE = (
    '# Parameters: all of the model\'s parameters. FLOPs: MMEngine\'s '
    'counter for one\n'
    '# image at the config\'s input size, one multiply-add counted as one '
    'FLOP\n'
    '# (docs/model_zoo.md). No trained weights are released.\n')
RESULTS_NOTE = (
    '# Results: measured by the package on the synthetic data set\'s val '
    'split\n'
    '# (200 images, flip test), with:\n')


def _yaml(data: dict) -> str:
    """``data`` as block-style YAML, keys in their order, no line wrap."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True,
                          width=1000)


def model_index(measured: Dict[Path, dict],
                root: Optional[Path] = None) -> Dict[Path, str]:
    """The OpenMMLab model index of the model configs under ``root``.

    One metafile per family folder of :func:`model_configs`, in MMPose's
    format, and ``model-index.yml`` importing them all.

    Args:
        measured (dict[Path, dict]): A :func:`measure` row (``params``,
            ``flops``) of every model config, by its path as
            :func:`model_configs` gives it.
        root (Path, optional): The configs folder. Defaults to the
            package's.

    Returns:
        dict[Path, str]: The text of each file, by its path relative to
        the folder holding ``root`` (``model-index.yml``,
        ``configs/cpn/metafile.yml``, ...).

    Raises:
        ValueError: naming the model configs without a measured row, or a
            model config no entry of ``MODEL_COLLECTIONS`` matches.
    """
    root = Path(root) if root is not None else configs_dir()
    folder = root.resolve().name  # configs/, also behind .mim's link
    configs = model_configs(root)
    missing = [relative(p) for p in configs
               if 'params' not in measured.get(p, {})]
    if missing:
        raise ValueError('no parameters and FLOPs measured for: ' +
                         ', '.join(missing))
    families: Dict[str, List[dict]] = {}
    commands: Dict[str, List[str]] = {}  # of the results, per family
    for path in configs:
        name = path.relative_to(root).as_posix()
        collection = find_collection(name)
        model = {
            'Name': path.stem,
            'In Collection': collection,
            'Config': f'{folder}/{name}',
            'Metadata': dict(
                model_metadata(Config.fromfile(path), collection),
                Parameters=measured[path]['params'],
                FLOPs=measured[path]['flops']),
        }
        family = name.split('/')[0]
        if name in RESULTS:
            result = RESULTS[name]
            model['Results'] = [{
                'Task': 'Body 2D Keypoint',
                'Dataset': SYNTHETIC_DATASET,
                'Metrics': dict(result.metrics),
            }]
            commands.setdefault(family, []).append(
                f'#   {path.stem}: `{result.command}` ({result.source})\n')
        families.setdefault(family, []).append(model)

    files = {}
    for family, models in families.items():
        names = list(dict.fromkeys(m['In Collection'] for m in models))
        collections = [{
            'Name': n,
            'Paper': {'Title': COLLECTIONS[n].title,
                      'URL': COLLECTIONS[n].url},
            'README': COLLECTIONS[n].readme,
        } for n in names]
        header = INDEX_HEADER + METAFILE_NOTE
        if family in commands:
            header += RESULTS_NOTE + ''.join(commands[family])
        files[Path(folder, family, 'metafile.yml')] = header + _yaml(
            {'Collections': collections, 'Models': models})
    files[Path('model-index.yml')] = INDEX_HEADER + _yaml(
        {'Import': [p.as_posix() for p in files]})
    return files


def write_model_index(measured: Dict[Path, dict],
                      root: Optional[Path] = None) -> List[Path]:
    """Write :func:`model_index`'s files into the folder holding ``root``
    (the checkout's root for the package's ``configs/``).

    Args:
        measured (dict[Path, dict]): As for :func:`model_index`.
        root (Path, optional): The configs folder. Defaults to the
            package's.

    Returns:
        list[Path]: The files written.
    """
    root = Path(root) if root is not None else configs_dir()
    base = root.resolve().parent
    written = []
    for name, text in model_index(measured, root).items():
        (base / name).write_text(text, encoding='utf-8')
        written.append(base / name)
    return written


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the tool; returns the exit status (1 if any config failed)."""
    args = parse_args(argv)
    # keep MMEngine's per-module messages off the console
    MMLogger.get_instance(f'model_complexity-{time.time_ns()}',
                         log_level='WARNING')
    root = args.root if args.root is not None else configs_dir()
    configs = find_configs(root) if args.all else [
        Path(c) for c in args.configs
    ]
    if not configs:
        print(f'no configs found under {root}', file=sys.stderr)
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
    if args.metafiles:
        try:
            written = write_model_index(dict(zip(configs, rows)), root)
        except ValueError as err:
            print(f'model index not written: {err}', file=sys.stderr)
            return 1
        print('wrote ' + ', '.join(relative(p) for p in written))
    failed = [row['config'] for row in rows if 'error' in row]
    if failed:
        print(f'{len(failed)} of {len(rows)} configs failed:\n  ' +
              '\n  '.join(failed), file=sys.stderr)
        return 1
    return 0

