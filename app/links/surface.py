"""Link parsers shared by the pages that show a surface: landscape parameters and a start point."""

from __future__ import annotations

from typing import Any

from app.literal import quoted
from app.query import finite_float, number_text
from app.surfaces import landscape_for, landscape_parameters


def encode_landscape_params(params: tuple[tuple[str, float], ...]) -> str:
    """``name:value`` pairs joined by ","."""
    return ",".join(f"{k}:{number_text(v)}" for k, v in params)


def decode_landscape_params(key: str, raw: str, warn: list[str]) -> tuple[tuple[str, float], ...]:
    """The ``lp=`` parameters of landscape ``key``, sorted; a pair that is not one of its
    parameters, or out of its range, warns and is left out."""
    specs = {p.name: p for p in landscape_parameters(key)}
    out: dict[str, float] = {}
    for pair in raw.split(","):
        name, sep, text = pair.partition(":")
        if not sep or name not in specs:
            warn.append(
                f"landscape parameter {quoted(pair)} is not one of {', '.join(specs) or 'none'}; ignored"
            )
            continue
        try:
            out[name] = specs[name].validate(text)
        except ValueError as exc:
            warn.append(f"{exc}; using the default {specs[name].default:g}")
    return tuple(sorted(out.items()))


def encode_start(start: tuple[float, float]) -> str:
    return f"{number_text(start[0])},{number_text(start[1])}"


def decode_start(
    raw: str, key: str, params: tuple[tuple[str, Any], ...], warn: list[str]
) -> tuple[float, float] | None:
    """The ``start=x,y`` point, inside the landscape's plot; None (the landscape's own start)
    with a warning when it is not two numbers or lies outside."""
    parts = raw.split(",")
    values = [finite_float(p) for p in parts] if len(parts) == 2 else [None]
    if any(v is None for v in values):
        warn.append(f"start={quoted(raw)} must be two numbers x,y; using the landscape's start")
        return None
    (x0, x1), (y0, y1) = landscape_for(key, params).domain
    x, y = values
    if not (x0 <= x <= x1 and y0 <= y <= y1):
        warn.append(
            f"start=({x:g}, {y:g}) is outside the plot [{x0:g}, {x1:g}] x [{y0:g}, {y1:g}]; "
            "using the landscape's start"
        )
        return None
    return (x, y)
