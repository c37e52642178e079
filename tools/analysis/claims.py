"""Train and test every arm x seed of one claims row; write docs/claims.md.

See mmpose_ext.analysis.claims (``--help`` lists the options).
"""
from mmpose_ext.analysis.claims.runner import main

if __name__ == '__main__':
    main()
