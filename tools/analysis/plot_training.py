"""Plot the training loss and validation AP of an MMEngine run.

See mmpose_ext.analysis.training_curves (``--help`` lists the options).
"""
from mmpose_ext.analysis.training_curves import main

if __name__ == '__main__':
    main()
