from .cross_stage_mspn import CrossStageMSPN
from .hru_hourglass_net import HRUHourglassNet
from .soft_gated_hourglass_net import SoftGatedHourglassNet

__all__ = ['CrossStageMSPN', 'HRUHourglassNet', 'SoftGatedHourglassNet']
