"""The Lessons page: ready explorer views with an explanation each, and a link builder for teachers.

A lesson opens the explorer with its view (``st.switch_page`` with the lesson's query), so the
explorer's URL is the lesson's link. The link builder picks a lesson (or the current scene), the
controls a student sees, and presenter mode, and shows the resulting link.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

import streamlit as st

from app import lessons, presenter
from app.state import AppState


def explorer_link(state: AppState) -> str:
    """An absolute link to the explorer (the app's root) showing ``state``."""
    scheme, netloc, _, _, _ = urlsplit(st.context.url or "")
    return urlunsplit((scheme, netloc, "/", urlencode(state.to_query(), doseq=True), ""))


def lesson_card(lesson: lessons.Lesson) -> None:
    with st.container(border=True):
        st.markdown(f"#### {lesson.title}")
        st.markdown(lesson.explanation)
        st.markdown(f"**What to notice:** {lesson.notice}")
        left, right = st.columns([1, 3], vertical_alignment="center")
        where = "explorer" if lesson.page == "views/explorer.py" else "network page"
        if left.button(f"Open in the {where}", key=f"open_{lesson.id}", type="primary"):
            st.session_state.explorer_reload = True
            st.switch_page(lesson.page, query_params=lesson.query())
        prefix = "" if lesson.page == "views/explorer.py" else "network"
        right.caption(f"Link: `{prefix}?{urlencode(lesson.query(), doseq=True)}`")


def render() -> None:
    st.header("Lessons")
    st.caption(
        "Each lesson is a complete view of the explorer: the same surface, optimizers, start and "
        "noise seed, so it draws the same picture every time. Open one, then change anything."
    )
    with st.expander("Link builder: what students see", expanded=False):
        choices = {
            "": "The current explorer scene",
            **{x.id: x.title for x in lessons.EXPLORER_LESSONS},
        }
        picked = st.selectbox("View", list(choices), format_func=choices.get, key="builder_view")
        base = lessons.get(picked).view() if picked else st.session_state.get("scene", AppState())
        state = presenter.link_builder(base, key="lessons_builder")
        st.code(explorer_link(state), language=None)
    for lesson in lessons.LESSONS:
        lesson_card(lesson)


render()
