"""One declaration per link value: its query key, the state attribute, the parser that holds its
bounds, and the widget it is bound to. Encoding, decoding, the warnings and the widget binding
of every page come from here.

A page declares its plain scalars as a tuple of ``Field`` and calls

- ``encode(state, fields, reference)``: ``{key: text}`` for every value that differs from
  ``reference`` (the page's defaults, or for the explorer the frozen ``v=1`` defaults);
- ``decode(get, fields, reference, warn)``: ``{attr: value}`` for every key the link gives
  that parses; a value that does not parse, or is out of bounds, adds one warning
  ``"<key>=<the value, quoted> <what is wrong>; <what is used instead>"`` and is left out;
- ``load_widgets(state, fields)`` / ``read_widgets(fields)``: the values into and out of the
  widgets' session-state keys (``Field.widget``); and ``bounds(field)`` for the widget's own
  limits, so the decoder and the widget share one declaration of each bound.

Values from a link are quoted with ``app.literal.quoted`` (their repr, cut to a length), and
pages show the warnings as literal text (``app.literal.show_link_messages``), never as Markdown.

Streamlit 1.67 can bind a widget to a query parameter itself (``bind="query-params"``), but that
binding cannot carry these links: it drops a bad value silently (no warning), removes a
parameter when it equals the widget's *current* default (a ``v=1`` link must mean what it meant
when it was made), names the parameter after the widget key, and forbids writing a bound
parameter through ``st.query_params`` (every page writes its whole link at once, ``sync_url``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import streamlit as st

from app.literal import quoted
from app.query import QueryReader, finite_float, flag_text, int_in, number_text


class BadValue(ValueError):
    """A link value that cannot be used; the message says what it must be ("must be ...")."""


class Parser(Protocol):
    """Reads one link value (raises ``BadValue``), writes it back, and coerces a widget's value."""

    def __call__(self, text: str) -> Any: ...

    def write(self, value: Any) -> str: ...

    def coerce(self, value: Any) -> Any: ...


@dataclass(frozen=True)
class Integer:
    """An integer in [low, high]."""

    low: int
    high: int

    def __call__(self, text: str) -> int:
        value = int_in(text, self.low, self.high)
        if value is None:
            raise BadValue(f"must be an integer in [{self.low}, {self.high}]")
        return value

    def write(self, value: int) -> str:
        return str(value)

    def coerce(self, value: Any) -> int:
        return int(value)


@dataclass(frozen=True)
class Number:
    """A finite number in [low, high]."""

    low: float
    high: float

    def __call__(self, text: str) -> float:
        value = finite_float(text)
        if value is None or not self.low <= value <= self.high:
            raise BadValue(f"must be a number in [{self.low:g}, {self.high:g}]")
        return value

    def write(self, value: float) -> str:
        return number_text(value)

    def coerce(self, value: Any) -> float:
        return float(value)


@dataclass(frozen=True)
class Flag:
    """A switch written "1" or "0"."""

    def __call__(self, text: str) -> bool:
        if text not in ("0", "1"):
            raise BadValue("must be 0 or 1")
        return text == "1"

    def write(self, value: bool) -> str:
        return flag_text(value)

    def coerce(self, value: Any) -> bool:
        return bool(value)


@dataclass(frozen=True)
class Choice:
    """One of a fixed tuple of options (written as their text)."""

    options: tuple[Any, ...]

    def __call__(self, text: str) -> Any:
        as_text = [str(o) for o in self.options]
        if text not in as_text:
            raise BadValue(f"must be one of {', '.join(as_text)}")
        return self.options[as_text.index(text)]

    def write(self, value: Any) -> str:
        return str(value)

    def coerce(self, value: Any) -> Any:
        return value


@dataclass(frozen=True)
class Widths:
    """Hidden-layer widths: 1 to ``max_layers`` integers in [low, high] joined by '-'."""

    max_layers: int
    low: int
    high: int
    what: str = "layer widths"  # how the warning names the integers
    example: str = ""  # an example the warning gives, e.g. "16-16"

    def __call__(self, text: str) -> tuple[int, ...]:
        parts = text.split("-")
        widths = [int_in(p, self.low, self.high) for p in parts]
        if not 1 <= len(parts) <= self.max_layers or any(w is None for w in widths):
            example = f" (e.g. {self.example})" if self.example else ""
            raise BadValue(
                f"must be 1 to {self.max_layers} {self.what} in [{self.low}, {self.high}] "
                f"joined by '-'{example}"
            )
        return tuple(widths)  # type: ignore[arg-type]

    def write(self, value: Sequence[int]) -> str:
        return "-".join(str(w) for w in value)

    def coerce(self, value: Any) -> tuple[int, ...]:
        return tuple(int(w) for w in value)


