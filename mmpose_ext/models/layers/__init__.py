from .cross_stage_aggregation import CrossStageAggregation
from .hourglass_residual_unit import HourglassResidualUnit
from .pre_act_bottleneck import PreActBottleneck
from .soft_gated_block import SoftGatedBlock

__all__ = [
    'CrossStageAggregation',
    'HourglassResidualUnit',
    'PreActBottleneck',
    'SoftGatedBlock',
]
