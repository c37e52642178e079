"""Weights-only loading of MMEngine 0.10 checkpoints on torch >= 2.6.

torch 2.6 made ``torch.load(..., weights_only=True)`` the default, and MMEngine
0.10.7 calls ``torch.load`` without ``weights_only``. A checkpoint written by
MMEngine's runner then fails to load ("Weights only load failed") because it
pickles a few objects besides tensors:

* ``mmengine.logging.history_buffer.HistoryBuffer`` (the message hub's logs),
  whose ``_statistics_methods`` dict holds ``HistoryBuffer.min`` etc. and is
  therefore pickled as ``builtins.getattr(HistoryBuffer, 'min')``;
* numpy arrays, scalars and dtypes (dataset meta information, logged values).

Instead of turning weights-only loading off,
:func:`allow_mmengine_checkpoint_globals` allow-lists exactly these types; it
has one call site, ``mmpose_ext/__init__.py``, so every ``custom_imports``
of the package (MMPose's stock ``tools/train.py --resume`` and
``tools/test.py`` included) loads MMEngine checkpoints weights-only.
``getattr`` itself is *not* allow-listed: a restricted stand-in is
registered under its name that only resolves the statistics methods of
``HistoryBuffer`` and refuses anything else. A file that needs more than
this must be loaded inside :func:`trust_checkpoint_pickles`, an explicit
opt-in that names the trust decision.
:func:`explain_refused_checkpoint` turns torch's refusal into a message
that names the file, the pickled class and that opt-in.

Written against MMEngine 0.10.7: the names ``HistoryBuffer`` registers in
its private ``_statistics_methods`` are read through
:func:`mmpose_ext.private_state.history_buffer_statistics_methods`, and
:func:`trust_checkpoint_pickles` swaps ``torch.load`` through
:func:`mmpose_ext.private_state.torch_load_defaults` (both listed, with
their tests, in that module). numpy's ``_reconstruct`` below is the name a
pickled array refers to, not numpy state that is read.
"""
import contextlib
import importlib
import pickle
import re
from typing import Any, Iterator, List

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

from ..private_state import (
    history_buffer_statistics_methods,
    torch_load_defaults,
)

__all__ = [
    'allow_mmengine_checkpoint_globals', 'explain_refused_checkpoint',
    'trust_checkpoint_pickles'
]

_registered = False
# The statistics methods every HistoryBuffer registers in its __init__.
_HISTORY_BUFFER_METHODS = frozenset({'min', 'max', 'current', 'mean'})


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """Resolve ``getattr`` only for ``HistoryBuffer`` statistics methods."""
    allowed = _HISTORY_BUFFER_METHODS.union(
        history_buffer_statistics_methods())
    if obj is HistoryBuffer and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'refused to unpickle getattr({obj!r}, {name!r}): weights-only '
        'loading only resolves the statistics methods of MMEngine\'s '
        'HistoryBuffer. If you trust this file, load it inside '
        '`mmpose_ext.engine.trust_checkpoint_pickles()` (or pass '
        '--trust-checkpoint to the tools).')


def _numpy_globals() -> List[Any]:
    """numpy objects a pickled array, scalar or dtype refers to."""
    items: List[Any] = [np.ndarray, np.dtype]
    # numpy 1.x pickles from ``numpy.core``, numpy 2.x from ``numpy._core``.
    multiarray = importlib.import_module(
        'numpy._core.multiarray'
        if np.lib.NumpyVersion(np.__version__) >= '2.0.0' else
        'numpy.core.multiarray')
    for mod in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        items.append((multiarray._reconstruct, f'{mod}._reconstruct'))
        items.append((multiarray.scalar, f'{mod}.scalar'))
    # ``np.dtype('f4')`` is an instance of ``numpy.dtypes.Float32DType``;
    # the unpickler only BUILDs instances of allow-listed types.
    codes = np.typecodes['All'].replace('O', '').replace('V', '')
    items.extend({type(np.dtype(c)) for c in codes})
    return items


def allow_mmengine_checkpoint_globals() -> None:
    """Allow-list what MMEngine checkpoints contain for weights-only loads.

    Idempotent; called once, when :mod:`mmpose_ext` is imported.
    """
    global _registered
    if _registered:
        return
    torch.serialization.add_safe_globals(
        [HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr')] +
        _numpy_globals())
    _registered = True


@contextlib.contextmanager
def trust_checkpoint_pickles() -> Iterator[None]:
    """Load checkpoints with full unpickling inside this block.

    Full unpickling can execute arbitrary code from the file. Use it only for
    checkpoints from a source you trust, e.g. ones written by older tools
    that pickled custom objects. ``torch.load`` is replaced process-wide
    inside the block (:func:`mmpose_ext.private_state.torch_load_defaults`),
    so MMEngine's loaders use it too; an explicit ``weights_only`` wins.
    """
    with torch_load_defaults(weights_only=False):
        yield


@contextlib.contextmanager
def explain_refused_checkpoint(path: Any) -> Iterator[None]:
    """Re-raise a weights-only refusal with the class and the opt-in.

    torch's message suggests ``add_safe_globals`` or ``weights_only=False``;
    the message raised here names the checkpoint, the pickled class that
    was refused and how to opt in with this package's tools.

    Args:
        path (str): The checkpoint being loaded (for the message).

    Raises:
        pickle.UnpicklingError: when loading inside the block is refused.
    """
    try:
        yield
    except pickle.UnpicklingError as err:
        text = str(err)
        found = re.search(r'GLOBAL (\S+) was not an allowed global', text)
        call = re.search(r'refused to unpickle (getattr\(.*?\))', text)
        if found:
            what = f'a pickled object of class {found.group(1)}'
        elif call:
            what = f'a pickled call {call.group(1)}'
        elif 'Weights only load failed' in text:
            what = 'a pickled object that is not plain tensor data'
        else:
            raise
        raise pickle.UnpicklingError(
            f'Refused to load checkpoint {path}: it contains {what}, which '
            'weights-only loading does not allow (unpickling arbitrary '
            'objects can run code from the file). If you trust the file, '
            'rerun with --trust-checkpoint (tools/train.py, tools/test.py) '
            'or load it inside mmpose_ext.engine.trust_checkpoint_pickles().'
        ) from err
