"""Presenter links: stored v=1 links keep their meaning (even when engine defaults change), hidden
and locked controls, presenter styling, and the link builder."""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from apptest_helpers import chart_figures, message_text, run_explorer, status_table
from streamlit.testing.v1 import AppTest

import landscapes
import optimizers
from app import compute, explorer_link, presenter, surfaces
from app.charts.contour import contour_figure
from app.charts.explorer import curves_figure
from app.charts.style import OKABE_ITO
from app.links import v1
from app.state import AppState, OptimizerEntry
from landscapes import registry
from optimizers import base as opt_base

ROOT = Path(__file__).resolve().parent.parent
STORED = json.loads((ROOT / "tests" / "data" / "links_v1.json").read_text())["links"]


def decode(link: str) -> AppState:
    state, warnings = explorer_link.from_query(
        parse_qs(urlsplit(link).query, keep_blank_values=True)
    )
    assert warnings == [], warnings
    return state


def first_positions(state: AppState, n: int = 6) -> np.ndarray:
    result = optimizers.simulate(
        state.surface(),
        [e.spec() for e in state.optimizers],
        [state.start_point()],
        steps=state.steps,
        seed=state.seed,
    )
    return result.positions[:, 0, :n]


def check_stored(case: dict) -> None:
    state = decode(case["link"])
    want = case["expected"]
    land = state.surface()
    assert state.landscape == want["landscape"]
    if state.landscape != "custom":
        assert {k: v for k, v in land.params} == want["landscape_params"]
    else:
        assert state.formula == want["formula"]
    assert [list(p) for p in land.domain] == want["domain"]
    assert list(state.start_point()) == want["start"]
    for field in ("steps", "seed", "step", "lesson", "present", "theme", "show_3d"):
        assert getattr(state, field) == want[field], field
    assert list(state.hide) == want["hide"] and list(state.lock) == want["lock"]
    got = [
        {"name": e.name, "hyperparams": e.values, "schedule": e.schedule.kind}
        for e in state.optimizers
    ]
    assert got == want["optimizers"]
    np.testing.assert_allclose(
        first_positions(state), np.array(case["first_positions"]), rtol=1e-12, atol=1e-15
    )
    # re-encoding keeps the meaning too
    assert decode("?" + "&".join(f"{k}={v}" for k, v in _flat(state.to_query()))) == state


def _flat(query):
    for k, v in query.items():
        for item in [v] if isinstance(v, str) else v:
            yield k, item.replace("+", "%2B").replace("&", "%26")


@pytest.mark.parametrize("case", STORED, ids=lambda c: c["link"][:60])
def test_stored_v1_links_keep_their_meaning(case):
    check_stored(case)


@pytest.fixture
def changed_defaults(monkeypatch):
    """Simulate a later version of the engine whose defaults differ from v=1's."""

    def with_default(name: str, **new: float | bool) -> None:
        opt = optimizers.get(name)
        hps = tuple(
            replace(h, default=new[h.name]) if h.name in new else h for h in opt.hyperparams
        )
        monkeypatch.setitem(opt_base._REGISTRY, name, replace(opt, hyperparams=hps))

    with_default("gd", lr=0.01)
    with_default("adam", lr=0.003, beta1=0.8)
    with_default("adagrad", lr=0.1)
    with_default("sgd", lr=0.01)
    with_default("momentum", momentum=0.5)
    with_default("lbfgs", history_size=5)

    factory, specs = registry._FACTORIES["rosenbrock"]
    specs = tuple(replace(p, default=50.0) if p.name == "b" else p for p in specs)

    def moved(**params):
        return replace(factory(**params), start=(0.5, 0.5))

    monkeypatch.setitem(registry._FACTORIES, "rosenbrock", (moved, specs))
    plateau, pspecs = registry._FACTORIES["plateau"]
    monkeypatch.setitem(
        registry._FACTORIES,
        "plateau",
        (lambda **p: replace(plateau(**p), start=(-1.0, -1.0)), pspecs),
    )
    assert optimizers.get("gd").defaults["lr"] == 0.01
    assert landscapes.get("rosenbrock").start == (0.5, 0.5)
    assert dict(landscapes.get("rosenbrock").params)["b"] == 50.0
    surfaces._landscape_for.cache_clear()  # the app remembers landscapes: built anew from here
    yield
    surfaces._landscape_for.cache_clear()  # and not kept for the tests after


