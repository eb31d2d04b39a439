"""The one link-state mechanism (app.links.fields): a page's plain values declared once as Fields
are written, read, checked against their bounds and bound to widgets from that declaration."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from app.links.fields import (
    Choice,
    Field,
    Flag,
    Integer,
    Number,
    OrAuto,
    Pair,
    Widths,
    bounds,
    decode,
    encode,
)
from app.query import QueryReader


@dataclass(frozen=True)
class Toy:
    count: int = 3
    rate: float = 0.5
    on: bool = False
    kind: str = "a"
    span: float | None = None
    widths: tuple[int, ...] = (8,)
    pair: tuple[float, float] = (0.0, 1.0)


FIELDS = (
    Field("n", "count", Integer(1, 10), label="the count n", widget="w_n"),
    Field("r", "rate", Number(0.0, 1.0)),
    Field("on", "on", Flag()),
    Field("k", "kind", Choice(("a", "b"))),
    Field("span", "span", OrAuto(Number(0.1, 5.0)), fallback="fitting"),
    Field("w", "widths", Widths(2, 1, 64)),
    Field("p", "pair", Pair()),
)


def read(query: dict) -> tuple[dict, list[str]]:
    warn: list[str] = []
    return decode(QueryReader(query, warn), FIELDS, Toy(), warn, "using {default}"), warn


def test_only_values_that_differ_from_the_reference_are_written_and_read_back():
    state = Toy(count=7, on=True, span=2.5, widths=(16, 4))
    query = encode(state, FIELDS, Toy())
    assert query == {"n": "7", "on": "1", "span": "2.5", "w": "16-4"}
    values, warnings = read(query)
    assert warnings == [] and Toy(**values) == state
    assert encode(Toy(), FIELDS, Toy()) == {}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"n": "11"}, "the count n='11' must be an integer in [1, 10]; using 3"),
        ({"n": "2.5"}, "the count n='2.5' must be an integer in [1, 10]; using 3"),
        ({"r": "nan"}, "r='nan' must be a number in [0, 1]; using 0.5"),
        ({"on": "yes"}, "on='yes' must be 0 or 1; using 0"),
        ({"k": "c"}, "k='c' must be one of a, b; using a"),
        ({"span": "9"}, "span='9' must be 'auto' or a number in [0.1, 5]; fitting"),
        ({"w": "8-8-8"}, "w='8-8-8' must be 1 to 2 layer widths in [1, 64] joined by '-'; using 8"),
        ({"p": "1"}, "p='1' must be two numbers low,high; using 0,1"),
    ],
)
def test_a_bad_value_warns_once_with_its_bounds_and_is_left_out(query, message):
    values, warnings = read(query)
    assert values == {} and warnings == [message]


def test_the_widget_bounds_are_the_decoders():
    count = FIELDS[0]
    assert bounds(count) == (1, 10)
    low, high = bounds(count)
    assert read({"n": str(high)})[0] == {"count": high}
    assert read({"n": str(high + 1)})[0] == {}
    assert read({"n": str(low - 1)})[0] == {}
