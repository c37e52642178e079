"""Top-down multi-person pose inference on images, with an optional detector.

See mmpose_ext.visualization.demo (``--help`` lists the options).
"""
import sys

from mmpose_ext.visualization.demo import main

if __name__ == '__main__':
    sys.exit(main())
