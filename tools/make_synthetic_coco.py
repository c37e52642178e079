"""Generate the synthetic COCO keypoint set: a shim over
:mod:`mmpose_ext.datasets.synthetic_coco` (``--help`` lists the options)."""
import sys

from mmpose_ext.datasets.synthetic_coco import main

if __name__ == '__main__':
    sys.exit(main())
