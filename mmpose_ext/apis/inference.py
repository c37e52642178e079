"""Build a pose model for inference from a config and a checkpoint that
must fit it.

MMPose's ``mmpose.apis.init_model`` loads the checkpoint leniently: the
wrong checkpoint leaves the model randomly initialised with only a logged
warning. :func:`init_model` is MMPose's, with the checkpoint loaded
through :func:`~mmpose_ext.engine.checkpoint_fit.check_checkpoint`, which
refuses a partial fit unless ``allow_partial``.
"""
from pathlib import Path
from typing import Optional, Union

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.runner import CheckpointLoader
from mmpose.apis import init_model as mmpose_init_model

from ..engine.checkpoint_allowlist import explain_refused_checkpoint
from ..engine.checkpoint_fit import check_checkpoint
from ..engine.fast_path import apply_fast_path, fast_path_options

__all__ = ['init_model']


def init_model(config: Union[str, Path, Config],
               checkpoint: Optional[str] = None,
               device: Optional[str] = None,
               cfg_options: Optional[dict] = None,
               allow_partial: bool = False) -> torch.nn.Module:
    """Build a pose estimator and load a checkpoint that fits it.

    Args:
        config (str | Path | Config): Config file or object.
        checkpoint (str, optional): Checkpoint file; ``None`` keeps the
            initialisation. Defaults to ``None``.
        device (str, optional): Device of the returned model. Defaults to
            ``None``: ``'cuda:0'`` (MMPose's default) where CUDA is
            available, else ``'cpu'``.
        cfg_options (dict, optional): Overrides merged into the config.
        allow_partial (bool): Load a checkpoint that does not fit the
            model (MMEngine's lenient loading, logged) instead of raising.
            Defaults to ``False``.

    Returns:
        nn.Module: The model in eval mode, with ``dataset_meta`` from the
        checkpoint (else from the config, as MMPose's ``init_model``) and
        the config's fast path (:mod:`mmpose_ext.engine.fast_path`).

    Raises:
        CheckpointMismatchError: if the checkpoint does not fit and not
            ``allow_partial``.
    """
    model = mmpose_init_model(config, None, device='cpu',
                              cfg_options=cfg_options)
    if checkpoint is not None:
        with explain_refused_checkpoint(checkpoint):
            loaded = CheckpointLoader.load_checkpoint(checkpoint,
                                                      map_location='cpu')
        check_checkpoint(model, loaded, checkpoint,
                         allow_partial=allow_partial,
                         config=getattr(model.cfg, 'filename', None),
                         logger=MMLogger.get_current_instance())
        meta = loaded.get('meta', {}) if isinstance(loaded, dict) else {}
        if 'dataset_meta' in meta:
            model.dataset_meta = meta['dataset_meta']
    if device is None:
        device = 'cuda:0' if torch.cuda.is_available() else 'cpu'
    model.to(device)
    model.eval()
    # the config's channels-last / compile switches, as in a runner
    return apply_fast_path(model, *fast_path_options(model.cfg))