@dataclass(frozen=True)
class OrAuto:
    """``auto`` (None: the page chooses) or a value of ``inner``."""

    inner: Number

    def __call__(self, text: str) -> float | None:
        if text == "auto":
            return None
        try:
            return self.inner(text)
        except BadValue as exc:
            raise BadValue(f"must be 'auto' or a {str(exc).removeprefix('must be a ')}") from None

    def write(self, value: float | None) -> str:
        return "auto" if value is None else self.inner.write(value)

    def coerce(self, value: Any) -> float | None:
        return None if value is None else float(value)


@dataclass(frozen=True)
class Pair:
    """Two finite numbers ``low,high`` (their order is checked by the page, with its other
    values)."""

    def __call__(self, text: str) -> tuple[float, float]:
        parts = text.split(",")
        values = [finite_float(p) for p in parts] if len(parts) == 2 else [None]
        if any(v is None for v in values):
            raise BadValue("must be two numbers low,high")
        return (values[0], values[1])  # type: ignore[return-value]

    def write(self, value: Sequence[float]) -> str:
        return ",".join(number_text(v) for v in value)

    def coerce(self, value: Any) -> tuple[float, float]:
        return (float(value[0]), float(value[1]))


@dataclass(frozen=True)
class Field:
    """One link value: ``key=`` in the query, ``attr`` on the state, read by ``parse``.

    ``label`` names it in a warning (default: the key); ``fallback`` replaces the page's
    "using ..." words for it; ``widget`` is the session-state key of the widget bound to it."""

    key: str
    attr: str
    parse: Parser
    label: str | None = None
    fallback: str | None = None
    widget: str | None = None


def encode(state: Any, fields: Sequence[Field], reference: Any) -> dict[str, str]:
    """``{key: text}`` for each field whose value differs from ``reference``'s."""
    out: dict[str, str] = {}
    for f in fields:
        value = getattr(state, f.attr)
        if value != getattr(reference, f.attr):
            out[f.key] = f.parse.write(value)
    return out


def decode(
    get: QueryReader,
    fields: Sequence[Field],
    reference: Any,
    warn: list[str],
    fallback: str = "using the default",
) -> dict[str, Any]:
    """``{attr: value}`` for each field the link gives and that parses. A bad value adds the
    warning ``"<label>=<value> <problem>; <fallback>"``: ``fallback`` may name
    ``{default}``, the field's value in ``reference`` as a link writes it."""
    out: dict[str, Any] = {}
    for f in fields:
        raw = get.one(f.key)
        if raw is None:
            continue
        try:
            out[f.attr] = f.parse(raw)
        except BadValue as problem:
            default = getattr(reference, f.attr)
            instead = f.fallback or fallback.format(
                default=f.parse.write(default) if default is not None else "none"
            )
            warn.append(f"{f.label or f.key}={quoted(raw)} {problem}; {instead}")
    return out


def bounds(field: Field) -> tuple[Any, Any]:
    """The (low, high) of a field's parser, for its widget."""
    return field.parse.low, field.parse.high  # type: ignore[attr-defined]


def by_key(fields: Sequence[Field]) -> dict[str, Field]:
    """The fields by query key."""
    return {f.key: f for f in fields}


def load_widgets(state: Any, fields: Sequence[Field]) -> None:
    """Put ``state``'s values into the session-state keys of the fields' widgets."""
    ss = st.session_state
    for f in fields:
        if f.widget is not None:
            ss[f.widget] = getattr(state, f.attr)


def read_widgets(fields: Sequence[Field]) -> dict[str, Any]:
    """``{attr: value}`` from the widgets bound to ``fields`` (coerced by their parsers)."""
    ss = st.session_state
    return {f.attr: f.parse.coerce(ss[f.widget]) for f in fields if f.widget is not None}
