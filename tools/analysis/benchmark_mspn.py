"""Benchmark CrossStageMSPN against MMPose's own MSPN.

See mmpose_ext.analysis.mspn_benchmark (``--help`` lists the options).
"""
from mmpose_ext.analysis.mspn_benchmark import main

if __name__ == '__main__':
    main()
