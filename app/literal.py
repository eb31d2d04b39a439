"""Text from a link or a formula, made fit to show as literal text.

Streamlit renders the body of ``st.warning``, ``st.info``, ``st.caption`` and ``st.markdown`` as
Markdown, and Markdown cannot be escaped into literal text there: backslash escapes stop links
and emphasis, but Streamlit still turns bare ``https://…`` and ``www.…`` into live links, emoji
and icon shortcodes into pictures and ``<-`` into arrows after parsing. So no text from a link or
a formula goes into a Markdown body. It is shown with ``st.text`` (no Markdown, no HTML) or
``st.code``, after these helpers:

- ``quoted`` writes a value as it is quoted inside a message: its repr, cut to ``VALUE_CHARS``
  characters with its full length stated;
- ``literal`` cuts a whole message to ``MESSAGE_CHARS`` characters and writes control, format and
  line-separator characters as visible ``\\uXXXX`` escapes, so a value cannot break lines,
  reverse the text's direction or hide characters.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import streamlit as st

VALUE_CHARS = 40  # characters of a quoted value shown before it is cut
MESSAGE_CHARS = 300  # characters of one message shown before it is cut
ELLIPSIS = "…"

# characters a message may not carry into the page as themselves: controls (line breaks, tabs),
# format characters (bidirectional overrides, zero-width joiners), line and paragraph
# separators, surrogates, private-use and unassigned code points
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def visible(text: str) -> str:
    """``text`` with every invisible character (see ``_INVISIBLE``) written as a ``\\uXXXX``
    escape and every other kind of space as a plain space."""
    out = []
    for char in text:
        category = unicodedata.category(char)
        if category in _INVISIBLE:
            code = ord(char)
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        elif category == "Zs":
            out.append(" ")
        else:
            out.append(char)
    return "".join(out)


def shortened(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis and its full length, e.g.
    ``"abc… (100000 characters)"``; unchanged when it fits."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}{ELLIPSIS} ({len(text)} characters)"


def quoted(value: object, limit: int = VALUE_CHARS) -> str:
    """A value from a link as a message quotes it: the repr of its text (quotes and escapes show
    exactly what was typed), cut to ``limit`` characters with the text's full length stated."""
    value = str(value)
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}{ELLIPSIS} ({len(value)} characters)"


def literal(text: str, limit: int = MESSAGE_CHARS) -> str:
    """A message for ``st.text``: at most ``limit`` characters of ``text`` (its full length
    stated when cut), every invisible character made visible."""
    return visible(shortened(text, limit))


# --- showing it ------------------------------------------------------------------------------------

MAX_LINK_MESSAGES = 8  # messages shown for one link; the rest are counted


def show_link_messages(messages: Sequence[str]) -> None:
    """Warn of the parts of a link that could not be used: one warning in the app's own words,
    then each message as literal text (``st.text``), at most ``MAX_LINK_MESSAGES`` of them."""
    if not messages:
        return
    with st.container(border=True):
        st.warning(
            "Part of this link could not be used; the rest of it applies.",
            icon=":material/link_off:",
        )
        for message in messages[:MAX_LINK_MESSAGES]:
            st.text(literal(message))
        if len(messages) > MAX_LINK_MESSAGES:
            st.text(f"… and {len(messages) - MAX_LINK_MESSAGES} more.")


def show_problem(heading: str, detail: str, *, error: bool = True) -> None:
    """An error (or, with ``error=False``, a warning): ``heading`` in the app's own words in the
    coloured box, ``detail`` (an exception's message, which may quote a link or a formula) below
    it as literal text."""
    with st.container(border=True):
        (st.error if error else st.warning)(heading)
        st.text(literal(detail))
