"""Count the parameters and FLOPs of pose models built from their configs.

See mmpose_ext.analysis.complexity (``--help`` lists the options).
"""
import sys

from mmpose_ext.analysis.complexity import main

if __name__ == '__main__':
    sys.exit(main())
