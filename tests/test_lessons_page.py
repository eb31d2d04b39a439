"""The Lessons page: a card per lesson with its picture, title, one line and an absolute link."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from apptest_helpers import run_page
from PIL import Image
from streamlit.testing.v1 import AppTest

from app import explorer_link, lessons, page_links
from app.deep_state import DeepState
from app.network_state import NetworkState
from app.page_links import app_root, page_link


@pytest.mark.parametrize("lesson", lessons.LESSONS, ids=lambda lesson: lesson.id)
def test_every_lesson_has_a_small_picture_and_one_line(lesson):
    assert lesson.thumbnail.is_file(), "run: python -m bench.lesson_thumbnails"
    with Image.open(lesson.thumbnail) as image:
        assert image.format == "PNG" and image.width == 480 and 200 < image.height < 1200
    assert lesson.thumbnail.stat().st_size < 120_000
    assert lesson.summary and "\n" not in lesson.summary and len(lesson.summary) <= 80


@pytest.mark.parametrize(
    ("url", "root"),
    [
        ("http://localhost:8501/lessons", "http://localhost:8501/"),
        ("http://localhost:8501/lessons/", "http://localhost:8501/"),
        ("https://class.example.org/optiscape/lessons", "https://class.example.org/optiscape/"),
        ("http://localhost:8501/", "http://localhost:8501/"),
        ("", None),
        (None, None),
        ("/lessons", None),
        ("javascript:alert(1)", None),
    ],
)
def test_the_app_root_is_the_lessons_page_address_without_the_page(url, root):
    assert app_root(url, "lessons") == root


def test_a_lesson_link_is_absolute_under_the_root_and_decodes_to_the_lesson():
    root = "https://class.example.org/optiscape/"
    for lesson in lessons.LESSONS:
        link = page_link(root, lesson.url_path, lesson.query(play=True))
        parts = urlsplit(link)
        assert parts.scheme == "https" and parts.netloc == "class.example.org"
        assert parts.path == "/optiscape/" + lesson.url_path
        read = {"network": NetworkState.from_query, "deep": DeepState.from_query}.get(
            lesson.url_path, explorer_link.from_query
        )
        state, warnings = read(parse_qs(parts.query))
        assert warnings == [] and state == lesson.view(play=True)
    assert page_link(None, "network", {"v": "1"}) == "network?v=1"  # the relative fallback


def open_lessons_page() -> AppTest:
    return run_page("views/lessons.py")


def shown_links(at: AppTest) -> list[str]:
    return [c.value for c in at.code]


def test_the_page_shows_one_picture_and_one_link_per_lesson_relative_without_an_address():
    at = open_lessons_page()
    assert len(at.get("image")) == len(lessons.LESSONS)  # st.image: one picture per card
    links = shown_links(at)[1:]  # the first is the link builder's
    assert len(links) == len(lessons.LESSONS)
    assert all(link.startswith(("?", "network?", "deep?")) for link in links)
    assert any("does not know its own address" in i.value for i in at.info)
    captions = " ".join(c.value for c in at.caption)
    assert all(lesson.summary in captions for lesson in lessons.LESSONS)


def test_the_page_shows_absolute_links_when_it_knows_its_address(monkeypatch):
    monkeypatch.setattr(page_links, "app_root", lambda url, page="": "http://hall.example:8501/")
    at = open_lessons_page()
    links = shown_links(at)
    assert len(links) == len(lessons.LESSONS) + 1
    assert all(link.startswith("http://hall.example:8501/") for link in links)
    assert links[1:] == [
        page_link("http://hall.example:8501/", x.url_path, x.query(play=True))
        for x in lessons.LESSONS
    ]
    assert not at.info
