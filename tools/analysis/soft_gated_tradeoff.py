"""Soft-gated against plain residual stacked hourglass: the README table.

See mmpose_ext.analysis.soft_gated_tradeoff (``--help`` lists the options).
"""
from mmpose_ext.analysis.soft_gated_tradeoff import main

if __name__ == '__main__':
    main()