@pytest.mark.parametrize("case", STORED, ids=lambda c: c["link"][:60])
def test_stored_links_keep_their_meaning_after_defaults_change(case, changed_defaults):
    check_stored(case)


def test_new_links_under_changed_defaults_name_the_values_v1_would_not_assume(changed_defaults):
    state = AppState(optimizers=(OptimizerEntry.make("gd"),))  # today's gd: lr 0.01
    query = state.to_query()
    assert "gd,lr=0.01" in query["o"] and query["lp"] == "b:50" and query["start"] == "0.5,0.5"
    back = decode("?" + "&".join(f"{k}={v}" for k, v in _flat(query)))
    # the same meaning (the link names b and the start explicitly now)
    assert back.surface() == state.surface() and back.start_point() == state.start_point()
    assert back.optimizers == state.optimizers


def test_the_v1_tables_name_only_registered_optimizers_and_landscapes():
    # the tables are the v=1 registry: what was added after v=1 has no entry (and needs none,
    # tests/test_plugins.py), but every entry is still registered with the names it had
    for name, frozen in v1.OPTIMIZER_DEFAULTS.items():
        assert set(frozen) <= set(optimizers.get(name).defaults), name
    for key, start in v1.STARTS.items():
        assert key in landscapes.available() and len(start) == 2, key
        names = {p.name for p in landscapes.parameters(key)}
        assert set(v1.LANDSCAPE_PARAMS.get(key, {})) == names, key
    assert set(v1.SCHEDULE_DEFAULTS) >= {"step_size", "gamma", "t_max", "warmup"}


def test_the_v1_tables_are_the_frozen_data():
    # the JSON is generated once (app/links/freeze_v1.py) and never edited: its bytes are fixed
    data = (ROOT / "app" / "links" / "v1_defaults.json").read_bytes()
    assert hashlib.sha256(data).hexdigest() == (
        "7df514a18279e47b9492e3b4c3f9aac5ee18a4872a2b4a4115ce527eda3a97b9"
    )


# -- hidden and locked controls, presenter mode -------------------------------------------------


def written(at: AppTest) -> AppState:
    return explorer_link.from_query(dict(at.query_params))[0]


BASE = {"ls": "himmelblau", "o": ["rmsprop,lr=0.1", "gd,lr=0.01"], "steps": "80"}


def test_hidden_controls_are_not_drawn_and_locked_ones_are_disabled():
    plain = run_explorer(BASE)
    at = run_explorer({**BASE, "hide": "optimizers,steps", "lock": "landscape,start"})
    assert not at.warning
    keys = {w.key for w in at.sidebar.get("select_slider")} | {w.key for w in at.sidebar.slider}
    assert "opt0_lr" not in keys and "steps" not in keys
    assert not any(b.label == "Add" for b in at.button)
    assert at.selectbox(key="landscape").disabled
    assert at.number_input(key="start_x").disabled
    # the view itself is unchanged: same runs, same table
    assert status_table(plain).equals(status_table(at))
    state = written(at)
    assert state.hide == ("optimizers", "steps") and state.lock == ("landscape", "start")
    assert len(state.optimizers) == 2 and state.steps == 80


def test_a_bad_control_name_warns_and_the_rest_applies():
    at = run_explorer({**BASE, "hide": "optimizers,warp", "theme": "neon", "present": "yes"})
    text = message_text(at)
    assert "'warp'" in text and "theme=" in text and "present=" in text
    assert written(at).hide == ("optimizers",)


