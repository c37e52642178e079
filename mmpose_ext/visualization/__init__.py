"""Drawing pose predictions (not imported by ``import mmpose_ext``).

:mod:`.demo` runs top-down inference on images and draws the skeletons
(``tools/demo.py``); :mod:`.attention_maps` draws the multi-context
attention maps of a model over its input crop
(``tools/visualize_attention.py``).
"""
