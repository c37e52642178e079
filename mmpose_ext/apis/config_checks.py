"""Check a config before anything is built, with errors that name the key.

MMEngine builds components lazily: a misspelt transform or metric name, a
missing annotation file or a head predicting the wrong number of keypoints
surfaces minutes (or, for the evaluator, an epoch) into a run, as a
``KeyError`` from a registry, an ``AssertionError`` from xtcocotools or a
shape mismatch deep inside a loss. :func:`check_config` looks at the merged
config first and raises one error that names the config key, the value and
what was expected:

* :func:`check_component_types` - every ``type='Name'`` is registered in a
  registry of MMEngine, MMPose or mmpose_ext (:class:`UnknownComponentError`,
  a ``KeyError``, listing the close names, from :mod:`difflib`);
* :func:`check_data_paths` - annotation files, image directories and
  ``bbox_file``/evaluator annotation files exist and are not empty
  (``FileNotFoundError`` / ``ValueError``);
* :func:`check_keypoint_count` - ``model.head.out_channels`` equals the
  dataset's ``num_keypoints`` (``ValueError``);
* :func:`check_target_layout` - a ``MultiLevelHeatmap`` target encoder
  packs its levels the way the head reads them (``ValueError``);
* :func:`~mmpose_ext.engine.size_check.check_sizes` - the crops, the
  codecs and the model's output agree on the input and heatmap sizes
  (:class:`~mmpose_ext.engine.size_check.SizeMismatchError`).

A data set whose annotation file lists no instances is only found when it
is built: :func:`explain_empty_dataset` turns MMEngine's ``need at least one
array to concatenate`` into an error naming the file.
"""
import contextlib
import difflib
import json
import os
import os.path as osp
from copy import deepcopy
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from mmengine.config import Config
from mmengine.registry import Registry

from ..engine.size_check import check_sizes

__all__ = [
    'UnknownComponentError', 'check_component_types', 'check_config',
    'check_data_paths', 'check_keypoint_count', 'check_target_layout',
    'dataset_configs',
    'explain_empty_dataset'
]

SPLITS = ('train', 'val', 'test')
# 2D estimators whose head has one output channel per keypoint (3D pose
# lifters' ``out_channels`` counts coordinates instead).
_KEYPOINT_MODELS = ('TopdownPoseEstimator', 'BottomupPoseEstimator',
                    'mmpose.TopdownPoseEstimator')
# Components whose nested ``type`` keys name another library's classes.
_FOREIGN_CHILDREN = frozenset({'Albumentation', 'mmdet.Albu', 'Albu'})


class UnknownComponentError(KeyError):
    """A config names a component no registry holds."""

    def __str__(self) -> str:  # KeyError would show the repr
        return str(self.args[0])


def _walk(node: Any, key: str) -> Iterator[Tuple[str, dict]]:
    """Yield ``(config key, dict)`` for every dict that has a ``type``."""
    if isinstance(node, dict):
        if isinstance(node.get('type'), str):
            yield key, node
            if node['type'] in _FOREIGN_CHILDREN:
                return
        for name, value in node.items():
            yield from _walk(value, f'{key}.{name}' if key else str(name))
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _walk(value, f'{key}[{i}]')


def _all_registries() -> List[Registry]:
    """MMEngine's root registries and every registry derived from them,
    with every MMPose and mmpose_ext module imported."""
    import mmengine.registry as mmengine_registry
    import mmpose.registry as mmpose_registry
    from mmpose.utils import register_all_modules

    import mmpose_ext  # noqa: F401  (registers the package's components)

    register_all_modules(init_default_scope=False)
    found: List[Registry] = []
    stack = [r for r in vars(mmengine_registry).values()
             if isinstance(r, Registry) and r.parent is None]
    stack += [r for r in vars(mmpose_registry).values()
              if isinstance(r, Registry) and r.parent is None]
    while stack:
        registry = stack.pop()
        if registry not in found:
            found.append(registry)
            stack.extend(registry.children.values())
    return found


