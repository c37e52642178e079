"""Convert an MMPose MSPN + MSPNHead checkpoint for CrossStageMSPN.

See mmpose_ext.apis.convert_mspn (``--help`` lists the options).
"""
import sys

from mmpose_ext.apis.convert_mspn import main

if __name__ == '__main__':
    sys.exit(main())
