"""Data sets the package generates (not imported by ``import mmpose_ext``).

:mod:`.synthetic_coco` writes the embedded synthetic COCO keypoint set that
the demo, the tests and the benchmarks train and evaluate on.
"""
