"""The Lessons page: ready views, one card each, and a link builder for teachers.

Each card shows a picture of what the lesson shows (``assets/lessons/<id>.png``, written by
``python -m bench.lesson_thumbnails``), its title, one line, a button that opens it, and its
absolute link to copy; the explanation is one click away. A lesson opens its page with its view
(``st.switch_page`` with the lesson's query), so that page's URL is the lesson's link. The link
builder picks a lesson (or the current scene), the controls a student sees, and presenter mode,
and shows the resulting link.
"""

from __future__ import annotations

import functools
from pathlib import Path

import streamlit as st

from app import lessons, presenter
from app.page_links import app_root, page_link
from app.state import AppState

COLUMNS = 3  # cards per row
PAGE_PATH = "lessons"  # this page's url_path (app.main)
RELATIVE_NOTE = (
    "This page does not know its own address here: each link is shown as the part to add "
    "after the app's address (for example http://localhost:8501/)."
)


def root() -> str | None:
    """The app's address as the browser sees it, or None (then links are shown relative)."""
    return app_root(st.context.url, PAGE_PATH)


def explorer_link(state: AppState) -> str:
    """A link to the explorer (the app's root) showing ``state``."""
    return page_link(root(), "", state.to_query())


@functools.lru_cache(maxsize=64)
def thumbnail(path: Path) -> bytes | None:
    """A lesson's picture, read once per server process (None where there is none yet)."""
    try:
        return path.read_bytes()
    except OSError:
        return None


def lesson_card(lesson: lessons.Lesson, base: str | None) -> None:
    with st.container(border=True):
        picture = thumbnail(lesson.thumbnail)
        if picture is not None:
            st.image(picture, width="stretch")
        else:
            st.caption("(no picture yet: python -m bench.lesson_thumbnails)")
        st.markdown(f"**{lesson.title}**")
        st.caption(lesson.summary)
        if st.button(
            f"Open in the {lesson.page_title}",
            key=f"open_{lesson.id}",
            type="primary",
            width="stretch",
        ):
            st.session_state.explorer_reload = True
            st.switch_page(lesson.page, query_params=lesson.query(play=True))
        link = page_link(base, lesson.url_path, lesson.query(play=True))
        st.code(link, language=None, wrap_lines=True)
        with st.expander("Explanation"):
            st.markdown(lesson.explanation)
            st.markdown(f"**What to notice:** {lesson.notice}")


def render() -> None:
    st.header("Lessons")
    st.caption(
        "Each lesson is a complete view: the same surface, optimizers, start and noise seed, so "
        "it draws the same picture every time. Open one, then change anything; copy its link "
        "into slides or a message."
    )
    base = root()
    if base is None:
        st.info(RELATIVE_NOTE)
    with st.expander("Link builder: what students see", expanded=False):
        choices = {
            "": "The current explorer scene",
            **{x.id: x.title for x in lessons.EXPLORER_LESSONS},
        }
        picked = st.selectbox("View", list(choices), format_func=choices.get, key="builder_view")
        scene = lessons.get(picked).view() if picked else st.session_state.get("scene", AppState())
        state = presenter.link_builder(scene, key="lessons_builder")
        st.code(explorer_link(state), language=None, wrap_lines=True)
    for start in range(0, len(lessons.LESSONS), COLUMNS):
        row = lessons.LESSONS[start : start + COLUMNS]
        for column, lesson in zip(st.columns(COLUMNS), row, strict=False):
            with column:
                lesson_card(lesson, base)


render()
