"""A pose estimator's ``tensor``-mode forward as a one-argument module, for
the FLOP counter (:mod:`.complexity`) and the ONNX exporter
(:mod:`.onnx_export`)."""
from typing import Any

from torch import Tensor, nn

from ..models.utils import flatten_outputs

__all__ = ['TensorForward', 'flatten_outputs']


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
