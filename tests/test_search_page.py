"""The hyperparameter-search page: AppTest (it runs, links restore, bad links warn, bad settings
give a message) and one browser test that the trial maps are drawn with the engine's trials."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode

import numpy as np
import pytest
from apptest_helpers import chart_figures, message_text, open_page, written_query
from streamlit.testing.v1 import AppTest

from app import explorer_link
from app.network_state import NetworkState
from app.search_state import SearchState
from app.state import AppState, OptimizerEntry
from studies import tuning

# a small search: two surfaces' worth of settings that differ from every default
SMALL = SearchState(
    landscape="himmelblau",
    optimizer="momentum",
    start=(0.5, -0.5),
    steps=60,
    param="momentum",
    lr_range=(1e-3, 0.1),
    param_range=(0.5, 0.95),
    budget=12,
    seed=3,
    searchers=("grid", "tpe", "cmaes"),
)


def open_search_page(
    query: dict[str, str] | None = None, scene: AppState | None = None, no_scene: bool = False
) -> AppTest:
    """The search page on ``query``; ``scene`` replaces the explorer's scene, ``no_scene``
    drops it."""

    def set_scene(at: AppTest) -> None:
        if scene is not None or no_scene:
            at.session_state["scene"] = scene

    return open_page("views/search.py", query, set_scene)


def written(at: AppTest) -> SearchState:
    state, warnings = SearchState.from_query(written_query(at))
    assert warnings == []
    return state


def figure(at: AppTest, key: str) -> dict:
    chart = next(c for c in at.get("bidi_component") if c.proto.id.endswith(f"-{key}"))
    return json.loads(chart.proto.bytes)


def trials_trace(fig: dict) -> dict:
    return next(t for t in fig["data"] if t.get("name") == "trials")


def test_a_non_default_link_restores_and_draws_the_engine_trials():
    at = open_search_page(SMALL.to_query())
    assert not at.warning, [w.value for w in at.warning]
    assert not at.error, [e.value for e in at.error]
    assert written(at) == SMALL
    assert at.selectbox(key="s_landscape").value == "himmelblau"
    assert at.selectbox(key="s_optimizer").value == "momentum"
    assert at.number_input(key="s_budget").value == 12
    assert at.number_input(key="s_p_low").value == 0.5
    assert at.multiselect(key="s_searchers").value == ["grid", "tpe", "cmaes"]
    # one map per searcher, the best-so-far chart and the animation
    assert len(chart_figures(at)) == 3 + 2
    results = tuning.run_searches(
        SMALL.problem(), SMALL.space(), SMALL.searchers, SMALL.budget, SMALL.seed
    )
    for key, r in results.items():
        trace = trials_trace(figure(at, f"map_{key}"))
        np.testing.assert_allclose(trace["x"], np.log10(r.params[:, 0]), atol=1e-5)
        np.testing.assert_allclose(trace["y"], r.params[:, 1], atol=1e-5)
        assert trace["text"] == [str(i) for i in range(1, r.values.size + 1)]
    # "Apply best to the explorer": links carrying each searcher's best setting
    links = at.get("page_link")
    assert len(links) == 3
    for link, r in zip(links, results.values(), strict=True):
        assert link.proto.page == ""  # the explorer: the default page, at the app's root
        state, warnings = explorer_link.from_query(parse_qs(link.proto.query_string))
        assert warnings == []
        assert state.landscape == "himmelblau" and state.start == (0.5, -0.5)
        values = state.optimizers[0].values
        assert state.optimizers[0].name == "momentum"
        assert values["lr"] == pytest.approx(r.best_params["lr"])
        assert values["momentum"] == pytest.approx(r.best_params["momentum"])


def test_the_page_opens_on_the_explorer_scene():
    scene = AppState(
        landscape="booth",
        start=(2.0, -3.0),
        optimizers=(OptimizerEntry.make("gd"), OptimizerEntry.make("adam", lr=0.1)),
        steps=40,
    )
    at = open_search_page(scene=scene)
    state = written(at)
    assert (state.landscape, state.start, state.steps) == ("booth", (2.0, -3.0), 40)
    # the first optimizer with a momentum or beta1 to search (gd has neither)
    assert state.optimizer == "adam"
    assert at.selectbox(key="s_param").value == "beta1"


def test_a_malformed_link_warns_and_falls_back():
    query = {
        **SMALL.to_query(),
        "n": "0",
        "lr": "abc",
        "hp": "beta9",
        "s": "grid,hill",
        "steps": "-5",
        "ls": "himmelblau",
    }
    at = open_search_page(query)
    text = message_text(at)
    for part in ("the budget n='0'", "lr='abc'", "'beta9'", "searcher 'hill'", "steps='-5'"):
        assert part in text, (part, text)
    state = written(at)
    assert state.budget == 50 and state.steps == 300 and state.searchers == ("grid",)
    assert state.lr_range == (1e-4, 1.0) and state.param is None
    assert state.landscape == "himmelblau"  # the rest of the link applies
    assert not at.error


def test_bad_settings_show_a_message():
    at = open_search_page(SMALL.to_query())
    at.number_input(key="s_p_low").set_value(0.9)
    at.number_input(key="s_p_high").set_value(0.6).run()
    assert not at.exception
    assert "is empty" in message_text(at)
    at.number_input(key="s_p_high").set_value(0.95)
    at.multiselect(key="s_searchers").set_value([]).run()
    assert not at.error
    assert "No searcher selected" in message_text(at)
    # choosing another optimizer resets the second hyperparameter and its range
    at.multiselect(key="s_searchers").set_value(["grid"])
    at.selectbox(key="s_optimizer").set_value("nesterov").run()
    assert not at.exception and not at.error
    assert at.selectbox(key="s_param").value == "momentum"
    assert (at.number_input(key="s_p_low").value, at.number_input(key="s_p_high").value) == (
        0.01,
        0.99,
    )
    state = written(at)
    assert state.optimizer == "nesterov" and state.searchers == ("grid",)
    assert state.space().param_range == (0.01, 0.99)


def test_the_default_page_runs_every_searcher():
    at = open_search_page(no_scene=True)
    assert not at.warning and not at.error
    assert written(at) == SearchState()
    assert at.title[0].value == "Hyperparameter search"
    assert len(chart_figures(at)) == len(tuning.SEARCHERS) + 2
    assert any("no verdict on an optimizer" in m.value for m in at.markdown)
    table = at.dataframe[0].value
    assert list(table["Trials"]) == [49, 50, 50, 50, 50, 50]


# a small network search: spirals, one hidden layer, 30 mini-batch steps, 8 trials of 2 searchers
NET_SMALL = SearchState(
    kind="network",
    dataset="spirals",
    samples=200,
    noise=0.1,
    widths=(8,),
    net_steps=30,
    minibatch=32,
    optimizer="momentum",
    budget=8,
    seed=1,
    searchers=("random", "cmaes"),
)


def test_a_network_link_runs_and_draws_the_maps():
    at = open_search_page(NET_SMALL.to_query())
    assert not at.warning, [w.value for w in at.warning]
    assert not at.error, [e.value for e in at.error]
    assert written(at) == NET_SMALL
    assert at.radio(key="s_kind").value == "network"
    assert at.selectbox(key="s_data").value == "spirals"
    assert at.text_input(key="s_widths").value == "8"
    assert len(chart_figures(at)) == 2 + 2
    results = tuning.run_searches(NET_SMALL.problem(), NET_SMALL.space(), NET_SMALL.searchers, 8, 1)
    for key, r in results.items():
        trace = trials_trace(figure(at, f"map_{key}"))
        np.testing.assert_allclose(trace["x"], np.log10(r.params[:, 0]), atol=1e-5)
        np.testing.assert_allclose(trace["y"], r.params[:, 1], atol=1e-5)
    assert any("validation cross-entropy" in i.value for i in at.info)
    assert any("coarser" in c.value for c in at.caption)
    # links to the network page with the best learning rate (the only hyperparameter it keeps)
    links = at.get("page_link")
    assert len(links) == 2
    for link, r in zip(links, results.values(), strict=True):
        assert link.proto.page.endswith("network")
        state, warnings = NetworkState.from_query(parse_qs(link.proto.query_string))
        assert warnings == []
        assert state.dataset == "spirals" and state.widths == (8,) and state.steps == 30
        assert state.optimizers[0].name == "momentum"
        assert state.optimizers[0].lr == pytest.approx(r.best_params["lr"])


def test_a_malformed_network_link_warns_and_falls_back():
    query = {
        **NET_SMALL.to_query(),
        "widths": "8-abc",
        "ns": "7",
        "data": "mnist",
        "noise": "inf",
        "mb": "-3",
    }
    at = open_search_page(query)
    text = message_text(at)
    for part in ("widths='8-abc'", "ns='7'", "'mnist'", "noise='inf'", "mb='-3'"):
        assert part in text, (part, text)
    state = written(at)
    assert state.kind == "network" and state.net_steps == 30  # the rest of the link applies
    assert state.widths == (16, 16) and state.samples == 300 and state.dataset == "moons"
    assert state.noise == 0.2 and state.minibatch == 0
    assert not at.error


def test_switching_the_problem_kind_keeps_each_kinds_settings():
    at = open_search_page(SMALL.to_query())
    at.radio(key="s_kind").set_value("network").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.text_input(key="s_widths").set_value("8").run()
    at.number_input(key="s_net_steps").set_value(20).run()
    assert not at.exception and not at.error
    state = written(at)
    assert state.kind == "network" and state.widths == (8,) and state.net_steps == 20
    at.radio(key="s_kind").set_value("surface").run()
    assert not at.exception and not at.error
    state = written(at)
    assert state.kind == "surface" and state.landscape == "himmelblau"  # kept while hidden
    assert state.start == (0.5, -0.5) and state.steps == 60
    at.radio(key="s_kind").set_value("network").run()
    assert written(at).widths == (8,) and at.text_input(key="s_widths").value == "8"
    at.text_input(key="s_widths").set_value("8-abc").run()
    assert "hidden widths '8-abc'" in message_text(at)


# --- in a browser -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser_page(server, browser) -> Iterator:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(180_000)
    # the router must have run once before a page's own URL is served by it
    page.goto(server + "/")
    page.wait_for_selector('[data-testid="stSidebarNav"] >> text=Tune')
    yield server, page
    page.close()


def test_the_browser_draws_the_trial_maps(browser_page):
    base, page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/search?{urlencode(SMALL.to_query())}")
    selector = ".st-key-map_tpe .js-plotly-plot"
    page.wait_for_function(
        f"() => {{ const el = document.querySelector({selector!r});"
        " return !!el && Array.isArray(el.data) && el.data.some((t) => t.name === 'trials'); }"
    )
    drawn = page.locator(selector).evaluate(
        "(el) => { const t = el.data.find((t) => t.name === 'trials');"
        " return {x: Array.from(t.x), y: Array.from(t.y), n: el.querySelectorAll("
        "'.scatterlayer .point').length, heatmap: el.data.some((t) => t.type === 'heatmap')}; }"
    )
    r = tuning.run_search(SMALL.problem(), SMALL.space(), "tpe", SMALL.budget, SMALL.seed)
    np.testing.assert_allclose(drawn["x"], np.log10(r.params[:, 0]), atol=1e-5)
    np.testing.assert_allclose(drawn["y"], r.params[:, 1], atol=1e-5)
    assert drawn["heatmap"]
    assert drawn["n"] >= SMALL.budget  # the trial markers are in the SVG
    for key in SMALL.searchers:
        assert page.locator(f".st-key-map_{key} .js-plotly-plot").count() == 1
    # the animation: one frame per trial, the map as a layout image under each panel
    frames = page.locator(".st-key-animation .js-plotly-plot").evaluate(
        "(el) => [el._transitionData._frames.length, el.querySelectorAll('.imagelayer image').length]"
    )
    assert frames == [SMALL.budget, len(SMALL.searchers)]
    assert page.locator('[data-testid="stException"]').count() == 0
    # "Apply best to the explorer" opens the explorer on TPE's best setting, through the URL
    page.get_by_text("Apply best to the explorer").nth(1).click()
    page.wait_for_url("**/?*")
    page.wait_for_selector(".st-key-contour .js-plotly-plot")
    state, warnings = explorer_link.from_query(parse_qs(page.url.split("?", 1)[1]))
    assert warnings == []
    assert state.optimizers[0].name == "momentum" and state.landscape == "himmelblau"
    assert state.optimizers[0].values["lr"] == pytest.approx(r.best_params["lr"])
    assert state.optimizers[0].values["momentum"] == pytest.approx(r.best_params["momentum"])
    assert errors == []
