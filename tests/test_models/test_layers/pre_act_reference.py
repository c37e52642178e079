"""Functional references shared by the pre-activation layer tests."""
import torch
import torch.nn.functional as F
from torch import nn


def randomize_norms(module):
    """Random BN affine parameters and running statistics, so that an
    eval-mode BN is not the identity."""
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)
    return module


def bn_relu(x, bn):
    """Eval-mode BN with ``bn``'s statistics, then ReLU."""
    return F.relu(
        F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias,
                     training=False, eps=bn.eps))


def bottleneck_reference(block, x):
    """BN-ReLU-conv1x1 -> BN-ReLU-conv3x3 -> BN-ReLU-conv1x1, functional."""
    for unit, padding in zip(block.conv_branch, (0, 1, 0)):
        x = F.conv2d(bn_relu(x, unit.norm), unit.conv.weight, padding=padding)
    return x
