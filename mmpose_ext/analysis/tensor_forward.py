"""A pose estimator's ``tensor``-mode forward as a one-argument module, for
the FLOP counter (:mod:`.complexity`) and the ONNX exporter
(:mod:`.onnx_export`)."""
from typing import Any, List

from torch import Tensor, nn

__all__ = ['TensorForward', 'flatten_outputs']


def flatten_outputs(outputs: Any) -> List[Tensor]:
    """The tensors of a (nested) list or tuple of outputs, depth first.

    Args:
        outputs (Tensor | Sequence): A head's forward output, e.g. a
            ``[B, K, H, W]`` tensor or one list of tensors per stage.

    Returns:
        list[Tensor]: The tensors in order, e.g. stage 0's units, then
        stage 1's.
    """
    if isinstance(outputs, Tensor):
        return [outputs]
    return [t for item in outputs for t in flatten_outputs(item)]


class TensorForward(nn.Module):
    """Backbone, neck and head of a pose estimator, without decoding.

    Calls ``model(inputs, None, mode='tensor')``: no data preprocessing,
    flip test or keypoint decoding.

    Args:
        model (nn.Module): An MMPose pose estimator.
        flatten (bool): Return the outputs as a tuple of tensors, depth
            first (:func:`flatten_outputs`), as ``torch.onnx.export``
            needs; otherwise as the head returns them. Defaults to
            ``False``.
    """

    def __init__(self, model: nn.Module, flatten: bool = False):
        super().__init__()
        self.model = model
        self.flatten = flatten

    def forward(self, inputs: Tensor) -> Any:
        """Run the model on ``[B, 3, H, W]`` preprocessed images."""
        outputs = self.model(inputs, None, mode='tensor')
        return tuple(flatten_outputs(outputs)) if self.flatten else outputs
