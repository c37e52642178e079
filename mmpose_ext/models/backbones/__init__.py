from .hru_hourglass_net import HRUHourglassNet

__all__ = ['HRUHourglassNet']
