"""Draw the multi-context attention maps of a model over an image.

See mmpose_ext.visualization.attention_maps (``--help`` lists the options).
"""
from mmpose_ext.visualization.attention_maps import main

if __name__ == '__main__':
    main()
