# Claims row "CPN", arm RefineNet without OHKM: the RefineNet loss is the
# MSE over all labelled keypoints instead of the 8 hardest.
_base_ = './cpn-res18_synthetic-coco-128x96.py'
model = dict(head=dict(
    loss_refine=dict(_delete_=True, type='WeightedHeatmapMSELoss',
                     average='valid')))
