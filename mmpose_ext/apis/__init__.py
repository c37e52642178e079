"""Entry points of the package's command-line tools (not imported by
``import mmpose_ext``)."""
from .config_checks import UnknownComponentError, check_config
from .inference import init_model
from .mmpose_tools import PreflightRunner, run_mmpose_tool

__all__ = [
    'PreflightRunner', 'UnknownComponentError', 'check_config', 'init_model',
    'run_mmpose_tool'
]
