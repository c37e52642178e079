"""Small helpers shared by the package's components (no registrations)."""
from .checks import check_int, check_int_sequence, check_positive_int, is_int

__all__ = ['check_int', 'check_int_sequence', 'check_positive_int', 'is_int']
