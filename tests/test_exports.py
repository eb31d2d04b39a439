"""Exports: the offline HTML player, the GIF of the race, and CSV / JSON / NPZ files that read
back to exactly the numbers of the runs, each with the link that made it."""

from __future__ import annotations

import csv
import io
import json
import re
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from PIL import Image, ImageChops

from app import compute, explorer_link, exports
from app.charts.contour import contour_figure
from app.state import AppState, OptimizerEntry

E = OptimizerEntry.make


def scene(state: AppState):
    surface = compute.surface(state.landscape, state.engine_params())
    runs = compute.runs(
        state.landscape,
        state.engine_params(),
        state.optimizers,
        state.start_point(),
        state.steps,
        state.seed,
    )
    return surface, runs


RACE = AppState(
    landscape="himmelblau",
    optimizers=(E("gd", lr=0.01), E("adam", lr=0.1), E("sgd", lr=0.01)),
    start=(0.25, -2.0),
    steps=150,
)
# a diverging run: positions become huge, then non-finite
DIVERGING = AppState(
    landscape="quadratic",
    landscape_params=(("kappa", 5.0),),
    optimizers=(E("gd", lr=0.1), E("gd", lr=1.0)),
    steps=400,
)


def decoded_link(link: str) -> AppState:
    state, warnings = explorer_link.from_query(parse_qs(urlsplit(link).query))
    assert warnings == []
    return state


