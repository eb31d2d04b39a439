"""The "Network landscape" page: its URL state, its figures, the page under AppTest, one browser test.

The engine is exercised with tiny settings (few steps, small grids) so the module runs quickly;
what is checked is the page's own work: links round-trip exactly, bad links warn and fall back,
widgets restore from a link and write back to it, a diverging learning rate is reported, and the
plane figure draws the engine's projected paths.
"""

from __future__ import annotations

from urllib.parse import urlencode

import numpy as np
import pytest
from apptest_helpers import chart_figures, message_text, open_page, written_query
from streamlit.testing.v1 import AppTest

from app.charts import network as nfig
from app.network_compute import Curvature, PlaneView, ProjectedPath, Training
from app.network_state import (
    DATASETS,
    LR_RANGE,
    MAX_OPTIMIZERS,
    METRICS,
    PLANES,
    RESOLUTIONS,
    NetOptimizer,
    NetworkState,
    first_order,
)

PAGE = "network"
# A small, quick scene: the tests check the page, not the engine's speed.
SMALL = {"steps": "20", "res": "21", "w": "8-8", "n": "200"}


# --- state ------------------------------------------------------------------------------------------


def random_state(rng: np.random.Generator) -> NetworkState:
    names = list(rng.permutation(first_order())[: int(rng.integers(1, MAX_OPTIMIZERS + 1))])
    entries = tuple(
        NetOptimizer.make(str(n), float(np.exp(rng.uniform(np.log(1e-5), np.log(1e3)))))
        for n in names
    )
    data = str(rng.choice(DATASETS))
    return NetworkState(
        dataset=data,
        noise=float(rng.uniform(0, 1)),
        samples=int(rng.integers(100, 2001)),
        model=str(rng.choice(["mlp", "cnn"])) if data == "digits" else "mlp",
        widths=tuple(int(w) for w in rng.integers(2, 257, size=int(rng.integers(1, 5)))),
        batch_norm=bool(rng.random() < 0.5),
        dropout=float(rng.uniform(0, 0.8)),
        seed=int(rng.integers(0, 2**31 - 1)),
        optimizers=entries,
        steps=int(rng.integers(10, 2001)),
        batch_size=int(rng.integers(0, 2001)),
        record_every=int(rng.integers(1, 101)),
        weight_decay=float(rng.uniform(0, 0.1)),
        plane=str(rng.choice(PLANES)),
        dir_seed=int(rng.integers(0, 10_000)),
        ignore_bias=bool(rng.random() < 0.5),
        orthogonalize=bool(rng.random() < 0.5),
        centre=int(rng.integers(0, len(entries))),
        span=float(rng.uniform(0.01, 100)) if rng.random() < 0.5 else None,
        resolution=int(rng.choice(RESOLUTIONS)),
        metric=str(rng.choice(METRICS)),
        show_3d=bool(rng.random() < 0.5),
        plane_opt=bool(rng.random() < 0.5),
    )


def test_the_default_link_is_just_the_version():
    assert NetworkState().to_query() == {"v": "1"}
    assert NetworkState.from_query({}) == (NetworkState(), [])


@pytest.mark.parametrize("seed", range(40))
def test_random_states_round_trip_exactly(seed):
    state = random_state(np.random.default_rng(seed))
    query = state.to_query()
    assert all(isinstance(v, str) or all(isinstance(x, str) for x in v) for v in query.values())
    back, warnings = NetworkState.from_query(query)
    assert warnings == []
    assert back == state


def test_a_round_trip_through_a_url_string():
    state = NetworkState(
        dataset="digits",
        model="cnn",
        optimizers=(NetOptimizer.make("adamw", 0.003), NetOptimizer.make("gd", 0.5)),
        span=2.5,
        plane="random",
        centre=1,
    )
    from urllib.parse import parse_qs

    parsed = parse_qs(urlencode(state.to_query(), doseq=True))
    assert NetworkState.from_query(parsed) == (state, [])


