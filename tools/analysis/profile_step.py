"""Profile one training or inference step of a config.

See mmpose_ext.analysis.step_profile (``--help`` lists the options).
"""
from mmpose_ext.analysis.step_profile import main

if __name__ == '__main__':
    main()
