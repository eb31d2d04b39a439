"""Reading and writing URL query values, shared by every page's state.

A link's values are text; these helpers read one or repeated values from Streamlit's
``st.query_params`` or a plain dict, and write numbers and switches back as the shortest text
that reads back the same.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from .literal import quoted

SCHEMA_VERSION = "1"  # the version every page's links are written in (``v=1``)


class QueryReader:
    """Reads single or repeated values from a query mapping (Streamlit's or a plain dict);
    a key given several times where one value is expected adds a warning to ``warn``."""

    def __init__(self, query: Mapping[str, str | Sequence[str]], warn: list[str]):
        self.query, self.warn = query, warn

    def all(self, key: str) -> list[str]:
        getter = getattr(self.query, "get_all", None)
        if getter is not None:
            return [str(v) for v in getter(key)]
        value = self.query.get(key)
        if value is None:
            return []
        return [value] if isinstance(value, str) else [str(v) for v in value]

    def check_version(self) -> None:
        """Warn when the link names a schema version other than ``SCHEMA_VERSION`` (it is then
        read as that version)."""
        version = self.one("v")
        if version is not None and version != SCHEMA_VERSION:
            self.warn.append(
                f"link version v={quoted(version)} is not known (this app reads v={SCHEMA_VERSION}); "
                f"reading it as v={SCHEMA_VERSION}"
            )

    def one(self, key: str) -> str | None:
        values = self.all(key)
        if len(values) > 1:
            self.warn.append(f"{key} is given {len(values)} times; using the first")
        return values[0] if values else None


def number_text(x: float) -> str:
    """Shortest text that reads back as the same float (repr), without a trailing '.0'."""
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def flag_text(value: bool) -> str:
    """A switch as "1" or "0"."""
    return "1" if value else "0"


def finite_float(text: str) -> float | None:
    """``text`` as a finite float, or None (not a number, inf or nan)."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value + 0.0 if math.isfinite(value) else None  # + 0.0: -0 reads as 0


def float_in(text: str, low: float, high: float) -> float | None:
    """``text`` as a finite float in [low, high], or None."""
    value = finite_float(text)
    return value if value is not None and low <= value <= high else None


def int_in(text: str, low: int, high: int) -> int | None:
    """``text`` as an integer in [low, high], or None."""
    try:
        value = int(text)
    except ValueError:
        return None
    return value if low <= value <= high else None
