"""Calling the engine from a page: an engine failure becomes a message, never a traceback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from app.literal import show_problem

T = TypeVar("T")


def engine_call(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call the engine; on any error show it as a message (``show_problem``: the exception's text
    as literal text) and stop the script run."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # any engine failure becomes a message
        show_problem(f"Could not {what}.", str(exc))
        st.stop()
        raise  # unreachable: st.stop() ends the script run
