from .cross_stage_mspn import CrossStageMSPN
from .hru_hourglass_net import HRUHourglassNet

__all__ = ['CrossStageMSPN', 'HRUHourglassNet']
