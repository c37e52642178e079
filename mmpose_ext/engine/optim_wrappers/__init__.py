from .cpu_amp_optim_wrapper import CpuAmpOptimWrapper
from .cpu_amp_optim_wrapper_constructor import CpuAmpOptimWrapperConstructor

__all__ = ['CpuAmpOptimWrapper', 'CpuAmpOptimWrapperConstructor']
