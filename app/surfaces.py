"""The surfaces the app offers: the engine's registered landscapes plus the user's own formula.

The list is the registry's (``landscapes.available()``): a landscape registered by the engine, or
by a plugin module (``app.plugins``), appears on every page without an edit here.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import landscapes
from landscapes.formula import DEFAULT_DOMAIN, DEFAULT_FORMULA, custom_landscape

CUSTOM = "custom"  # the landscape key of the user's own formula


def landscape_for(
    key: str, params: tuple[tuple[str, Any], ...] | Mapping[str, Any] = ()
) -> landscapes.Landscape:
    """The engine landscape for a key and its parameters (pairs, or a mapping); for ``CUSTOM``
    the parameters are ``(("dom", ((x0, x1), (y0, y1))), ("fx", text))`` (see
    ``AppState.engine_params``).

    Remembered: a landscape is a frozen value, and every page run asks for its scene's (building
    one costs milliseconds: some sample their surface to place their minima)."""
    return _landscape_for(key, tuple(params.items() if isinstance(params, Mapping) else params))


@functools.lru_cache(maxsize=256)
def _landscape_for(key: str, params: tuple[tuple[str, Any], ...]) -> landscapes.Landscape:
    if key == CUSTOM:
        values = dict(params)
        return custom_landscape(
            str(values.get("fx", DEFAULT_FORMULA)), domain=values.get("dom", DEFAULT_DOMAIN)
        )
    return landscapes.get(key, **dict(params))


def landscape_parameters(key: str) -> tuple[landscapes.Parameter, ...]:
    """The tunable parameters of a landscape key (none for the custom formula)."""
    return () if key == CUSTOM else landscapes.parameters(key)


def known_landscape(key: str) -> bool:
    """Whether ``key`` names a registered landscape or the custom formula."""
    return key == CUSTOM or key in landscapes.available()
