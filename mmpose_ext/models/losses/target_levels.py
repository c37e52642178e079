"""Which target level supervises each output of a multi-output head.

Multi-level codecs (``MultiLevelHeatmap``) pack ``L`` target levels, coarse
(widest Gaussian) to fine. CPN (https://arxiv.org/abs/1711.07319) pairs
each GlobalNet output and the RefineNet output with one level; MSPN
(https://arxiv.org/abs/1901.00148) pairs each (stage, unit). These
functions are the one place where such a pairing is built from its config,
validated and resolved against ``L``: ``CPNHead`` and ``CoarseToFineLoss``
call them, and ``MultiStageHeatmapHead`` reads its loss's
``get_level_map``, which does.
"""
from __future__ import annotations

from collections.abc import Sequence

from ...utils import is_int

__all__ = ['LEVEL_MAP_RULES', 'resolve_target_level', 'stage_unit_levels']

#: Named rules of :func:`stage_unit_levels`.
LEVEL_MAP_RULES = ('mspn', 'same', 'last')


def resolve_target_level(level: int, num_levels: int, output: str) -> int:
    """Index in ``[0, num_levels)`` of the target level of one output.

    Args:
        level (int): Configured level; negative values count from the last
            level like Python indices (``-1``: the last, finest level).
        num_levels (int): Number of target levels ``L``.
        output (str): The output ``level`` supervises, named in the error
            message, e.g. ``'(stage 1, unit 3)'``.

    Returns:
        int: ``level % num_levels``.

    Raises:
        ValueError: If ``level`` is not in ``[-L, L)``.
    """
    if not -num_levels <= level < num_levels:
        raise ValueError(
            f'{output} is mapped to target level {level}, out of range for '
            f'the {num_levels} levels the codec encodes')
    return level % num_levels


def stage_unit_levels(level_map: str | Sequence[Sequence[int]],
                      num_stages: int,
                      num_units: int,
                      num_levels: int | None = None) -> list[list[int]]:
    """Target level of every (stage, unit) of a multi-stage network.

    Rules, for unit ``j`` of stage ``s``:

    - ``'mspn'``: level ``j`` in every stage except the last, level
      ``j + 1`` in the last one (MMPose's MSPN configs);
    - ``'same'``: level ``j`` in every stage;
    - ``'last'``: level ``-1`` (the last level) everywhere;
    - an explicit ``[num_stages][num_units]`` list of ints.

    Args:
        level_map (str | Sequence[Sequence[int]]): A rule of
            :data:`LEVEL_MAP_RULES` or an explicit map.
        num_stages (int): Number of stages ``S``.
        num_units (int): Number of units per stage ``U``.
        num_levels (int, optional): Number of target levels ``L``. If
            given, every level is resolved with
            :func:`resolve_target_level` (negative ones counted from the
            last, all checked to lie in ``[0, L)``). Defaults to ``None``:
            the levels as configured.

    Returns:
        list[list[int]]: ``[S][U]`` target levels.

    Raises:
        ValueError: If the rule is unknown, the map is not ``[S][U]`` or a
            level is out of range for ``num_levels``.
        TypeError: If an explicit level is not an int.
    """
    S, U = num_stages, num_units
    if isinstance(level_map, str):
        if level_map == 'mspn':
            rows = [[j + int(s == S - 1) for j in range(U)]
                    for s in range(S)]
        elif level_map == 'same':
            rows = [list(range(U)) for _ in range(S)]
        elif level_map == 'last':
            rows = [[-1] * U for _ in range(S)]
        else:
            raise ValueError(
                f'level_map must be one of {LEVEL_MAP_RULES} or a '
                f'[num_stages][num_units] list of ints, got {level_map!r}')
    else:
        if not isinstance(level_map, Sequence) or len(level_map) != S:
            raise ValueError(f'level_map = {level_map!r} must have '
                             f'num_stages={S} rows')
        rows = []
        for s, row in enumerate(level_map):
            if (not isinstance(row, Sequence) or isinstance(row, str)
                    or len(row) != U):
                raise ValueError(f'level_map[{s}] = {row!r} must have '
                                 f'num_units={U} entries')
            for j, level in enumerate(row):
                if not is_int(level):
                    raise TypeError(f'level_map[{s}][{j}] must be an int, '
                                    f'got {level!r}')
            rows.append([int(level) for level in row])
    if num_levels is None:
        return rows
    return [[
        resolve_target_level(level, num_levels, f'(stage {s}, unit {j})')
        for j, level in enumerate(row)
    ] for s, row in enumerate(rows)]
