from .cpn_head import CPNHead
from .multi_stage_heatmap_head import MultiStageHeatmapHead

__all__ = ['CPNHead', 'MultiStageHeatmapHead']