@pytest.mark.parametrize(
    ("query", "named", "field", "expected"),
    [
        ({"data": "mnist"}, "data=", "dataset", "moons"),
        ({"noise": "loud"}, "noise=", "noise", 0.2),
        ({"noise": "7"}, "noise=", "noise", 0.2),
        ({"n": "5"}, "n=", "samples", 600),
        ({"w": "64-x"}, "w=", "widths", (64, 32)),
        ({"w": "1-2-3-4-5"}, "w=", "widths", (64, 32)),
        ({"w": "0"}, "w=", "widths", (64, 32)),
        ({"bn": "yes"}, "bn=", "batch_norm", False),
        ({"drop": "0.95"}, "drop=", "dropout", 0.0),
        ({"steps": "1e9"}, "steps=", "steps", 200),
        ({"bs": "-1"}, "bs=", "batch_size", 64),
        ({"rec": "0"}, "rec=", "record_every", 2),
        ({"wd": "nan"}, "wd=", "weight_decay", 0.0),
        ({"plane": "diagonal"}, "plane=", "plane", "pca"),
        ({"res": "40"}, "res=", "resolution", 41),
        ({"span": "-2"}, "span=", "span", None),
        ({"span": "inf"}, "span=", "span", None),
        ({"metric": "f1"}, "metric=", "metric", "train"),
        ({"c": "9"}, "c=", "centre", 0),
        ({"model": "cnn"}, "model=cnn", "model", "mlp"),  # a CNN needs the digits images
        ({"o": ["adam,lr=0.01", "sgd,lr=0.1"], "c": "3"}, "c=3", "centre", 0),
        ({"v": "7"}, "v='7'", "dataset", "spirals"),  # read as v=1
    ],
)
def test_a_bad_value_warns_and_takes_its_default(query, named, field, expected):
    state, warnings = NetworkState.from_query(
        {"data": "spirals", **query} if "data" not in query else query
    )
    assert any(named in w for w in warnings), warnings
    assert getattr(state, field) == expected
    if "data" not in query:
        assert state.dataset == "spirals"  # the rest of the link still applies


def test_bad_optimizers_are_left_out_with_a_warning():
    state, warnings = NetworkState.from_query(
        {"o": ["adam,lr=0.01", "warp9", "sgd,lr=-3", "rmsprop,beta=2"]}
    )
    text = " ".join(warnings)
    assert "warp9" in text and "lr='-3'" in text and "'beta=2'" in text
    assert [(o.name, o.lr) for o in state.optimizers] == [
        ("adam", 0.01),
        ("sgd", 0.001),  # sgd's default learning rate
        ("rmsprop", 0.01),
    ]
    state, warnings = NetworkState.from_query({"o": ["newton", "adam,lr=0.1", "adam,lr=1"]})
    text = " ".join(warnings)
    assert "'newton' needs more than gradients" in text and "twice" in text
    assert state.optimizers == (NetOptimizer("adam", 0.1),)


def test_too_many_optimizers_keep_the_first_four():
    names = first_order()[:6]
    state, warnings = NetworkState.from_query({"o": [f"{n},lr=0.01" for n in names]})
    assert [o.name for o in state.optimizers] == names[:4]
    assert any("first 4" in w for w in warnings)


def test_an_absurd_learning_rate_is_kept_and_out_of_range_is_not():
    state, warnings = NetworkState.from_query({"o": ["sgd,lr=1000"]})
    assert warnings == [] and state.optimizers == (NetOptimizer("sgd", 1000.0),)
    state, warnings = NetworkState.from_query({"o": [f"sgd,lr={LR_RANGE[1] * 10:g}"]})
    assert warnings and state.optimizers == (NetOptimizer("sgd", 0.001),)
    with pytest.raises(ValueError, match="first-order"):
        NetOptimizer.make("newton", 1.0)


def test_an_empty_race_round_trips():
    state = NetworkState(optimizers=())
    assert NetworkState.from_query(state.to_query()) == (state, [])


# --- figures (synthetic data: the figures only draw) ----------------------------------------------


