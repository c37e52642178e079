"""Argument checks shared by the codecs, models, losses and hooks.

One rule for "an int" everywhere: Python and numpy integers are ints,
``bool`` (an ``int`` subclass in Python) and floats such as ``2.0`` are
not. A failed check raises ``ValueError`` naming the argument, what it
must be and the value given, as MMPose's components do for invalid
arguments (for a value of the wrong type as well).
"""
import numbers
from typing import Any, Iterable, Optional, Tuple

__all__ = ['check_int', 'check_int_sequence', 'check_positive_int', 'is_int']


def is_int(value: Any) -> bool:
    """Whether ``value`` is an integer: a Python or numpy integer, not a
    ``bool`` (Python's or numpy's) nor an integral float.

    Args:
        value (Any): The value to test.

    Returns:
        bool: ``True`` for ``3`` and ``np.int64(3)``; ``False`` for
        ``True``, ``np.bool_(True)``, ``3.0`` and ``'3'``.
    """
    return (isinstance(value, numbers.Integral)
            and not isinstance(value, bool))


def _kind(minimum: Optional[int], odd: bool, plural: bool = False) -> str:
    """``'a positive odd int'``, ``'non-negative ints'``, ..."""
    words = {None: [], 0: ['non-negative'], 1: ['positive']}.get(
        minimum, [])
    if odd:
        words.append('odd')
    words.append('ints' if plural else 'int')
    if minimum not in (None, 0, 1):
        words.append(f'>= {minimum}')
    text = ' '.join(words)
    if plural:
        return text
    return ('an ' if text[0] in 'aeiou' else 'a ') + text


def _fits(value: Any, minimum: Optional[int], odd: bool) -> bool:
    return (is_int(value) and (minimum is None or value >= minimum)
            and (not odd or value % 2 == 1))


def check_int(name: str, value: Any, minimum: Optional[int] = None,
              odd: bool = False) -> int:
    """Check that the argument ``name`` is an int (:func:`is_int`).

    Args:
        name (str): The argument's name, for the message.
        value (Any): Its value.
        minimum (int, optional): The smallest value allowed. Defaults to
            ``None`` (no bound).
        odd (bool): Whether the value must be odd. Defaults to ``False``.

    Returns:
        int: ``value`` as a Python ``int``.

    Raises:
        ValueError: naming ``name``, what it must be and ``value``.
    """
    if not _fits(value, minimum, odd):
        raise ValueError(f'{name} must be {_kind(minimum, odd)}, got '
                         f'{value!r}')
    return int(value)


def check_positive_int(name: str, value: Any, odd: bool = False) -> int:
    """Check that the argument ``name`` is an int >= 1.

    Args:
        name (str): The argument's name, for the message.
        value (Any): Its value.
        odd (bool): Whether the value must be odd. Defaults to ``False``.

    Returns:
        int: ``value`` as a Python ``int``.

    Raises:
        ValueError: ``'<name> must be a positive int, got <value>'``.
    """
    return check_int(name, value, minimum=1, odd=odd)


def check_int_sequence(name: str,
                       values: Iterable,
                       minimum: Optional[int] = 1,
                       length: Optional[int] = None,
                       odd: bool = False,
                       unit: str = '') -> Tuple[int, ...]:
    """Check that the argument ``name`` is a non-empty sequence of ints.

    Args:
        name (str): The argument's name, for the message.
        values (Iterable): Its value (a list, tuple or 1-d array).
        minimum (int, optional): The smallest value allowed for each
            element. Defaults to ``1``; ``None`` means no bound.
        length (int, optional): The required number of elements. Defaults
            to ``None`` (any non-zero number).
        odd (bool): Whether every element must be odd. Defaults to
            ``False``.
        unit (str): What the elements are, appended to the message, e.g.
            ``' (w, h)'``. Defaults to ``''``.

    Returns:
        tuple[int, ...]: The elements as Python ints.

    Raises:
        ValueError: naming ``name``, the length and kind of the elements
            expected and ``values``.
    """
    try:
        items = tuple(values)
    except TypeError:
        items = None
    if (items is None or isinstance(values, (str, bytes)) or not items
            or (length is not None and len(items) != length)
            or not all(_fits(v, minimum, odd) for v in items)):
        count = 'a non-empty sequence of' if length is None else (
            'a pair of' if length == 2 else f'a sequence of {length}')
        raise ValueError(f'{name} must be {count} '
                         f'{_kind(minimum, odd, plural=True)}{unit}, got '
                         f'{values!r}')
    return tuple(int(v) for v in items)
