"""The tensors of a head's (nested) forward output."""
from typing import Any, List

from torch import Tensor

__all__ = ['flatten_outputs']


def flatten_outputs(outputs: Any) -> List[Tensor]:
    """The tensors of a (nested) list or tuple of outputs, depth first;
    ``None`` entries (an output a head was built without) are skipped.

    Args:
        outputs (Tensor | Sequence): A head's forward output, e.g. a
            ``[B, K, H, W]`` tensor or one list of tensors per stage.

    Returns:
        list[Tensor]: The tensors in order, e.g. stage 0's units, then
        stage 1's.
    """
    if isinstance(outputs, Tensor):
        return [outputs]
    if outputs is None:
        return []
    return [t for item in outputs for t in flatten_outputs(item)]