def test_html_plays_offline_with_plotly_inline_and_every_frame():
    surface, runs = scene(RACE)
    fig = contour_figure(surface, runs, RACE.steps, log_colour=False)
    html = exports.html_bytes(fig, title="optiscape: Himmelblau").decode()
    assert html.startswith("<html>") or html.lstrip().lower().startswith(("<html", "<!doctype"))
    # no script is fetched from anywhere: plotly.js is in the file
    assert not re.search(r"<script[^>]*\bsrc\s*=", html, flags=re.IGNORECASE)
    assert "plotly.js v" in html or "Plotly.newPlot" in html
    assert len(html) > 3_000_000  # the bundled library itself is megabytes
    assert "<title>optiscape: Himmelblau</title>" in html
    frames = fig.to_dict()["frames"]
    assert len(frames) > 10
    for frame in (frames[0], frames[len(frames) // 2], frames[-1]):
        assert f'"name":"{frame["name"]}"' in html.replace(" ", "")
    assert "data:image/png;base64," in html  # the surface travels inside the file too


def test_gif_has_the_expected_frames_and_size_and_moves():
    surface, runs = scene(RACE)
    data = exports.gif_bytes(surface, runs, log_colour=False, frames=80, size=320)
    image = Image.open(io.BytesIO(data))
    assert image.format == "GIF"
    assert image.n_frames == len(exports.gif_steps(RACE.steps, 80)) == 80
    assert image.size[0] == 320  # a square domain: 320 x 320 plot and a legend below
    assert image.size[1] > 320
    assert len(data) < 2_000_000
    image.seek(0)
    first = image.convert("RGB")
    image.seek(image.n_frames - 1)
    last = image.convert("RGB")
    assert ImageChops.difference(first, last).getbbox() is not None
    # the legend (below the plot, after the step counter) names the runs' states only at the
    # end, as the chart's legend does: its pixels change between the first and the last frame
    legend = (0, 320 + 16, first.size[0], first.size[1])
    assert ImageChops.difference(first.crop(legend), last.crop(legend)).getbbox() is not None
    image.seek(image.n_frames // 2)
    middle = image.convert("RGB")
    assert ImageChops.difference(first.crop(legend), middle.crop(legend)).getbbox() is None


def test_gif_of_a_diverging_run_and_of_a_surface_with_holes():
    surface, runs = scene(DIVERGING)
    Image.open(io.BytesIO(exports.gif_bytes(surface, runs, log_colour=True, frames=20)))
    holes = AppState(landscape="custom", formula="log(x) + y**2", optimizers=(E("adam"),), steps=30)
    surface, runs = scene(holes)
    assert np.isnan(surface.z).any()
    image = Image.open(io.BytesIO(exports.gif_bytes(surface, runs, log_colour=False)))
    assert image.n_frames == 31


def _read_csv(text: str) -> tuple[list[str], list[dict[str, str]]]:
    comments = [line for line in text.splitlines() if line.startswith("#")]
    rows = list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))
    return comments, rows


@pytest.mark.parametrize("state", [RACE, DIVERGING], ids=["race", "diverging"])
def test_csv_reads_back_to_the_same_numbers(state):
    _, runs = scene(state)
    comments, rows = _read_csv(exports.trajectories_csv(state, runs))
    link = comments[0].split("open the view: ", 1)[1]
    assert decoded_link(link) == state
    assert json.loads(comments[1].split("# settings: ", 1)[1])["steps"] == state.steps
    assert len(rows) == sum(len(r.positions) for r in runs)
    for i, run in enumerate(runs):
        mine = [row for row in rows if int(row["run"]) == i]
        pos = np.array([[float(row["x"]), float(row["y"])] for row in mine])
        np.testing.assert_array_equal(pos, run.positions)  # NaN-equal, exact
        np.testing.assert_array_equal([float(row["loss"]) for row in mine], run.losses)
        np.testing.assert_array_equal([float(row["grad_norm"]) for row in mine], run.grad_norms)
        assert {row["status"] for row in mine} == {run.status}
        assert [int(row["step"]) for row in mine] == list(range(len(run.positions)))
    if state is DIVERGING:
        assert runs[1].status == "diverged" and not np.isfinite(runs[1].positions).all()


@pytest.mark.parametrize("state", [RACE, DIVERGING], ids=["race", "diverging"])
def test_json_reads_back_to_the_same_numbers(state):
    _, runs = scene(state)
    text = exports.trajectories_json(state, runs)
    doc = json.loads(text)  # standard JSON: no NaN / Infinity tokens
    assert "NaN" not in text and "Infinity" not in text
    assert decoded_link(doc["settings"]["link"]) == state
    assert [r["label"] for r in doc["runs"]] == [r.label for r in runs]
    for got, run in zip(doc["runs"], runs, strict=True):
        assert got["status"] == run.status and got["diverged_at"] == run.diverged_at
        assert got["evaluations"] == run.evaluations
        for name, values in (
            ("x", run.positions[:, 0]),
            ("y", run.positions[:, 1]),
            ("loss", run.losses),
            ("grad_norm", run.grad_norms),
        ):
            back = np.array([np.nan if v is None else v for v in got[name]], dtype=np.float64)
            finite = np.isfinite(values)
            np.testing.assert_array_equal(back[finite], values[finite])
            assert np.isnan(back[~finite]).all()


def test_npz_holds_the_surface_and_its_settings():
    state = AppState(landscape="custom", formula="sin(x) * y", domain=((-1.0, 2.0), (0.0, 1.0)))
    surface, _ = scene(state)
    with np.load(io.BytesIO(exports.surface_npz(state, surface))) as npz:
        np.testing.assert_array_equal(npz["xs"], surface.xs)
        np.testing.assert_array_equal(npz["ys"], surface.ys)
        np.testing.assert_array_equal(npz["z"], surface.z)
        np.testing.assert_array_equal(npz["domain"], [[-1.0, 2.0], [0.0, 1.0]])
        meta = json.loads(str(npz["settings"]))
    assert meta["formula"] == "sin(x) * y" and decoded_link(meta["link"]) == state
    # z[j, i] = f(xs[i], ys[j])
    assert npz_value_ok(surface)


def npz_value_ok(surface) -> bool:
    i, j = 7, 3
    return bool(np.isclose(surface.z[j, i], np.sin(surface.xs[i]) * surface.ys[j]))