def synthetic_plane(metric: str = "train") -> PlaneView:
    grid = np.linspace(-2.0, 2.0, 21)
    z = 0.1 + grid[None, :] ** 2 + 0.5 * grid[:, None] ** 2
    steps = np.arange(0, 30, 3)
    t = np.linspace(0, 1, steps.size)
    good = ProjectedPath(
        label="Adam lr=0.01",
        steps=steps,
        a=1.5 * (1 - t),
        b=-1.0 * (1 - t),
        residual=0.1 * t,
        surface_value=np.linspace(2.0, 0.1, steps.size),
        true_value=np.linspace(2.1, 0.05, steps.size),
        diverged_at=-1,
    )
    bad_a = 1.5 * (1 + 10 * t)
    bad_a[6:] = np.nan
    bad = ProjectedPath(
        label="SGD lr=100",
        steps=steps,
        a=bad_a,
        b=np.zeros(steps.size),
        residual=np.where(np.isfinite(bad_a), 1.0, np.nan),
        surface_value=np.where(np.isfinite(bad_a), 5.0, np.nan),
        true_value=np.where(np.isfinite(bad_a), 6.0, np.nan),
        diverged_at=18,
    )
    return PlaneView(
        kind="pca",
        metric=metric,
        span=2.0,
        xs=grid,
        ys=grid,
        z=z,
        paths=(good, bad),
        explained=(0.8, 0.15),
        centre_label="final point of Adam lr=0.01",
    )


def trace(fig, name: str):
    return next(t for t in fig.data if t.name == name)


def test_the_plane_figure_draws_each_projected_path_with_its_numbers():
    plane = synthetic_plane()
    fig = nfig.plane_figure(plane)
    good = trace(fig, "Adam lr=0.01")
    np.testing.assert_allclose(good.x, plane.paths[0].a, rtol=1e-6)
    np.testing.assert_allclose(good.y, plane.paths[0].b, rtol=1e-6)
    assert "on the plane: training loss = 2" in good.text[0]
    assert "true iterate: training loss = 2.1" in good.text[0]
    assert "off the plane by 0.1" in good.text[-1]
    bad = trace(fig, "SGD lr=100")  # the legend says "diverged" once the player gets there
    player = fig.to_dict()["layout"]["meta"]["player"]
    index = next(i for i, t in enumerate(fig.data) if t.name == "SGD lr=100")
    (entry,) = [names for i, names in player["legend"] if i == index]
    assert entry[-1][1] == "SGD lr=100: diverged at step 18"
    x = np.asarray(bad.x, dtype=float)
    # one point per recorded step: non-finite points are gaps, finite ones far outside are kept
    assert np.isfinite(x).sum() == 6 and np.nanmax(x) > plane.span
    assert fig.layout.xaxis.title.text == "PC1 (80.0 % of variance)"
    assert fig.layout.yaxis.title.text == "PC2 (15.0 % of variance)"
    centre = trace(fig, "centre: final point of Adam lr=0.01")
    assert (centre.x, centre.y) == ((0.0,), (0.0,))
    assert fig.layout.images[0].source.startswith("data:image/png;base64,")
    frames = fig.to_dict()["frames"]
    assert len(frames) == plane.paths[0].steps.size
    assert frames[-1]["data"][0] == {"x": [0.0], "y": [0.0]}  # Adam's marker at its end
    assert frames[-1]["data"][1] == {"x": [None], "y": [None]}  # diverged: no point


def test_path_rows_put_the_surface_value_next_to_the_true_value():
    rows = nfig.path_rows(synthetic_plane(), every=4)
    first = rows[0]
    assert first["Optimizer"] == "Adam lr=0.01" and first["Step"] == 0
    assert first["training loss on the plane"] == pytest.approx(2.0)
    assert first["training loss of the iterate"] == pytest.approx(2.1)
    assert first["Difference"] == pytest.approx(-0.1)
    assert [r["Step"] for r in rows if r["Optimizer"] == "Adam lr=0.01"] == [0, 12, 24, 27]
    last_bad = [r for r in rows if r["Optimizer"] == "SGD lr=100"][-1]
    assert last_bad["training loss of the iterate"] is None  # NaN becomes an empty cell


def test_curvature_rows_compare_each_learning_rate_with_two_over_lambda_max():
    curv = Curvature(
        eigenvalues=np.array([40.0, 10.0]), trace=100.0, trace_stderr=1.0, critical_lr=0.05
    )
    rows = nfig.curvature_rows(curv, ["SGD lr=0.1", "Adam lr=0.01"], [0.1, 0.01])
    assert (
        rows[0]["Plain GD at this lr"].startswith("unstable")
        and "2 ×" in rows[0]["Plain GD at this lr"]
    )
    assert (
        rows[1]["Plain GD at this lr"].startswith("stable")
        and "0.2 ×" in rows[1]["Plain GD at this lr"]
    )


