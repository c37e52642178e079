"""The ``mmpose_ext`` registry scope: empty children of MMPose's registries.

The package registers every component into MMPose's own registries
(``mmpose.registry``), so MMPose configs find them by name. This module
exists for configs loaded by scope (``_base_ = ['mmpose_ext::...']``):
MMEngine marks every component of such a base with ``_scope_='mmpose_ext'``
and, when building it, imports ``mmpose_ext.registry`` and looks for a
registry of that scope. Each registry here has no entries of its own and
MMPose's registry of the same kind as its parent, so a lookup in the
``mmpose_ext`` scope finds exactly what the ``mmpose`` scope finds: MMPose's,
MMEngine's and this package's components.
"""
from mmengine.registry import Registry
from mmpose import registry as mmpose_registry

#: The registries of MMPose's scope that get an ``mmpose_ext`` child.
REGISTRY_NAMES = (
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'DATASETS',
    'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS',
    'WEIGHT_INITIALIZERS', 'BATCH_AUGMENTS', 'OPTIMIZERS', 'OPTIM_WRAPPERS',
    'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'METRICS',
    'EVALUATORS', 'TASK_UTILS', 'VISUALIZERS', 'VISBACKENDS',
    'LOG_PROCESSORS', 'KEYPOINT_CODECS', 'INFERENCERS')

__all__ = ['REGISTRY_NAMES', *REGISTRY_NAMES]


def _child(name: str) -> Registry:
    parent = getattr(mmpose_registry, name)
    existing = parent.children.get('mmpose_ext')
    return existing if existing is not None else Registry(
        parent.name, parent=parent, scope='mmpose_ext',
        locations=['mmpose_ext'])


RUNNERS = _child('RUNNERS')
RUNNER_CONSTRUCTORS = _child('RUNNER_CONSTRUCTORS')
LOOPS = _child('LOOPS')
HOOKS = _child('HOOKS')
DATASETS = _child('DATASETS')
DATA_SAMPLERS = _child('DATA_SAMPLERS')
TRANSFORMS = _child('TRANSFORMS')
MODELS = _child('MODELS')
MODEL_WRAPPERS = _child('MODEL_WRAPPERS')
WEIGHT_INITIALIZERS = _child('WEIGHT_INITIALIZERS')
BATCH_AUGMENTS = _child('BATCH_AUGMENTS')
OPTIMIZERS = _child('OPTIMIZERS')
OPTIM_WRAPPERS = _child('OPTIM_WRAPPERS')
OPTIM_WRAPPER_CONSTRUCTORS = _child('OPTIM_WRAPPER_CONSTRUCTORS')
PARAM_SCHEDULERS = _child('PARAM_SCHEDULERS')
METRICS = _child('METRICS')
EVALUATORS = _child('EVALUATORS')
TASK_UTILS = _child('TASK_UTILS')
VISUALIZERS = _child('VISUALIZERS')
VISBACKENDS = _child('VISBACKENDS')
LOG_PROCESSORS = _child('LOG_PROCESSORS')
KEYPOINT_CODECS = _child('KEYPOINT_CODECS')
INFERENCERS = _child('INFERENCERS')
