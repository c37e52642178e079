"""Verify a GPU machine: the CUDA tier and a short benchmark, one report.

See mmpose_ext.analysis.gpu_check (``--help`` lists the options) and
docs/gpu.md.
"""
import sys

from mmpose_ext.analysis.gpu_check import main

if __name__ == '__main__':
    sys.exit(main())
