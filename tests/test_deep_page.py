"""The "Deep learning" page: its link (round trips, bad values, literal text), its figures on
synthetic data, its budget, and the page under AppTest and in Chromium."""

from __future__ import annotations

import base64
import io
import math
from urllib.parse import parse_qs, urlencode, urlsplit

import numpy as np
import pytest
from apptest_helpers import chart_figures, message_text, open_page, written_query
from PIL import Image
from plotly.colors import sequential

from app import deep_compute
from app.charts import deep as dfig
from app.deep_state import (
    ACTIVATIONS,
    BATCH_RANGE,
    DEPTH_RANGE,
    INITS,
    VIEWS,
    DeepState,
    with_remedy,
)

PAGE = "views/deep.py"
FAST = {"gsteps": "20"}  # a short training keeps the AppTest runs quick

# --- the link ---------------------------------------------------------------------------------------


def random_state(rng: np.random.Generator) -> DeepState:
    sizes = sorted(rng.choice(np.arange(BATCH_RANGE[0], 200), rng.integers(1, 5), replace=False))
    return DeepState(
        view=str(rng.choice(VIEWS)),
        depth=int(rng.integers(*DEPTH_RANGE)),
        activation=str(rng.choice(ACTIVATIONS)),
        init=str(rng.choice(INITS)),
        init_scale=float(rng.choice([0.25, 0.5, 1.0, 2.0, 3.7])),
        batch_norm=bool(rng.integers(2)),
        residual=bool(rng.integers(2)),
        clip=float(rng.choice([0.0, 0.5, 1.0, 12.5])),
        grad_lr=float(rng.choice([0.001, 0.1, 0.37])),
        grad_steps=int(rng.integers(10, 1000)),
        eos_lr=float(rng.choice([0.05, 0.3, 1.25])),
        eos_steps=int(rng.integers(20, 1500)),
        batch_sizes=tuple(int(b) for b in sizes),
        batch_lr=float(rng.choice([0.01, 0.1, 0.33])),
        linear_scaling=bool(rng.integers(2)),
        epochs=int(rng.integers(1, 20)),
    )


def decode_link(state: DeepState) -> tuple[DeepState, list[str]]:
    return DeepState.from_query(parse_qs(urlencode(state.to_query(), doseq=True)))


def test_the_default_link_is_just_the_version():
    assert DeepState().to_query() == {"v": "1"}
    assert DeepState.from_query({}) == (DeepState(), [])


@pytest.mark.parametrize("seed", range(20))
def test_random_states_round_trip_through_a_url(seed):
    state = random_state(np.random.default_rng(seed))
    assert decode_link(state) == (state, [])


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ({"view": "plane"}, "view="),
        ({"depth": "13"}, "depth="),
        ({"depth": "1"}, "depth="),
        ({"act": "gelu"}, "act="),
        ({"init": "orthogonal"}, "init="),
        ({"scale": "0"}, "scale="),
        ({"scale": "nan"}, "scale="),
        ({"clip": "-1"}, "clip="),
        ({"bn": "yes"}, "bn="),
        ({"gsteps": "100000"}, "gsteps="),
        ({"lr": "5"}, "lr="),
        ({"esteps": "1e9"}, "esteps="),
        ({"bs": "8-x"}, "bs="),
        ({"bs": "1-2"}, "bs="),
        ({"bs": "8-16-32-64-128"}, "bs="),
        ({"epochs": "0"}, "epochs="),
    ],
)
def test_a_bad_value_warns_and_takes_its_default(query, key):
    state, warnings = DeepState.from_query({"v": "1", **query})
    assert state == DeepState()
    assert len(warnings) == 1 and warnings[0].startswith(key) and "using the default" in warnings[0]


def test_the_rest_of_a_bad_link_applies_and_batch_sizes_are_sorted_once():
    state, warnings = DeepState.from_query({"view": "batch", "depth": "99", "bs": "128-8-8"})
    assert state.view == "batch" and state.depth == DeepState().depth
    assert state.batch_sizes == (8, 128)
    assert any("twice" in w for w in warnings) and any(w.startswith("depth=") for w in warnings)


def test_a_remedy_changes_only_its_values():
    state = DeepState(depth=7, grad_steps=50)
    relu = with_remedy(state, "relu_he")
    assert (relu.activation, relu.init, relu.depth, relu.grad_steps) == ("relu", "he", 7, 50)
    assert with_remedy(state, "clipping").clip == 1.0
    assert with_remedy(with_remedy(relu, "batch_norm"), "vanishing") == state
    exploding = with_remedy(with_remedy(state, "residual"), "exploding")
    assert (exploding.activation, exploding.init_scale, exploding.residual) == ("relu", 2.0, False)


