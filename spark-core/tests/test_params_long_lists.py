"""Long list params (explicit connectivity: a value per synapse) are checked at once when every item passes, and item
by item otherwise: the values and the messages are those of the item-by-item check."""

from __future__ import annotations

import pytest

import spark


@spark.params
class ListParams:
    w: tuple[float, ...] = spark.param((), unit="pA", doc="a weight per synapse", ge=-100, lt=100)
    idx: tuple[int, ...] = spark.param((), doc="an index per synapse", ge=0)


def test_valid_long_lists_come_back_as_floats_and_ints():
    p = ListParams(w=[1, 2.5] * 500, idx=list(range(1000)))
    assert p.w == (1.0, 2.5) * 500 and all(type(v) is float for v in p.w)
    assert p.idx == tuple(range(1000))


@pytest.mark.parametrize(("w", "idx", "message"), [
    ([0.5] * 700 + [100.0] + [0.5] * 299, [0], r"'w'\[700\] = 100.0 pA is out of bounds: it must be < 100 pA"),
    ([0.5] * 300 + [float("nan")] + [0.5] * 699, [0], r"'w'\[300\] is NaN"),
    ([0.5] * 300 + [1e-39] + [0.5] * 699, [0], r"'w'\[300\] = 1e-39 underflows float32"),
    ([0.5] * 300 + [True] + [0.5] * 699, [0], r"'w'\[300\] = True is not a number"),
    ([0.5], [1] * 400 + [2 ** 40] + [1] * 600, r"'idx'\[400\] = 1.1e\+12 does not fit int32"),
    ([0.5], [1] * 400 + [-1] + [1] * 600, r"'idx'\[400\] = -1 is out of bounds"),
    ([0.5], [1] * 400 + [1.5] + [1] * 600, r"'idx'\[400\] = 1.5 is not an integer"),
], ids=["bound", "nan", "underflow", "bool", "int32", "negative", "fraction"])
def test_one_bad_item_among_many_is_named(w, idx, message):
    with pytest.raises(spark.ParamError, match=message):
        ListParams(w=w, idx=idx)
