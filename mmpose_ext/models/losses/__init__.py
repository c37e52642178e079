from .coarse_to_fine_loss import CoarseToFineLoss
from .ohkm_loss import OHKMLoss
from .weighted_heatmap_mse_loss import WeightedHeatmapMSELoss

__all__ = ['CoarseToFineLoss', 'OHKMLoss', 'WeightedHeatmapMSELoss']
