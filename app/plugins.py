"""Plugin modules: optimizers and surfaces of your own, shown by the app without an edit to it.

Name importable modules in the environment variable ``OPTISCAPE_PLUGINS`` (comma-separated)::

    OPTISCAPE_PLUGINS=my_optimizers,my_surfaces optiscape

Each is imported once per process, before a page runs, and registers what it adds through the
engine's public API: ``optimizers.register(optimizers.Optimizer(...))`` and
``@landscapes.register(key, parameters)`` on a factory returning a ``landscapes.Landscape``.
Every page reads the registries (``optimizers.available()``, ``landscapes.available()``), so the
new optimizer and surface appear in the pickers, links and figures like the built-in ones
(``tests/test_plugins.py`` opens a toy one of each). A link written with them keeps its meaning:
it names each of their values (``app.links.v1``).
"""

from __future__ import annotations

import importlib
import os

ENV = "OPTISCAPE_PLUGINS"


def names(value: str | None = None) -> list[str]:
    """The module names listed in ``value`` (default: the environment variable)."""
    text = os.environ.get(ENV, "") if value is None else value
    return [n.strip() for n in text.split(",") if n.strip()]


def load() -> list[tuple[str, str]]:
    """Import every listed module not imported yet; ``(name, error)`` for each that failed."""
    failed = []
    for name in names():
        try:
            importlib.import_module(name)
        except Exception as exc:  # a broken plugin is reported, the app runs on without it
            failed.append((name, f"{type(exc).__name__}: {exc}"))
    return failed
