from .multi_level_heatmap import MultiLevelHeatmap

__all__ = ['MultiLevelHeatmap']
