"""Measure the training and inference throughput of pose models.

See mmpose_ext.analysis.benchmark (``--help`` lists the options).
"""
from mmpose_ext.analysis.benchmark import main

if __name__ == '__main__':
    main()
