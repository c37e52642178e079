from .hourglass_residual_unit import HourglassResidualUnit
from .pre_act_bottleneck import PreActBottleneck

__all__ = [
    'HourglassResidualUnit',
    'PreActBottleneck',
]
