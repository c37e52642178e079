"""Analysis commands over the package's configs (not imported by
``import mmpose_ext``); each ``tools/`` script of the same purpose is a
shim over one of them:

* :mod:`.complexity`: parameters and FLOPs, the model zoo table
  (``tools/analysis/model_complexity.py``);
* :mod:`.benchmark`: training and inference throughput and peak memory
  (``tools/benchmark.py``);
* :mod:`.step_profile`: where the time of a training or inference step
  goes, by kind of operator (``tools/analysis/profile_step.py``);
* :mod:`.onnx_export`: ONNX export, checked against PyTorch
  (``tools/export_onnx.py``);
* :mod:`.codec_benchmark`: ``MultiLevelHeatmap`` against MMPose's
  ``MegviiHeatmap`` (``tools/analysis/benchmark_codec.py``);
* :mod:`.mspn_benchmark`: ``CrossStageMSPN`` against MMPose's ``MSPN``
  (``tools/analysis/benchmark_mspn.py``);
* :mod:`.training_curves`: loss and AP curves of a run
  (``tools/analysis/plot_training.py``);
* :mod:`.gpu_check`: the CUDA tier and a short benchmark in one report
  (``tools/verify_gpu.py``, docs/gpu.md);
* :mod:`.claims`: the papers' claims re-tested, one row of
  ``docs/claims.md`` per call (``tools/analysis/claims.py``, ``make
  claims``): the row specifications (``rows``), the runner and the
  report, a subpackage.

The helpers they share are exported here.
"""
from .config_summary import config_input_size, describe_model
from .stats import median_interval
from .tensor_forward import TensorForward, flatten_outputs

__all__ = [
    'TensorForward', 'config_input_size', 'describe_model',
    'flatten_outputs', 'median_interval'
]
