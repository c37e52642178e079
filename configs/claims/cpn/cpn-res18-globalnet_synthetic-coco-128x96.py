# Claims row "CPN", arm GlobalNet alone: no RefineNet; the keypoints are
# decoded from GlobalNet's highest-resolution output.
_base_ = './cpn-res18_synthetic-coco-128x96.py'
model = dict(head=dict(refine_net=False, loss_refine=None))
