"""The registry of 2-D landscapes: factories keyed by name, validated parameters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from .base import Landscape, Parameter, bind_params

Factory = Callable[..., Landscape]

_FACTORIES: dict[str, tuple[Factory, tuple[Parameter, ...]]] = {}


def register(key: str, parameters: tuple[Parameter, ...] = ()) -> Callable[[Factory], Factory]:
    """Register ``factory(**params) -> Landscape`` under ``key`` with its parameter specs.

    ``get`` validates the parameters, calls the factory, and records the specs and the values
    on the landscape it returns (``parameters``, ``params``): factories need not set them.
    """

    def deco(factory: Factory) -> Factory:
        if key in _FACTORIES:
            raise ValueError(f"landscape {key!r} registered twice")
        _FACTORIES[key] = (factory, parameters)
        return factory

    return deco


def available(group: str | None = None) -> list[str]:
    """Keys of the registered landscapes in registration order, optionally one group only."""
    if group is None:
        return list(_FACTORIES)
    return [k for k in _FACTORIES if get(k).group == group]


def parameters(key: str) -> tuple[Parameter, ...]:
    """Parameter specs of landscape ``key`` (name, default, range, log scale)."""
    return _entry(key)[1]


def get(key: str, **params: float) -> Landscape:
    """Build landscape ``key`` with ``params`` (validated; missing ones take their defaults).

    Raises ValueError for an unknown key, an unknown parameter or a value out of range.
    """
    factory, specs = _entry(key)
    values = bind_params(specs, params, key)
    return replace(factory(**values), parameters=specs, params=tuple(sorted(values.items())))


def _entry(key: str) -> tuple[Factory, tuple[Parameter, ...]]:
    try:
        return _FACTORIES[key]
    except KeyError:
        raise ValueError(f"unknown landscape {key!r}; available: {', '.join(_FACTORIES)}") from None
