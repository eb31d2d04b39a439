"""What the pages do with their links: keep the address bar in step with the page's state, open
on a link (or the explorer's scene), and send the student to the explorer with a scene."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar
from urllib.parse import urlencode, urlsplit, urlunsplit

import streamlit as st

from app.literal import show_link_messages
from app.state import AppState

EXPLORER = "views/explorer.py"


def app_root(url: str | None, page_path: str = "") -> str | None:
    """The app's own address (scheme, host, base path, ending in "/") from the address of one of
    its pages (``st.context.url``), whose ``url_path`` is ``page_path``; None without a usable
    address (AppTest, or a browser that sent none)."""
    scheme, netloc, path, _, _ = urlsplit(url or "")
    if scheme not in ("http", "https") or not netloc:
        return None
    path = path.rstrip("/")
    if page_path and path.endswith("/" + page_path):
        path = path[: -len(page_path) - 1]
    return urlunsplit((scheme, netloc, path + "/", "", ""))


def page_link(root: str | None, page_path: str, query: Mapping[str, str | Sequence[str]]) -> str:
    """A link to page ``page_path`` ("" for the explorer) showing ``query``: absolute under
    ``root`` (see ``app_root``), else relative to the app's address ("?..." or "network?...")."""
    return f"{root or ''}{page_path}?{urlencode(query, doseq=True)}"


class DiagnosticState(Protocol):
    """A sweep or basins state: a scene of the explorer's plus the page's own settings."""

    scene: AppState

    def to_query(self) -> dict[str, str | list[str]]: ...

    @classmethod
    def from_query(cls, query: Any) -> tuple[Any, list[str]]: ...


S = TypeVar("S", bound=DiagnosticState)


def sync_url(query: dict[str, Any], written_key: str) -> None:
    """Write ``query`` into the address bar when it differs from what the page last wrote there
    (kept under ``written_key``): a rerun that changed nothing leaves the browser's history be."""
    if st.session_state.get(written_key) != query:
        st.query_params.from_dict(query)
        st.session_state[written_key] = query


def open_diagnostic_page(
    prefix: str,
    state_type: type[S],
    load: Callable[[S], None],
    controls: Callable[[], None],
    current: Callable[[], S],
) -> S:
    """The start of the sweep and basins pages (their widget keys start with ``prefix``_):

    - a click that asked for the explorer (``session_state.goto``, a query) goes there;
    - a new session or a return from another page loads the link's state, else the explorer's
      scene, into the widgets, and warns of each bad part of the link;
    - the controls are drawn, their state becomes the page's and the explorer's scene, and is
      written into the address bar."""
    ss = st.session_state
    if "goto" in ss:
        ss.explorer_reload = True  # the explorer reads the link even if its widgets survived
        st.switch_page(EXPLORER, query_params=ss.pop("goto"))
    if f"{prefix}_steps" not in ss or f"{prefix}_scene" not in ss:
        if st.query_params:
            state, warnings = state_type.from_query(st.query_params)
        else:
            state, warnings = state_type(scene=ss.get("scene", AppState())), []
        load(state)
        ss.pop(f"{prefix}_written", None)
        show_link_messages(warnings)
    controls()
    state = current()
    ss[f"{prefix}_state"] = state
    ss.scene = state.scene
    sync_url(state.to_query(), f"{prefix}_written")
    return state


def share_link(query: Mapping[str, str | Sequence[str]]) -> str:
    """This page's address (``st.context.url``) showing ``query``: the link the Share box offers."""
    scheme, netloc, path, _, _ = urlsplit(st.context.url or "")
    return urlunsplit((scheme, netloc, path, urlencode(query, doseq=True), ""))
