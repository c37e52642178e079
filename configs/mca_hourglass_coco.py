# The headline config's short path (`tools/train.py
# configs/mca_hourglass_coco.py`);
# the config itself is mca_hourglass/mca_hourglass_coco.py, which other
# configs and `mmpose_ext::mca_hourglass/mca_hourglass_coco.py` bases name
# (MMEngine's config scopes need a folder).
_base_ = ['mca_hourglass/mca_hourglass_coco.py']