def test_training_curves_mark_the_best_validation_step_and_drop_nan():
    steps = np.arange(0, 50, 5)
    val = np.array([2.0, 1.0, 0.5, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9])
    bad = np.full(steps.size, np.nan)
    bad[:3] = [2.0, 50.0, 1e6]
    training = Training(
        labels=("Adam lr=0.01", "SGD lr=100"),
        names=("adam", "sgd"),
        lrs=(0.01, 100.0),
        steps=steps,
        train_loss=np.stack([val * 0.9, bad]),
        val_loss=np.stack([val, bad]),
        train_acc=np.stack([np.linspace(0.5, 1, 10), np.full(10, 0.5)]),
        val_acc=np.stack([np.linspace(0.5, 0.9, 10), np.full(10, 0.5)]),
        best_val_step=np.array([15, 0]),
        diverged_at=np.array([-1, 15]),
        n_params=10,
        n_train=30,
        n_val=10,
    )
    fig = nfig.training_curves_figure(training)
    star = trace(fig, "Adam lr=0.01: best validation loss (early stopping)")
    assert star.x == (15,) and star.y == (pytest.approx(0.4),)
    diverged = trace(fig, "SGD lr=100 (diverged at step 15)")
    assert len(diverged.x) == 3


# --- the page under AppTest -------------------------------------------------------------------------


def open_network_page(query: dict[str, str | list[str]] | None = None) -> AppTest:
    return open_page("views/network.py", query)


def written(at: AppTest) -> NetworkState:
    """The state the page wrote back into the URL (no warnings allowed)."""
    state, warnings = NetworkState.from_query(written_query(at))
    assert warnings == []
    return state


def test_the_page_opens_on_the_default_link():
    at = open_network_page()
    assert not at.error, [e.value for e in at.error]
    assert not at.warning, [w.value for w in at.warning]
    assert at.title[0].value == "Network landscape"
    assert len(chart_figures(at)) >= 3  # plane, curves, interpolation
    assert written(at) == NetworkState()
    assert at.selectbox(key="net_data").value == "moons"
    assert at.multiselect(key="net_opts").value == ["sgd", "momentum", "adam", "rmsprop"]
    assert any("Paths are projections" in i.value for i in at.info)


def test_a_link_restores_its_widgets_and_a_control_changes_it():
    state = NetworkState(
        dataset="spirals",
        samples=200,
        widths=(8, 8),
        optimizers=(NetOptimizer.make("adam", 0.02), NetOptimizer.make("sgd", 0.2)),
        steps=20,
        batch_size=0,
        plane="random",
        dir_seed=3,
        resolution=21,
        metric="val",
        centre=1,
    )
    at = open_network_page(state.to_query())
    assert not at.warning and not at.error
    assert at.selectbox(key="net_data").value == "spirals"
    assert at.text_input(key="net_widths").value == "8-8"
    assert at.multiselect(key="net_opts").value == ["adam", "sgd"]
    assert at.select_slider(key="net_lr_adam").value == 0.02
    assert at.radio(key="net_plane").value == "random"
    assert at.number_input(key="net_dseed").value == 3
    assert at.selectbox(key="net_centre").value == 1
    assert at.radio(key="net_metric").value == "val"
    assert written(at) == state
    table = at.dataframe[0].value
    assert "validation loss on the plane" in table.columns

    at.select_slider(key="net_lr_adam").set_value(0.05).run()
    assert not at.exception
    assert written(at).optimizers[0] == NetOptimizer("adam", 0.05)
    at.radio(key="net_metric").set_value("acc").run()
    assert written(at).metric == "acc"
    at.text_input(key="net_widths").set_value("8-x").run()
    assert "Hidden widths" in message_text(at)
    assert written(at).widths == (8, 8)


def test_a_malformed_link_warns_and_keeps_the_rest():
    at = open_network_page(
        {**SMALL, "data": "mnist", "o": ["adam,lr=0.02", "warp9"], "plane": "x", "span": "-1"}
    )
    text = message_text(at)
    assert "data=" in text and "warp9" in text and "plane=" in text and "span=" in text
    assert at.multiselect(key="net_opts").value == ["adam"]
    assert at.slider(key="net_steps").value == 20
    assert not at.error