# --- the figures ------------------------------------------------------------------------------------


def gradient_view(layers: int = 4, points: int = 6) -> deep_compute.GradientView:
    # from 1e-10 at the input to 1e4 at the output: the ends of the heat map's colour scale
    norms = 10.0 ** np.linspace(-10, 4, layers)[:, None] * np.ones((layers, points))
    norms[0, 2] = np.nan
    return deep_compute.GradientView(
        layers=deep_compute._layer_names(layers),
        grad_steps=np.arange(points) * 2,
        norms=norms,
        ratio=norms[0] / norms[-1],
        loss_steps=np.arange(points + 1) * 2,
        train_loss=np.linspace(1.0, 0.5, points + 1),
        val_loss=np.linspace(1.1, 0.6, points + 1),
        val_acc=np.full(points + 1, 0.5),
        diverged_at=-1,
        n_params=10,
    )


def png_pixels(uri: str) -> np.ndarray:
    data = base64.b64decode(uri.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def hex_rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])


def test_the_gradient_heat_map_is_an_image_with_a_cursor_and_the_loss_plays():
    view = gradient_view()
    fig = dfig.gradients_figure(view).to_dict()
    layout = fig["layout"]
    (image,) = layout["images"]
    pixels = png_pixels(image["source"])
    cell = pixels.shape[0] // 4
    # the last layer (largest gradient) is the top row, yellow; the input layer the bottom, purple
    np.testing.assert_allclose(pixels[0, 0], hex_rgb(sequential.Viridis[-1]), atol=2)
    np.testing.assert_allclose(pixels[-1, -1], hex_rgb(sequential.Viridis[0]), atol=2)
    missing = pixels[-cell // 2, 2 * pixels.shape[1] // 6 + 1]  # layer 1 at step 4: NaN
    assert tuple(missing) == (235, 235, 235)
    assert image["sizey"] == 4 and image["y"] == 4.5
    bar = fig["data"][1]["marker"]
    assert (bar["cmin"], bar["cmax"]) == (-10, 4) and "10⁻¹⁰" in bar["colorbar"]["ticktext"]
    louder = gradient_view()
    louder.norms[-1, -1] = 3e6  # a norm outside the scale widens it, to 10^7
    bar = dfig.gradients_figure(louder).to_dict()["data"][1]["marker"]
    assert (bar["cmin"], bar["cmax"]) == (-10, 7)
    meta = layout["meta"]
    assert meta["cursor"]["xs"] == view.loss_steps.tolist()  # player step k -> training step
    lo, hi = layout["xaxis2"]["range"]  # the loss's steps, fixed while the player draws it
    assert lo < 0 and 12 < hi < 13
    assert layout["shapes"][meta["cursor"]["shape"]]["xref"] == "x"
    player = meta["player"]
    assert player["total"] == 6 and player["labels"] == view.loss_steps.tolist()
    names = [fig["data"][i]["name"] for i in player["paths"]]
    assert names == ["training loss", "validation loss"]
    hover = fig["data"][0]  # one invisible point per cell carries its norm
    assert len(hover["customdata"]["bdata"]) > 0 and hover["marker"]["opacity"] == 0


def test_the_eos_figure_draws_two_over_eta_and_the_sharpness_on_the_step_axis():
    view = deep_compute.EosView(
        lr=0.5,
        threshold=4.0,
        steps=np.arange(21),
        train_loss=np.linspace(1.0, 0.1, 21),
        sharpness_steps=np.array([0, 10, 20]),
        sharpness=np.array([1.0, 3.9, np.nan]),
        reached_at=10,
        diverged_at=-1,
        n_train=100,
    )
    fig = dfig.eos_figure(view)
    threshold, sharpness = fig.data[0], fig.data[1]
    assert threshold.name == "2/η = 4" and list(threshold.y) == [4.0, 4.0]
    y = np.asarray(sharpness.y, dtype=float)
    assert y[0] == 1.0 and y[10] == pytest.approx(3.9) and np.isnan(y[[5, 20]]).all()
    player = fig.to_dict()["layout"]["meta"]["player"]
    assert player["paths"] == [1, 2] and player["total"] == 20
    assert list(fig.layout.yaxis2.ticktext) == ["0.1", "0.2", "0.5", "1"]  # in full, on a log axis


def batch_view() -> deep_compute.BatchView:
    def run(b: int, epochs: np.ndarray) -> deep_compute.BatchRun:
        loss = 1.0 / (1 + epochs)
        return deep_compute.BatchRun(
            b, 0.1, 10, epochs, loss, loss + 0.1, np.full(len(epochs), 0.1), -1
        )

    return deep_compute.BatchView(
        runs=(run(8, np.array([0.0, 0.5, 1.0, 1.5, 2.0])), run(64, np.array([0.0, 1.0, 2.0]))),
        epochs=2,
        n_train=100,
        noise_start=np.array([0.4, 0.05]),
        noise_end=np.array([0.3, np.nan]),
        noise_scale=3.0,
    )


def test_batch_sizes_share_one_axis_of_epochs():
    view = batch_view()
    np.testing.assert_array_equal(dfig.epoch_grid(view), [0.0, 0.5, 1.0, 1.5, 2.0])
    fig = dfig.batch_figure(view).to_dict()
    big = [t for t in fig["data"] if t.get("legendgroup") == "b1"]
    assert len(big) == 3  # training, validation, gap
    y = np.frombuffer(base64.b64decode(big[0]["y"]["bdata"]), dtype=np.float32)
    np.testing.assert_allclose(y[[0, 2, 4]], [1.0, 0.5, 1 / 3], rtol=1e-6)
    assert np.isnan(y[[1, 3]]).all() and big[0]["connectgaps"]
    player = fig["layout"]["meta"]["player"]
    assert player["unit"] == "epoch" and player["labels"][-1] == "2.00"
    # fixed axes: they stay put while the player draws the curves from the first epoch
    lo, hi = fig["layout"]["xaxis"]["range"]
    assert lo < 0.0 and 2.0 < hi < 2.2
    lo, hi = fig["layout"]["yaxis"]["range"]
    assert lo < 0.0 and 1.1 < hi < 1.2  # from 0 to the largest validation loss, 1.1
    rows = dfig.batch_rows(view)
    assert [r["Batch size"] for r in rows] == [8, 64]
    assert rows[1]["Gradient noise at end"] is None  # not finite: an empty cell


# --- the budget ---------------------------------------------------------------------------------


def test_the_plan_shortens_a_view_over_the_budget_and_keeps_one_within():
    assert deep_compute.plan(DeepState(), 10.0).fits
    assert deep_compute.plan(DeepState(view="eos"), 10.0).fits
    assert deep_compute.plan(DeepState(view="batch"), 10.0).fits
    heavy = DeepState(depth=12, residual=True, batch_norm=True, clip=1.0, grad_steps=1000)
    plan = deep_compute.plan(heavy, 10.0)
    assert not plan.fits and plan.state.grad_steps < 1000 and plan.shown <= 10.0 < plan.asked
    assert "steps instead of 1000" in plan.changes[0]
    many = DeepState(view="batch", batch_sizes=(4, 8), epochs=20)
    plan = deep_compute.plan(many, 2.0)
    assert not plan.fits and 1 <= plan.state.epochs < 20
    eos = deep_compute.plan(DeepState(view="eos", eos_steps=1500), 1.0)
    assert eos.state.eos_steps < 1500 and eos.state.eos_lr == 0.3


# --- the page under AppTest -------------------------------------------------------------------------


def written(at) -> DeepState:
    state, warnings = DeepState.from_query(written_query(at))
    assert warnings == []
    return state


def test_the_page_opens_on_the_default_link_with_vanishing_gradients():
    at = open_page(PAGE)
    assert not at.error and not at.warning
    assert at.header[0].value == "Deep learning"
    assert written(at) == DeepState()
    (fig,) = chart_figures(at)
    assert "player" in fig["layout"]["meta"] and "cursor" in fig["layout"]["meta"]
    ratio = float(at.metric[0].value)
    assert ratio < 1e-2  # the first layer's gradient is over 100 times smaller than the last's


def test_a_remedy_button_sets_the_state_and_the_gradients_reach_the_input():
    at = open_page(PAGE, FAST)
    before = float(at.metric[0].value)
    next(b for b in at.button if b.key == "deep_remedy_relu_he").click().run()
    assert not at.exception and not at.error
    state = written(at)
    assert (state.activation, state.init, state.grad_steps) == ("relu", "he", 20)
    assert at.radio(key="deep_act").value == "relu"
    assert float(at.metric[0].value) > 1e3 * before
    next(b for b in at.button if b.key == "deep_remedy_clipping").click().run()
    assert written(at).clip == 1.0 and written(at).activation == "relu"
    next(b for b in at.button if b.key == "deep_remedy_exploding").click().run()
    assert written(at).init_scale == 2.0 and written(at).clip == 0.0
    assert any("diverged at step" in e.value for e in at.error)  # exploding: a message
    next(b for b in at.button if b.key == "deep_remedy_clipping").click().run()
    assert not at.error  # clipped, the same network trains


def test_a_link_restores_its_view_and_switching_views_keeps_each_views_settings():
    state = DeepState(view="eos", eos_lr=0.2, eos_steps=60, depth=4, grad_steps=20)
    at = open_page(PAGE, state.to_query())
    assert not at.warning and not at.error
    assert at.radio(key="deep_view").value == "eos"
    assert at.select_slider(key="deep_lr").value == 0.2
    assert at.metric[0].value == "10"  # 2 / eta
    assert written(at) == state
    at.radio(key="deep_view").set_value("gradients").run()
    assert at.slider(key="deep_depth").value == 4
    at.slider(key="deep_depth").set_value(3).run()
    at.radio(key="deep_view").set_value("batch").run()
    at.multiselect(key="deep_bs").set_value([16, 64]).run()
    at.slider(key="deep_epochs").set_value(1).run()
    at.radio(key="deep_view").set_value("eos").run()
    assert not at.exception
    assert written(at) == DeepState(
        view="eos",
        eos_lr=0.2,
        eos_steps=60,
        depth=3,
        grad_steps=20,
        batch_sizes=(16, 64),
        epochs=1,
    )


def test_the_batch_view_shows_its_table_and_an_empty_choice_is_a_message():
    at = open_page(PAGE, {"view": "batch", "bs": "16-64", "epochs": "1"})
    assert not at.error
    table = at.dataframe[0].value
    assert list(table["Batch size"]) == [16, 64]
    noise = table["Gradient noise at start"]
    assert noise[0] > 2 * noise[1]  # the mini-batch gradient's noise falls with the batch size
    at.multiselect(key="deep_bs").set_value([]).run()
    assert any("No batch size" in w.value for w in at.warning)


def test_a_bad_link_warns_in_literal_text_and_the_rest_applies():
    payload = "**b** <b>h</b> [l](https://x.io) :x:"
    at = open_page(PAGE, {**FAST, "act": payload, "depth": "40"})
    text = message_text(at)
    assert "act=" in text and "https://x.io" in text and "depth=" in text
    shown = [t.value for t in at.text]
    assert any(payload in t for t in shown)  # as typed, not rendered
    assert not any("x.io" in m.value for m in at.markdown)
    assert at.slider(key="deep_gsteps").value == 20
    assert written(at) == DeepState(grad_steps=20)


def test_a_view_over_the_budget_is_shortened_with_a_message_and_the_link_keeps_it(monkeypatch):
    monkeypatch.setenv("OPTISCAPE_BUDGET_S", "0.05")
    at = open_page(PAGE, {"gsteps": "1000"})
    assert any("Over the compute budget" in w.value for w in at.warning)
    assert written(at).grad_steps == 1000
    (fig,) = chart_figures(at)
    assert fig["layout"]["meta"]["player"]["labels"][-1] < 1000


# --- in a real browser ------------------------------------------------------------------------------

CHART = '.st-key-deep_chart[data-stale="false"] .js-plotly-plot'
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def test_each_view_draws_its_chart_on_the_first_screen_and_the_cursor_follows(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        page.set_default_timeout(120_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        for view in VIEWS:
            query = urlencode(DeepState(view=view, grad_steps=40, eos_steps=100).to_query())
            page.goto(f"{server}/deep?{query}")
            page.wait_for_selector(IDLE)
            page.wait_for_function(
                f"() => {{ const el = document.querySelector({CHART!r});"
                " return !!el && Array.isArray(el.data) && el.data.length > 0"
                " && !!el.querySelector('.main-svg'); }"
            )
            assert page.locator('[data-testid="stException"]').count() == 0
            box = page.locator(CHART).bounding_box()
            assert box is not None and box["y"] >= 0 and box["y"] + 0.8 * box["height"] <= 720
            assert urlsplit(page.url).path.endswith("/deep")
        # the gradients view: the player's Reset moves the heat map's cursor to step 0
        page.goto(f"{server}/deep?v=1&gsteps=40")
        page.wait_for_selector(IDLE)
        page.wait_for_function(f"() => !!document.querySelector({CHART!r})")
        assert page.locator(CHART).locator(".imagelayer image").count() == 1
        cursor = f"() => document.querySelector({CHART!r}).layout.shapes[0].x0"
        page.wait_for_function(f"() => ({cursor})() === 40")
        page.locator(".st-key-deep_chart .optiscape-player button.reset").click()
        page.wait_for_function(f"() => ({cursor})() === 0")
        assert math.isclose(page.evaluate(cursor), 0.0)
        assert errors == []
    finally:
        context.close()