def _registered_names(registries: Sequence[Registry]) -> Dict[str, set]:
    """``{scope: {name: {registry names}}}``."""
    names: Dict[str, Dict[str, set]] = {}
    for registry in registries:
        scoped = names.setdefault(registry.scope, {})
        for name in registry.module_dict:
            scoped.setdefault(name, set()).add(registry.name)
    return names


def check_component_types(cfg: Config) -> None:
    """Check that every ``type`` name in ``cfg`` is registered somewhere.

    A name counts as known if any registry of MMEngine, MMPose, mmpose_ext
    (or another imported OpenMMLab package) holds it; ``mmpose.Name`` and
    ``mmengine.Name`` are looked up in that scope. Other dotted names
    (``mmdet.Name``, whose registries MMEngine imports lazily, or import
    paths) are left to MMEngine. Names used in
    the wrong registry still fail at build time, with MMEngine's message.
    Configs whose ``default_scope`` is not MMPose are not checked.

    Args:
        cfg (Config): The merged config.

    Raises:
        UnknownComponentError: a ``KeyError`` naming each unknown name,
            its config key and the close names the registries hold (with
            the registry of each).
    """
    if cfg.get('default_scope', 'mmpose') not in ('mmpose', None):
        return
    names = _registered_names(_all_registries())
    known = {n: regs for scoped in names.values() for n, regs in
             scoped.items()}
    problems, seen = [], set()
    for key, node in _walk(cfg.to_dict(), ''):
        name = node['type']
        if name in known or name in seen:
            continue
        scope, _, short = name.partition('.')
        if short:
            if scope not in ('mmpose', 'mmengine'):
                continue  # another package's scope, or an import path
            if short in names[scope] or short in names.get('mmengine', {}):
                continue
        seen.add(name)
        lowered = {n.lower(): n for n in known}
        close = difflib.get_close_matches(name.lower(), list(lowered), n=5,
                                          cutoff=0.6)
        hint = ', '.join(
            f"{lowered[c]} ({'/'.join(sorted(known[lowered[c]]))})"
            for c in close) or 'none'
        problems.append(f'{key}.type={name!r} is not registered in any '
                        f'MMEngine/MMPose/mmpose_ext registry; close names: '
                        f'{hint}')
    if problems:
        raise UnknownComponentError(
            'Unknown component name(s) in the config:\n  ' +
            '\n  '.join(problems) +
            "\nCheck the spelling, or add the package that registers it to "
            "custom_imports = dict(imports=[...]).")


def _empty_dataset_message(name: str, ann_file: Any) -> str:
    return (f'{name} built from ann_file={ann_file!r} has no samples: the '
            'annotation file lists no (usable) instances. Check the file '
            'and the data_mode/filter settings.')


def _ann_file(dataset: dict) -> Any:
    ann_file = dataset.get('ann_file')
    if dataset.get('data_root') and ann_file and not osp.isabs(ann_file):
        ann_file = osp.join(dataset['data_root'], ann_file)
    return ann_file


@contextlib.contextmanager
def explain_empty_dataset(dataloader_cfg: Any) -> Iterator[None]:
    """Name the annotation file when building a dataset fails on it.

    MMEngine serializes a dataset's annotations with ``np.concatenate``,
    which fails on an empty list with ``ValueError: need at least one
    array to concatenate``; a truncated or malformed JSON file fails in
    ``json.load`` with ``JSONDecodeError: Unterminated string ... (char
    4999)``. Both become errors naming the file.

    Args:
        dataloader_cfg (dict | DataLoader): What ``build_dataloader`` got.
    """
    try:
        yield
    except ValueError as err:
        dataset = dataloader_cfg.get('dataset') if isinstance(
            dataloader_cfg, dict) else None
        if not isinstance(dataset, dict):
            raise
        if isinstance(err, json.JSONDecodeError):
            raise ValueError(
                f'annotation file {_ann_file(dataset)} of '
                f'{dataset.get("type")} is not valid JSON ({err.msg} at '
                f'line {err.lineno}, column {err.colno}): a truncated '
                'download or copy? A COCO-format keypoint file was '
                'expected.') from err
        if 'need at least one array to concatenate' not in str(err):
            raise
        raise ValueError(
            _empty_dataset_message(str(dataset.get('type')),
                                   _ann_file(dataset))) from err


