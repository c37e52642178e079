from .multi_context_attention import MultiContextAttention

__all__ = ['MultiContextAttention']
