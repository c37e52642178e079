"""Export a pose model's heatmap outputs to ONNX and check them.

See mmpose_ext.analysis.onnx_export (``--help`` lists the options).
"""
from mmpose_ext.analysis.onnx_export import main

if __name__ == '__main__':
    main()