def _dataset_leaves(node: Any, key: str) -> Iterator[Tuple[str, dict]]:
    """Concrete dataset configs inside wrappers (Repeat/Concat/Combined)."""
    if not isinstance(node, dict):
        return
    if isinstance(node.get('datasets'), (list, tuple)):
        for i, child in enumerate(node['datasets']):
            yield from _dataset_leaves(child, f'{key}.datasets[{i}]')
    elif isinstance(node.get('dataset'), dict):
        yield from _dataset_leaves(node['dataset'], f'{key}.dataset')
    else:
        yield key, node


def dataset_configs(cfg: Config,
                    splits: Sequence[str] = SPLITS
                    ) -> Iterator[Tuple[str, dict]]:
    """``(config key, dataset config)`` of each split's dataloader.

    A split is skipped when its dataloader is missing or its loop is off
    (``val_cfg=None``, as ``--no-validate`` sets it).

    Args:
        cfg (Config): The merged config.
        splits (Sequence[str]): Any of ``'train'``, ``'val'``, ``'test'``.

    Yields:
        tuple[str, dict]: e.g. ``('train_dataloader.dataset', {...})``.
    """
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not isinstance(loader, dict) or cfg.get(f'{split}_cfg') is None:
            continue
        if isinstance(loader.get('dataset'), dict):
            yield f'{split}_dataloader.dataset', loader['dataset']


def _is_remote(path: str) -> bool:
    return '://' in path


def _join(root: Optional[str], path: str) -> str:
    return path if not root or osp.isabs(path) or _is_remote(
        path) else osp.join(root, path)


def _check_file(path: str, key: str) -> None:
    if _is_remote(path):
        return
    if not osp.exists(path):
        raise FileNotFoundError(
            f'{key}: {path!r} does not exist. Check the path (and '
            'data_root), or generate/download the data first.')
    if not osp.isfile(path):
        raise ValueError(f'{key}: {path!r} is a directory, expected a file.')
    if osp.getsize(path) == 0:
        raise ValueError(f'{key}: {path!r} is empty (0 bytes); the download '
                         'or generation was probably interrupted.')


def _check_dir(path: str, key: str) -> None:
    if _is_remote(path):
        return
    if not osp.exists(path):
        raise FileNotFoundError(
            f'{key}: image directory {path!r} does not exist. Check the path'
            ' (and data_root), or generate/download the data first.')
    if not osp.isdir(path):
        raise ValueError(f'{key}: {path!r} is a file, expected the image '
                         'directory.')
    with os.scandir(path) as entries:
        if next(entries, None) is None:
            raise ValueError(f'{key}: image directory {path!r} is empty.')


