"""Hostile links against every page's link decoder: no exception, warnings of bounded length that
quote values shortened, and a decoded state whose own link reads back the same."""

from __future__ import annotations

import random

import pytest
from apptest_helpers import new_app
from link_fuzz import (
    BASIN_KEYS,
    EDGE_NUMBERS,
    EXPLORER_KEYS,
    HOSTILE_TEXT,
    MARKERS,
    NETWORK_KEYS,
    SEARCH_KEYS,
    SWEEP_KEYS,
    hostile_query,
)
from streamlit.testing.v1 import AppTest

from app import explorer_link
from app.diagnostic_state import BasinState, SweepState
from app.literal import MESSAGE_CHARS, VALUE_CHARS
from app.network_state import NetworkState
from app.search_state import SearchState
from app.state import MAX_OPTIMIZERS

DECODERS = {
    "explorer": (explorer_link.from_query, EXPLORER_KEYS),
    "sweep": (SweepState.from_query, SWEEP_KEYS),
    "basins": (BasinState.from_query, BASIN_KEYS),
    "network": (NetworkState.from_query, NETWORK_KEYS),
    "search": (SearchState.from_query, SEARCH_KEYS),
}
LINKS_PER_PAGE = 250


@pytest.mark.parametrize("page", DECODERS)
def test_every_decoder_takes_any_link(page):
    read, keys = DECODERS[page]
    rng = random.Random(f"decode-{page}")
    for _ in range(LINKS_PER_PAGE):
        query = hostile_query(rng, keys, share=rng.choice((0.1, 0.3, 1.0)))
        state, warnings = read(query)
        assert all(isinstance(w, str) for w in warnings)
        # a value is quoted at most VALUE_CHARS long: no message repeats a 100 KB value
        assert all(len(w) <= MESSAGE_CHARS for w in warnings), (query, warnings)
        assert len(warnings) <= 3 * len(query) + 2
        # the link the page writes for what it shows reads back with no warning, and the
        # state read back writes the same link
        written = state.to_query()
        again, more = read(written)
        assert more == [], (query, more)
        assert again.to_query() == written, query


def test_a_long_value_is_quoted_shortened_with_its_length():
    value = "[x](https://evil.example/)" * 4000
    _, warnings = explorer_link.from_query({"ls": value})
    (message,) = warnings
    assert f"({len(value)} characters)" in message
    assert len(message) < VALUE_CHARS + 100


# --- the pages themselves ------------------------------------------------------------------------

PAGES = {  # page script: its keys
    "views/explorer.py": EXPLORER_KEYS,
    "views/sweep.py": SWEEP_KEYS,
    "views/basins.py": BASIN_KEYS,
    "views/network.py": NETWORK_KEYS,
    "views/search.py": SEARCH_KEYS,
}
RANDOM_LINKS = 4  # links of random mixed values per page, beside the systematic ones
LITERAL_TYPES = {"text"}  # st.text: no Markdown, no HTML; the only place a link's text may show
TEXT_CHARS = MESSAGE_CHARS + 40  # a cut message ends with "… (N characters)"


def elements(node):
    """Every element of an AppTest tree, depth first."""
    yield node
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield from elements(child)


def leaks(at) -> list[str]:
    """Elements outside st.text whose content carries a marker of a hostile value."""
    found = []
    for element in elements(at._tree):
        proto = getattr(element, "proto", None)
        if proto is None or element.type in LITERAL_TYPES:
            continue
        content = str(proto)
        found += [f"{element.type}: {m}" for m in MARKERS if m in content]
    return found


def open_fuzzed(page: str, query: dict) -> AppTest:
    """``page`` opened on ``query`` in a new session; on the explorer every optimizer's editor
    is open, so that its inputs are drawn with the link's values."""
    at = new_app()
    for key, value in query.items():
        at.query_params[key] = value
    if page == "views/explorer.py":
        for eid in range(MAX_OPTIMIZERS):
            at.session_state[f"opt{eid}_editor_open"] = True
    else:
        at.switch_page(page)
    at.run()
    return at


def check_page(page: str, query: dict) -> None:
    at = open_fuzzed(page, query)
    assert not at.exception, (query, [e.message for e in at.exception])
    assert leaks(at) == [], query
    texts = [t.value for t in at.text]
    assert all(len(t) <= TEXT_CHARS for t in texts), (query, texts)
    assert sum(map(len, texts)) <= 12 * TEXT_CHARS


def fuzzed_links(page: str) -> list[dict]:
    """Every key of the page at once set to each edge number, then to each hostile text, then
    a few random mixes (repeated keys, unknown keys)."""
    keys = PAGES[page]
    rng = random.Random(f"page-{page}")
    return [
        *({key: value for key in keys} for value in EDGE_NUMBERS),
        *({key: value for key in keys} for value in HOSTILE_TEXT),
        *(hostile_query(rng, keys, share=0.4) for _ in range(RANDOM_LINKS)),
    ]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_takes_hostile_links(page):
    for query in fuzzed_links(page):
        check_page(page, query)


def test_a_hostile_link_shows_as_literal_text():
    """The links of the report: a Markdown link and a tracking pixel in ``ls``, a formula with a
    comment; each is named in the page's literal text and nowhere else."""
    pixel = "![t](https://evil.example/pixel.png)"
    at = open_fuzzed(
        "views/explorer.py", {"ls": pixel, "o": "[Log in again](https://evil.example/login)"}
    )
    assert leaks(at) == []
    shown = " ".join(t.value for t in at.text)
    assert repr(pixel) in shown and "Log in again" in shown
    at = open_fuzzed(
        "views/explorer.py",
        {"ls": "custom", "fx": "x**2 + y**2 # ![t](https://evil.example/p.png)"},
    )
    assert leaks(at) == []
    assert "a formula has no comments" in " ".join(t.value for t in at.text)
    assert at.query_params.get("fx") != "x**2 + y**2 # ![t](https://evil.example/p.png)"
