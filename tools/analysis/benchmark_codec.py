"""Benchmark MultiLevelHeatmap against L passes of MMPose's MegviiHeatmap.

See mmpose_ext.analysis.codec_benchmark (``--help`` lists the options).
"""
from mmpose_ext.analysis.codec_benchmark import main

if __name__ == '__main__':
    main()