def check_data_paths(cfg: Config, splits: Sequence[str] = SPLITS) -> None:
    """Check the annotation files and image directories the run reads.

    For each dataset (inside dataset wrappers too) ``ann_file``,
    ``data_prefix.img`` (both joined to ``data_root`` as MMEngine joins
    them) and ``bbox_file``, and each evaluator's ``ann_file``, must exist
    and be non-empty. Remote paths (``s3://``...) are not checked.

    Args:
        cfg (Config): The merged config.
        splits (Sequence[str]): Dataloaders the run will use. Defaults to
            all three.

    Raises:
        FileNotFoundError: a path does not exist (names path and key).
        ValueError: a file or directory is empty or of the wrong kind.
    """
    for loader_key, dataset in dataset_configs(cfg, splits):
        for key, leaf in _dataset_leaves(dataset, loader_key):
            root = leaf.get('data_root')
            if root and not _is_remote(root) and not osp.isdir(root):
                raise FileNotFoundError(
                    f'{key}.data_root: {root!r} does not exist.')
            if leaf.get('ann_file'):
                _check_file(_join(root, leaf['ann_file']), f'{key}.ann_file')
            prefix = (leaf.get('data_prefix') or {}).get('img')
            if prefix is not None and (prefix or root):
                _check_dir(_join(root, prefix), f'{key}.data_prefix.img')
            if leaf.get('bbox_file'):
                _check_file(leaf['bbox_file'], f'{key}.bbox_file')
    for split in splits:
        if not any(True for _ in dataset_configs(cfg, [split])):
            continue
        evaluators = cfg.get(f'{split}_evaluator')
        if isinstance(evaluators, dict):
            evaluators = [evaluators]
        for i, evaluator in enumerate(evaluators or []):
            if isinstance(evaluator, dict) and evaluator.get('ann_file'):
                key = f'{split}_evaluator' + (
                    f'[{i}]' if len(evaluators) > 1 else '')
                _check_file(evaluator['ann_file'], f'{key}.ann_file')


def _dataset_keypoints(leaf: dict) -> Tuple[Optional[int], str]:
    """``(num_keypoints, where it comes from)`` of a dataset config."""
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    from mmpose.registry import DATASETS, TRANSFORMS

    for transform in leaf.get('pipeline') or []:
        if isinstance(transform, dict) and transform.get('type') in (
                'KeypointConverter', TRANSFORMS.get('KeypointConverter')):
            return transform['num_keypoints'], 'its KeypointConverter'
    metainfo = leaf.get('metainfo')
    source = 'metainfo'
    if metainfo is None:
        dataset_cls = DATASETS.get(leaf.get('type'))
        metainfo = getattr(dataset_cls, 'METAINFO', None)
        source = f'{leaf.get("type")}.METAINFO'
    if not metainfo:
        return None, source
    metainfo = deepcopy(dict(metainfo))
    if 'from_file' in metainfo:
        source += f" from {metainfo['from_file']!r}"
    try:
        parsed = parse_pose_metainfo(metainfo)
    except Exception:  # noqa: BLE001 - not a pose metainfo: nothing to check
        return None, source
    return parsed.get('num_keypoints'), source


def check_keypoint_count(cfg: Config, splits: Sequence[str] = SPLITS) -> None:
    """Check that the head predicts as many keypoints as the data has.

    Only MMPose's 2D estimators (``TopdownPoseEstimator``,
    ``BottomupPoseEstimator``) are checked. The head's count is
    ``model.head.out_channels`` (``num_keypoints`` for heads that name it
    so; a ``UDPHeatmap`` decoder with ``heatmap_type='combined'`` has three
    channels per keypoint); the dataset's is ``num_keypoints`` of its
    metainfo (the ``metainfo`` key, else the dataset class's
    ``METAINFO``), or of a ``KeypointConverter`` in its pipeline. A
    ``CombinedDataset`` with its own ``metainfo`` is checked against that.
    Validation and test data are not checked when
    ``model.test_cfg.output_keypoint_indices`` selects the keypoints to
    evaluate (models trained on merged keypoint sets).

    Args:
        cfg (Config): The merged config.
        splits (Sequence[str]): Dataloaders the run will use.

    Raises:
        ValueError: naming both numbers and both config keys.
    """
    model = cfg.get('model') or {}
    head = model.get('head')
    if model.get('type') not in _KEYPOINT_MODELS or not isinstance(
            head, dict):
        return
    head_key = next((k for k in ('out_channels', 'num_keypoints')
                     if isinstance(head.get(k), int)), None)
    if head_key is None:
        return
    channels = head[head_key]
    decoder = head.get('decoder') or {}
    per_keypoint = 3 if (decoder.get('type') == 'UDPHeatmap' and decoder.get(
        'heatmap_type') == 'combined') else 1
    if (model.get('test_cfg') or {}).get('output_keypoint_indices'):
        splits = [s for s in splits if s == 'train']
    for loader_key, dataset in dataset_configs(cfg, splits):
        if dataset.get('metainfo') and 'datasets' in dataset:
            leaves = [(loader_key, dataset)]
        else:
            leaves = list(_dataset_leaves(dataset, loader_key))
        for key, leaf in leaves:
            count, source = _dataset_keypoints(leaf)
            if count is not None and count * per_keypoint != channels:
                unit = ('one heatmap' if per_keypoint == 1 else
                        f'{per_keypoint} channels (UDP combined)')
                raise ValueError(
                    f'model.head.{head_key}={channels} but {key} '
                    f'({leaf.get("type")}, {source}) has num_keypoints='
                    f'{count}: the head must predict {unit} per dataset '
                    f'keypoint. Set model.head.{head_key}='
                    f'{count * per_keypoint} (and the codec/flip settings '
                    'that depend on it), or use a dataset with '
                    f'{channels // per_keypoint} keypoints.')