def test_a_diverging_learning_rate_is_reported_not_raised():
    at = open_network_page({**SMALL, "o": ["adam,lr=0.01", "gd,lr=1000"]})
    messages = " ".join(e.value for e in at.error)
    assert "Gradient descent lr=1000 diverged at step" in messages
    assert "Adam" not in messages
    assert len(chart_figures(at)) >= 3  # the page still draws


# --- in a real browser ------------------------------------------------------------------------------

PLANE = '.st-key-plane[data-stale="false"] .js-plotly-plot'
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
JS_PATHS = """(el) => {
  const decode = (v) => {
    if (v === undefined || v === null) return null;
    if (Array.isArray(v)) return v;
    if (ArrayBuffer.isView(v)) return Array.from(v);
    if (typeof v === "object" && typeof v.bdata === "string") {
      const bin = atob(v.bdata);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      const types = {f4: Float32Array, f8: Float64Array};
      return Array.from(new types[v.dtype.replace(/^[<>|=]/, "")](bytes.buffer));
    }
    return v;
  };
  return el.data.filter((t) => /^run\\d+$/.test(t.legendgroup || "") && t.mode === "lines+markers")
    .map((t) => ({name: t.name, x: decode(t.x), y: decode(t.y)}));
}"""


def engine_projection(state: NetworkState) -> tuple[np.ndarray, np.ndarray]:
    """(a, b), each (runs, recorded steps): the engine's PCA projection, computed here directly."""
    import torch

    import landscapes.network as net

    data = net.load_dataset(
        state.dataset, n_samples=state.samples, noise=state.noise, seed=state.seed
    )
    model = net.build_model("mlp", data, widths=state.widths, seed=state.seed)
    from studies.training import train

    result = train(
        model,
        torch.nn.CrossEntropyLoss(),
        data,
        [o.spec() for o in state.optimizers],
        steps=state.steps,
        batch_size=state.batch_size or None,
        seed=state.seed,
        record_every=state.record_every,
    )
    pca = net.pca_directions(result, center_run=state.centre, center_step=-1)
    a, b, _ = net.project(np.asarray(result.params), pca.center, pca.d1, pca.d2)
    return np.asarray(a), np.asarray(b)


def test_a_shared_link_draws_the_projected_paths(browser, server):
    state = NetworkState(
        samples=200,
        widths=(8, 8),
        optimizers=(NetOptimizer.make("adam", 0.02), NetOptimizer.make("momentum", 0.05)),
        steps=20,
        resolution=21,
    )
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{server}/{PAGE}?{urlencode(state.to_query(), doseq=True)}")
        page.wait_for_selector(IDLE)
        page.wait_for_function(
            f"() => {{ const el = document.querySelector({PLANE!r});"
            " return !!el && Array.isArray(el.data) && el.data.length > 0; }"
        )
        # the plane opens at the first recorded step; its player's Run to end draws every path
        # whole
        page.locator(".st-key-plane .optiscape-player button.end").click()
        paths = page.locator(PLANE).evaluate(JS_PATHS)
        assert [p["name"] for p in paths] == [o.label for o in state.optimizers]
        a, b = engine_projection(state)
        for r, path in enumerate(paths):
            np.testing.assert_allclose(path["x"], a[r], rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(path["y"], b[r], rtol=1e-4, atol=1e-5)
        assert page.locator(PLANE).locator(".imagelayer image").count() == 1  # the surface
        assert page.get_by_text("Paths are projections").count() == 1
        assert page.locator('[data-testid="stException"]').count() == 0
        assert errors == []
    finally:
        context.close()


def test_the_3d_view_and_optimize_in_the_plane_draw_and_every_divergence_is_a_message():
    at = open_network_page({**SMALL, "o": ["adam,lr=0.02", "momentum,lr=0.05"]})
    charts = len(chart_figures(at))
    at.toggle(key="net_3d").set_value(True).run()
    at.toggle(key="net_popt").set_value(True).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert len(chart_figures(at)) == charts + 2  # the 3-D plane and the explorer's contour
    state = written(at)
    assert state.show_3d and state.plane_opt
    assert any(s.value == "Optimize in the plane" for s in at.subheader)

    at = open_network_page({**SMALL, "o": ["gd,lr=1000"]})
    assert not at.exception
    assert any("Every optimizer diverged" in e.value for e in at.error)
