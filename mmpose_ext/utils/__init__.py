from .checkpoint_compat import register_safe_globals, trust_checkpoint_pickles

__all__ = ['register_safe_globals', 'trust_checkpoint_pickles']