def test_presenter_mode_link_renders_and_is_kept():
    at = run_explorer({**BASE, "present": "1", "theme": "dark", "lesson": "himmelblau-basins"})
    assert not at.warning
    state = written(at)
    assert state.present and state.theme == "dark" and state.lesson == "himmelblau-basins"
    charts = chart_figures(at)
    assert len(charts) == 3
    for fig in charts:  # the presenter's dark styling, not the app's template over it
        assert fig["layout"]["paper_bgcolor"] == presenter.THEME_COLOURS["dark"]["paper"]
        assert fig["layout"]["template"] == "plotly_dark"


def test_the_link_builder_makes_a_student_link():
    at = run_explorer(BASE)
    at.multiselect(key="explorer_builder_hide").set_value(["optimizers", "share"])
    at.multiselect(key="explorer_builder_lock").set_value(["landscape"])
    at.toggle(key="explorer_builder_present").set_value(True)
    at.run()
    link = next(c.value for c in at.code if "hide=" in c.value)
    state = decode(link)
    assert state.hide == ("optimizers", "share") and state.lock == ("landscape",)
    assert state.present and state.landscape == "himmelblau" and len(state.optimizers) == 2
    assert written(at).hide == ()  # the teacher's own view is unchanged


@pytest.fixture(scope="module")
def figs():
    state = AppState(
        landscape="himmelblau",
        optimizers=(
            *(OptimizerEntry.make(n, lr=0.01) for n in ("gd", "momentum", "sgd", "adam", "nadam")),
            OptimizerEntry.make("rmsprop"),
            OptimizerEntry.make("adamax"),
        ),
        steps=60,
    )
    surface = compute.surface(state.landscape, state.engine_params())
    runs = compute.runs(
        state.landscape, state.engine_params(), state.optimizers, state.start_point(), 60, 0
    )
    return (
        contour_figure(surface, runs, 60, log_colour=False),
        curves_figure(runs, 60),
    )


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_restyle_enlarges_type_and_lines_and_keeps_the_animation(figs, theme):
    for fig in figs:
        before = copy.deepcopy(fig.to_dict())
        out = presenter.restyle(fig, theme).to_dict()
        assert fig.to_dict() == before  # the original is untouched
        assert presenter.restyle(fig, theme) is presenter.restyle(fig, theme)
        assert out["layout"]["font"]["size"] >= presenter.MIN_FONT
        assert out.get("frames") is before.get("frames") or out.get("frames") == before.get(
            "frames"
        )
        for old, new in zip(before["data"], out["data"], strict=True):
            width = (old.get("line") or {}).get("width")
            if isinstance(width, int | float):
                assert new["line"]["width"] == pytest.approx(width * presenter.LINE_SCALE)
        sizes_before, sizes_after = _font_sizes(before["layout"]), _font_sizes(out["layout"])
        assert max(sizes_after) <= max(max(sizes_before) * presenter.FONT_SCALE, 20) + 1e-9
        bg = out["layout"]["paper_bgcolor"]
        assert bg == presenter.THEME_COLOURS[theme]["paper"]


def test_dark_theme_turns_black_curves_white_but_not_over_the_light_surface(figs):
    contour, curves = figs
    dark_curves = presenter.restyle(curves, "dark").to_dict()["data"]
    colours = {(t.get("line") or {}).get("color") for t in dark_curves} - {None}
    assert "#000000" not in colours and "#ffffff" in colours
    palette = {c.lower() for c in OKABE_ITO} | {"#ffffff"}
    assert {c.lower() for c in colours if c.startswith("#")} <= palette
    dark_contour = presenter.restyle(contour, "dark").to_dict()["data"]
    assert any((t.get("line") or {}).get("color") == "#000000" for t in dark_contour)


def _font_sizes(node) -> list[float]:
    out = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key.endswith("font") and isinstance(value, dict) and "size" in value:
                out.append(value["size"])
            out += _font_sizes(value)
    elif isinstance(node, list):
        for item in node:
            out += _font_sizes(item)
    return out