# MMPose heads that read one ``PixelData`` per target level
# (``MultilevelPixelData``) and ``[L, N, K]`` keypoint weights
_MULTILEVEL_HEADS = ('MSPNHead', 'mmpose.MSPNHead')


def check_target_layout(cfg: Config, splits: Sequence[str] = SPLITS) -> None:
    """Check that ``MultiLevelHeatmap`` targets come in the head's layout.

    MMPose's ``MSPNHead`` (RSN and MSPN configs) reads MMPose's
    multi-level layout (``MultiLevelHeatmap(multilevel=True)``); every
    other head reads stacked levels (the default). Without this check the
    wrong layout fails in the first training step, deep inside the head
    (``Unsupported type <class 'int'> for slicing PixelData``).

    Args:
        cfg (Config): The merged config.
        splits (Sequence[str]): Dataloaders the run will use; only the
            ``'train'`` pipeline makes targets.

    Raises:
        ValueError: naming the transform's config key and the fix.
    """
    head = (cfg.get('model') or {}).get('head')
    if 'train' not in splits or not isinstance(head, dict):
        return
    needs = head.get('type') in _MULTILEVEL_HEADS
    for loader_key, dataset in dataset_configs(cfg, ['train']):
        for key, leaf in _dataset_leaves(dataset, loader_key):
            for i, transform in enumerate(leaf.get('pipeline') or []):
                if not (isinstance(transform, dict)
                        and transform.get('type') == 'GenerateTarget'):
                    continue
                encoder = transform.get('encoder')
                if not (isinstance(encoder, dict) and encoder.get('type')
                        in ('MultiLevelHeatmap',
                            'mmpose_ext.MultiLevelHeatmap')):
                    continue
                has = bool(encoder.get('multilevel', False))
                if has != needs:
                    reads = ("MMPose's multi-level layout" if needs else
                             'stacked levels')
                    raise ValueError(
                        f'{key}.pipeline[{i}].encoder is MultiLevelHeatmap '
                        f'with multilevel={has} but model.head '
                        f'({head.get("type")}) reads {reads}: set '
                        f'multilevel={needs} in the encoder.')


def check_config(cfg: Config, splits: Sequence[str] = SPLITS) -> None:
    """Run every check of this module on ``cfg``.

    Args:
        cfg (Config): The merged config (``custom_imports`` done).
        splits (Sequence[str]): Dataloaders the run will use, e.g.
            ``('train', 'val')`` for training, ``('test', )`` for testing.
    """
    check_component_types(cfg)
    check_keypoint_count(cfg, splits)
    check_target_layout(cfg, splits)
    check_sizes(cfg, splits)
    check_data_paths(cfg, splits)
