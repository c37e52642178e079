"""mmpose_ext.utils.checks: one rule for "an int" and one message."""
import numpy as np
import pytest

from mmpose_ext.utils import (
    check_int,
    check_int_sequence,
    check_positive_int,
    is_int,
)


@pytest.mark.parametrize('value, expected', [
    (3, True), (0, True), (-2, True), (np.int64(3), True),
    (np.uint8(3), True), (True, False), (np.bool_(True), False),
    (3.0, False), (np.float32(3), False), ('3', False), (None, False),
])
def test_is_int(value, expected):
    assert is_int(value) is expected


def test_check_positive_int_returns_a_python_int():
    value = check_positive_int('num_stacks', np.int64(4))
    assert value == 4 and type(value) is int


@pytest.mark.parametrize('value', [0, -1, True, 2.0, '2', None])
def test_check_positive_int_names_the_argument(value):
    with pytest.raises(ValueError) as err:
        check_positive_int('num_stacks', value)
    assert str(err.value) == (
        f'num_stacks must be a positive int, got {value!r}')


@pytest.mark.parametrize('kwargs, good, bad, kind', [
    (dict(minimum=0), 0, -1, 'a non-negative int'),
    (dict(minimum=None), -5, 1.5, 'an int'),
    (dict(minimum=1, odd=True), 3, 4, 'a positive odd int'),
    (dict(minimum=2), 2, 1, 'an int >= 2'),
])
def test_check_int_bounds(kwargs, good, bad, kind):
    assert check_int('k', good, **kwargs) == good
    with pytest.raises(ValueError, match=f'^k must be {kind}, got '):
        check_int('k', bad, **kwargs)


def test_check_int_sequence():
    assert check_int_sequence('s', np.array([3, 5]), odd=True) == (3, 5)
    assert check_int_sequence('s', [0, 2], minimum=0, length=2) == (0, 2)
    cases = {
        ((), None): 'a non-empty sequence of positive ints',
        ((1, 2, 3), 2): 'a pair of positive ints (w, h)',
        ((1, 0), 2): 'a pair of positive ints (w, h)',
        ((1, True), 2): 'a pair of positive ints (w, h)',
        ('12', None): 'a non-empty sequence of positive ints',
        (5, 3): 'a sequence of 3 positive ints',
    }
    for (values, length), text in cases.items():
        unit = ' (w, h)' if length == 2 else ''
        with pytest.raises(ValueError) as err:
            check_int_sequence('s', values, length=length, unit=unit)
        assert str(err.value) == f's must be {text}, got {values!r}'


def test_components_share_the_rule():
    """numpy ints are accepted and bools refused alike by the codec, a
    head, a loss and a hook (the copies used to differ)."""
    from mmpose_ext.codecs import MultiLevelHeatmap
    from mmpose_ext.engine.hooks import NonFiniteLossHook
    from mmpose_ext.models.heads import CPNHead, MultiStageHeatmapHead
    from mmpose_ext.models.losses import OHKMLoss

    assert OHKMLoss(topk=np.int64(4)).topk == 4
    assert NonFiniteLossHook(window=np.int32(5)).window == 5
    MultiStageHeatmapHead(in_channels=8, out_channels=np.int64(3))
    CPNHead(in_channels=[8, 8, 8, 8], out_channels=np.int64(3),
            feat_channels=8)
    codec = MultiLevelHeatmap(input_size=(np.int64(32), 32),
                              heatmap_size=(8, 8), sigmas=[2.0],
                              border=np.int64(0))
    assert codec.border == 0
    for build, name in (
            (lambda: OHKMLoss(topk=True), 'topk'),
            (lambda: NonFiniteLossHook(window=True), 'window'),
            (lambda: MultiStageHeatmapHead(in_channels=8,
                                           out_channels=True),
             'out_channels'),
            (lambda: CPNHead(in_channels=[8, 8, 8, 8], out_channels=True,
                             feat_channels=8), 'out_channels'),
            (lambda: MultiLevelHeatmap(input_size=(32, 32),
                                       heatmap_size=(8, True),
                                       sigmas=[2.0]), 'heatmap_size')):
        with pytest.raises(ValueError, match=f'^{name} must be'):
            build()
