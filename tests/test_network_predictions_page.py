"""The network page's prediction views (issue 18): decision regions beside the plane (item 3),
the digits' confusion matrix, mistakes and filters at the shown step (item 5), and your own data
as an uploaded CSV (item 6), under AppTest; the figures against the engine's own answers.
"""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import parse_qs, urlencode

import numpy as np
import pytest
from apptest_helpers import network_training, open_page, run_page, written_query

from app import lessons, network_upload
from app.charts import network_predictions as pfig
from app.network_state import DATASETS, TWO_D, UPLOAD, NetworkState

PAGE = "views/network.py"
SMALL = {"steps": "20", "res": "21", "w": "8-8", "n": "200", "rec": "2"}


def decoded(value):
    """A figure value with Plotly's typed-array specs ({dtype, bdata, shape}) as numpy arrays."""
    if isinstance(value, dict):
        if "bdata" in value and "dtype" in value:
            out = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
            shape = value.get("shape")
            return out.reshape([int(n) for n in shape.split(",")]) if shape else out
        return {k: decoded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decoded(v) for v in value]
    return value


def charts(at) -> list[dict]:
    return [json.loads(element.proto.bytes) for element in at.get("bidi_component")]


def regions_chart(at) -> dict:
    found = [f for f in charts(at) if "follow" in (f["layout"].get("meta") or {})]
    assert len(found) == 1
    return found[0]


def plane_chart(at) -> dict:
    found = [f for f in charts(at) if "player" in (f["layout"].get("meta") or {})]
    assert len(found) == 1
    return found[0]


def texts(at) -> str:
    return " ".join(e.value for kind in (at.warning, at.error, at.info, at.text) for e in kind)


# --- data sets and links ------------------------------------------------------------------------


def test_circles_and_xor_are_offered_and_old_links_keep_their_meaning():
    assert {"circles", "xor", "moons", "spirals", "digits", UPLOAD} == set(DATASETS)
    for data in ("circles", "xor", UPLOAD):
        state, warnings = NetworkState.from_query({"v": "1", "data": data})
        assert warnings == [] and state.dataset == data and state.to_query()["data"] == data
    # the upload's digest never travels in a link
    assert "upload" not in NetworkState(dataset=UPLOAD, upload="0123456789abcdef").to_query()
    assert NetworkState.from_query({"v": "1", "data": "moons"}) == (NetworkState(), [])


# --- item 3: decision regions -------------------------------------------------------------------


def test_the_regions_are_in_the_views_cost_estimate_for_2d_data_only():
    from app import network_compute as compute

    moons = compute.view_seconds(NetworkState())
    digits = compute.view_seconds(NetworkState(dataset="digits"))
    assert moons["regions"] > 0 and digits["regions"] == 0
    assert moons["total"] == pytest.approx(sum(v for k, v in moons.items() if k != "total"))
    # an upload's training is keyed by its digest, not by the noise and size it does not use
    a = compute.train_key(NetworkState(dataset=UPLOAD, upload="aaaa", noise=0.5))
    b = compute.train_key(NetworkState(dataset=UPLOAD, upload="bbbb"))
    assert a[0] == "upload:aaaa" and a[1:] == b[1:] and a != b


def test_region_codes_are_percent_of_class_one_and_grey_where_diverged():
    from app.network_predictions import Regions

    values = np.array([[[[0.0, 0.004], [0.5, 1.0]], [[np.nan, 0.996], [0.255, 0.7449]]]])
    regions = Regions(
        xs=np.arange(2.0), ys=np.arange(2.0), frames=(0,), values=values, n_classes=2,
        class_names=("0", "1"), points=np.zeros((1, 2)), classes=np.zeros(1, int),
        feature_names=("x1", "x2"),
    )  # fmt: skip
    codes = pfig.region_codes(regions)
    assert codes.dtype == np.uint8
    np.testing.assert_array_equal(codes[0, 0], [[0, 0], [50, 100]])
    np.testing.assert_array_equal(codes[0, 1], [[pfig.DIVERGED, 100], [26, 74]])


def test_the_circles_page_draws_each_runs_regions_following_the_planes_frames():
    query = {**SMALL, "data": "circles", "o": ["sgd,lr=0.1", "adam,lr=0.01"]}
    at = run_page(PAGE, query)
    assert "Decision regions" in [s.value for s in at.subheader]
    fig, plane = regions_chart(at), plane_chart(at)
    heat = fig["layout"]["meta"]["follow"]["traces"]
    assert len(heat) == 2 and all(fig["data"][i]["type"] == "heatmap" for i in heat)
    # one frame per frame of the plane's player, named by the same recorded point
    assert [f["name"] for f in fig["frames"]] == [f["name"] for f in plane["frames"]]
    titles = [a["text"] for a in fig["layout"]["annotations"]]
    assert "SGD lr=0.1" in titles[0] and "Adam lr=0.01" in titles[1]
    assert titles[0] != titles[1]
    # each frame's image is the engine's decision grid of that run at that recorded point,
    # evaluated here one network at a time (the page evaluates them all in one batched call)
    from app.network_compute import REGION_GRID
    from landscapes.network.predictions import decision_grid

    state, _ = NetworkState.from_query(query)
    model, data, result = network_training(state)
    frames = {int(f["name"]): decoded(f["data"]) for f in fig["frames"]}
    last = max(frames)
    for k in (0, last):
        for r in range(2):
            grid = decision_grid(model, result.params[r, k], data, resolution=REGION_GRID)
            expected = np.round(grid.probabilities[0, ..., 1].astype(np.float64) * 100)
            got = np.asarray(frames[k][r]["z"], dtype=np.float64)
            assert got.shape == expected.shape == (REGION_GRID, REGION_GRID)
            assert np.mean(np.abs(got - expected) <= 1) > 0.999
    # the regions change as training goes on (the figure does not show one step only)
    assert np.abs(np.asarray(frames[0][1]["z"], float) - frames[last][1]["z"]).mean() > 5


def test_digits_show_no_regions():
    at = run_page(PAGE, {**SMALL, "data": "digits"})
    assert "Decision regions" not in [s.value for s in at.subheader]


# --- item 5: digits -----------------------------------------------------------------------------


def test_digits_show_the_confusion_matrix_and_mistakes_at_the_step_the_player_stopped_on():

    query = {**SMALL, "data": "digits", "model": "cnn", "o": "adam,lr=0.01", "steps": "40"}
    state, _ = NetworkState.from_query(query)
    at = run_page(PAGE, query)
    subheaders = [s.value for s in at.subheader]
    assert "What the network gets wrong, at step 0" in subheaders
    _, data, result = network_training(state)
    last = len(result.steps_recorded) - 1

    # the plane's player stops on the last recorded point: the views follow
    at.session_state["net_shown"] = (at.session_state["net_shown_for"], last)
    at.run()
    assert not at.exception
    assert at.session_state["net_shown_for"] == state  # the view's state, as the link gives it
    step = int(result.steps_recorded[last])
    assert f"What the network gets wrong, at step {step}" in [s.value for s in at.subheader]
    confusion = next(
        c
        for c in at.get("plotly_chart")
        if json.loads(c.proto.spec)["data"][0]["type"] == "heatmap"
    )
    fig = json.loads(confusion.proto.spec)
    counts = np.asarray(decoded(fig["data"][0]["z"]))
    assert counts.shape == (10, 10) and counts.sum() == data.n_val
    # its diagonal is the engine's recorded validation accuracy at that step
    assert counts.trace() / data.n_val == pytest.approx(result.val_acc[0, last], abs=1e-6)
    accuracy = [m.value for m in at.markdown if "Validation accuracy" in m.value]
    assert f"**{int(counts.trace())} of {data.n_val}**" in accuracy[0]
    text = " ".join(m.value for m in at.markdown)
    assert "First convolution's 8 filters" in text and "Misclassified" in text
    # another view draws a new plane, whose player opens at the initialization: so do the views
    at.radio(key="net_metric").set_value("val").run()
    assert "What the network gets wrong, at step 0" in [s.value for s in at.subheader]


# --- item 6: your own data ----------------------------------------------------------------------


def test_the_example_csv_uploads_as_the_same_data_as_the_built_in_set():
    from landscapes.network import load_dataset
    from landscapes.network.upload import csv_columns, load_csv

    blob = network_upload.example_csv()
    built_in = load_dataset(network_upload.EXAMPLE)
    assert csv_columns(blob) == ("x1", "x2", "label")
    uploaded = load_csv(blob, label_column="label")

    def rows(d) -> np.ndarray:
        x = np.concatenate([d.x_train.numpy(), d.x_val.numpy()]).astype(np.float64)
        y = np.concatenate([d.y_train.numpy(), d.y_val.numpy()])
        x = (x - x.mean(0)) / x.std(0)  # both sets are standardized with their own split
        out = np.column_stack([x, y])
        return out[np.lexsort(out.T[::-1])]

    assert uploaded.n_train + uploaded.n_val == built_in.n_train + built_in.n_val
    np.testing.assert_allclose(rows(uploaded), rows(built_in), rtol=0, atol=1e-5)
    assert [int(c) for c in uploaded.class_names] == [0, 1]


def choose_upload(at, data: bytes, name: str = "mine.csv"):
    at.selectbox(key="net_data").set_value(UPLOAD).run()
    at.file_uploader(key=network_upload.FILE_KEY).set_value((name, data, "text/csv"))
    return at.run()


def test_an_upload_trains_on_it_shows_its_regions_and_the_link_says_so():
    at = open_page(PAGE, SMALL)
    at.selectbox(key="net_data").set_value(UPLOAD).run()
    # no file yet: the previous data set, with a note
    assert "showing the moons data set instead" in texts(at)
    (example,) = [b for b in at.get("download_button") if "Example CSV" in b.proto.label]
    assert example.proto.label == f"Example CSV ({network_upload.EXAMPLE})"
    blob = network_upload.example_csv()
    at.file_uploader(key=network_upload.FILE_KEY).set_value(("circles.csv", blob, "text/csv"))
    at.run()
    assert not at.exception and not at.error
    assert any("Uploaded CSV: 600 rows, 2 features, 2 classes" in c.value for c in at.caption)
    assert "Decision regions" in [s.value for s in at.subheader]
    assert written_query(at)["data"] in (UPLOAD, [UPLOAD])
    assert any("a link cannot carry" in c.value for c in at.caption)
    assert at.session_state[network_upload.SESSION_KEY].digest == network_upload.digest(
        blob, "label"
    )


def test_a_link_with_uploaded_data_opened_elsewhere_falls_back_with_a_note():
    at = run_page(PAGE, {**SMALL, "data": UPLOAD, "o": "adam,lr=0.01"})
    assert "uploaded data, which a link cannot carry" in texts(at)
    assert "showing the moons data set instead" in texts(at)
    assert at.selectbox(key="net_data").value == UPLOAD  # the uploader is there to use
    assert any("moons" in m.value for m in at.markdown)
    assert "data" not in written_query(at)  # the view shown: moons (the default)


GOOD_HEADER = "a,b,label\n"
GOOD_ROWS = "".join(f"{i},{i % 3},{'yes' if i % 2 else 'no'}\n" for i in range(40))
PROBLEMS = {
    "empty": b"   \n",
    "binary": b"a,b\n\x00\x01",
    "not_utf8": b"a,b,label\n\xff\xfe1,2,x\n",
    "duplicate_column": ("a,a,label\n" + GOOD_ROWS).encode(),
    "too_few_columns": b"label\nx\ny\n",
    "ragged_row": (GOOD_HEADER + GOOD_ROWS + "1,2\n").encode(),
    "too_few_rows": (GOOD_HEADER + "1,2,x\n2,3,y\n").encode(),
    "missing_values": (GOOD_HEADER + GOOD_ROWS + "NA,1,yes\n").encode(),
    "non_numeric": (GOOD_HEADER + GOOD_ROWS + "ten,1,yes\n").encode(),
    "non_finite": (GOOD_HEADER + GOOD_ROWS + "inf,1,yes\n").encode(),
    "single_class": (GOOD_HEADER + "".join(f"{i},{i},x\n" for i in range(40))).encode(),
    "too_many_classes": (GOOD_HEADER + "".join(f"{i},{i},c{i}\n" for i in range(40))).encode(),
    "too_large": (GOOD_HEADER + "1.000000,2.000000,yes\n" * 100_000).encode(),
    "line_too_long": (GOOD_HEADER + "1," + "2" * 20_001 + ",yes\n").encode(),
    "too_many_columns": (",".join(f"c{i}" for i in range(70)) + "\n").encode(),
}


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_each_csv_problem_has_its_own_message_and_the_page_falls_back(problem):
    from landscapes.network.upload import CsvError, load_csv

    data = PROBLEMS[problem]
    with pytest.raises(CsvError) as raised:
        load_csv(data)
    assert raised.value.problem == problem  # the file shows the problem it is meant to
    at = open_page(PAGE, SMALL)
    choose_upload(at, data)
    assert not at.exception
    heading = network_upload.PROBLEM_TITLES[problem]
    assert any(heading in e.value and "cannot be used" in e.value for e in at.error)
    assert str(raised.value) in [t.value for t in at.text]  # the engine's words, literally
    assert any("Showing the moons data instead" in e.value for e in at.error)
    assert "a link cannot carry" not in texts(at)  # one message, not two
    assert network_upload.SESSION_KEY not in at.session_state
    assert any("moons" in m.value for m in at.markdown)  # the previous data set trains


def test_every_problem_the_engine_names_has_a_heading_of_its_own():
    from landscapes.network import upload

    listed = upload.__doc__.split("what is allowed:")[1].split("Values from")[0]
    named = set(re.findall(r"[a-z0-9_]+", listed))
    assert len(named) >= 15 and named <= set(network_upload.PROBLEM_TITLES)
    assert len(set(network_upload.PROBLEM_TITLES.values())) == len(network_upload.PROBLEM_TITLES)


def test_injection_text_in_a_csv_header_is_shown_literally():
    header = "=cmd|' /C calc'!A0,**bold** [x](javascript:alert(1)),label\n"
    data = (header + "1,<b>2</b>,yes\n" * 30).encode()
    at = open_page(PAGE, SMALL)
    choose_upload(at, data)
    assert not at.exception
    shown = [t.value for t in at.text]
    assert any("**bold** [x](javascript:alert(1))" in t and "<b>2</b>" in t for t in shown)
    for kind in (at.markdown, at.error, at.warning, at.info, at.caption):
        assert not any("javascript:" in e.value or "<b>" in e.value for e in kind)


def test_a_bad_file_after_a_good_one_keeps_the_good_one():
    at = open_page(PAGE, SMALL)
    choose_upload(at, network_upload.example_csv(), "circles.csv")
    good = at.session_state[network_upload.SESSION_KEY]
    at.file_uploader(key=network_upload.FILE_KEY).set_value(
        ("bad.csv", PROBLEMS["non_numeric"], "text/csv")
    )
    at.run()
    assert any("Showing the previous upload instead" in e.value for e in at.error)
    assert at.session_state[network_upload.SESSION_KEY] == good
    assert written_query(at)["data"] in (UPLOAD, [UPLOAD])


# --- lessons ------------------------------------------------------------------------------------


def lesson_run(lesson_id: str):
    lesson = lessons.get(lesson_id)
    state, warnings = NetworkState.from_query(parse_qs(urlencode(lesson.query(), doseq=True)))
    assert warnings == [] and state == lesson.state and lesson.page == "views/network.py"
    return state, network_training(state)


def test_decision_regions_lesson_adam_separates_the_circles_before_sgd():
    state, (model, data, result) = lesson_run("decision-regions")
    assert state.dataset in TWO_D
    names = [o.name for o in state.optimizers]
    sgd, adam = names.index("sgd"), names.index("adam")
    acc = result.val_acc
    first = int(np.argmax(acc[adam] >= 0.95))
    assert acc[adam, first] >= 0.95 and 0 < first < acc.shape[1] - 1
    assert acc[sgd, first] <= 0.70  # SGD's boundary is still (nearly) a straight cut
    assert acc[sgd, -1] >= 0.95 and acc[adam, -1] >= 0.95
    # the networks the regions are drawn from are those networks: their confusion matrices
    from landscapes.network.predictions import confusion_matrix

    for run in (sgd, adam):
        c = confusion_matrix(model, result.params[run, first], data.x_val, data.y_val, 2)
        assert c.trace() / c.sum() == pytest.approx(acc[run, first], abs=1e-6)


def test_digits_lesson_goes_from_chance_to_over_ninety_percent():
    from landscapes.network.predictions import confusion_matrix, misclassified

    _, (model, data, result) = lesson_run("digits-mistakes")
    start = confusion_matrix(model, result.params[0, 0], data.x_val, data.y_val, 10)
    end = confusion_matrix(model, result.params[0, -1], data.x_val, data.y_val, 10)
    assert start.trace() / data.n_val <= 0.25
    assert end.trace() / data.n_val >= 0.90
    assert end.trace() / data.n_val == pytest.approx(result.val_acc[0, -1], abs=1e-6)
    wrong = misclassified(model, result.params[0, -1], data.x_val, data.y_val)
    assert len(wrong.indices) == data.n_val - end.trace()


# --- in the browser: the regions follow the plane's player ---------------------------------------

JS_SHOWN_AND_FRAME = """(el, name) => {
  const flat = (v) => {
    if (v && typeof v === "object" && typeof v.bdata === "string") {
      const bin = atob(v.bdata);
      return Array.from(bin, (c) => c.charCodeAt(0));  // uint8 codes
    }
    return Array.from(v, (row) => Array.from(row)).flat();
  };
  const heat = el.layout.meta.follow.traces[0];
  const frame = el._transitionData._frameHash[name];
  return {shown: flat(el._fullData[heat].z), frame: frame ? flat(frame.data[0].z) : null};
}"""


def test_the_regions_follow_the_planes_player_in_the_browser(browser, server):
    query = {**SMALL, "data": "circles", "o": ["sgd,lr=0.1", "adam,lr=0.01"]}
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(120_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{server}/network?{urlencode(query, doseq=True)}")
        regions = ".st-key-regions div.optiscape-plot"
        page.wait_for_function(
            f"() => {{ const el = document.querySelector({regions!r});"
            " return !!el && Array.isArray(el._fullData) && el._fullData.length > 0; }"
        )
        first = page.locator(regions).evaluate(JS_SHOWN_AND_FRAME, "0")
        assert first["shown"] == first["frame"]  # the plane opens at the initialization
        page.locator(".st-key-plane .optiscape-player button.step10").click()
        page.wait_for_function("() => window.__optiscapeStep === 10")
        page.wait_for_timeout(500)
        after = page.locator(regions).evaluate(JS_SHOWN_AND_FRAME, "10")
        assert after["frame"] is not None and after["shown"] == after["frame"]
        assert after["shown"] != first["shown"]
        assert errors == []
    finally:
        context.close()


def test_the_regions_fit_beside_the_plane_on_a_projector(browser, server):
    """At 1280 x 720 the panels of two runs (side by side) fit their column: no panel is cut by
    the window's edge."""
    query = {**SMALL, "data": "circles", "o": ["sgd,lr=0.1", "adam,lr=0.01"]}
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(f"{server}/network?{urlencode(query, doseq=True)}")
        svg = ".st-key-regions div.optiscape-plot .main-svg"
        page.wait_for_selector(svg)
        page.wait_for_timeout(500)
        figure = page.locator(svg).first.bounding_box()
        column = page.locator("[data-testid='stMainBlockContainer']").bounding_box()
        assert figure is not None and column is not None
        assert figure["x"] + figure["width"] <= column["x"] + column["width"] + 1, (figure, column)
        assert figure["width"] >= 2 * 110  # two panels, each still a picture
    finally:
        context.close()


def three_blobs() -> bytes:
    rng = np.random.default_rng(0)
    lines = ["u,v,kind"]
    for c, (cx, cy) in enumerate([(0.0, 0.0), (3.0, 0.0), (0.0, 3.0)]):
        for x, y in rng.normal(size=(40, 2)):
            lines.append(f"{cx + x:.4f},{cy + y:.4f},{'abc'[c]}")
    return ("\n".join(lines) + "\n").encode()


def test_a_three_class_2d_upload_draws_one_colour_per_class_and_a_wide_one_no_regions():
    at = open_page(PAGE, SMALL)
    choose_upload(at, three_blobs())
    assert not at.exception and not at.error
    fig = regions_chart(at)
    heat = fig["data"][fig["layout"]["meta"]["follow"]["traces"][0]]
    assert heat["zmax"] == 3  # class codes 0, 1, 2; above them, grey (a diverged run)
    legend = [t.get("name", "") for t in fig["data"] if t.get("showlegend") is not False]
    assert [n for n in legend if n.startswith("class")] == ["class a", "class b", "class c"]
    wide = ("p,q,r,label\n" + "".join(f"{i},{i % 5},{i % 7},{i % 2}\n" for i in range(60))).encode()
    at.file_uploader(key=network_upload.FILE_KEY).set_value(("wide.csv", wide, "text/csv"))
    at.run()
    assert not at.exception and not at.error
    assert any("3 features, 2 classes" in c.value for c in at.caption)
    assert "Decision regions" not in [s.value for s in at.subheader]


def test_an_uploads_training_never_goes_to_the_replicas_folder(tmp_path, monkeypatch):
    """Replicas share values through files; a training holds its data set, so an upload's stays
    in memory while a built-in set's is written for the other replicas."""
    from app import network_compute, network_training, shared_work
    from app.network_state import NetOptimizer
    from app.replica_share import ReplicaShare

    folder = tmp_path / "replicas"
    monkeypatch.setattr(shared_work, "_REPLICAS", ReplicaShare(folder, 10**8))
    blob = network_upload.example_csv()
    upload = network_upload.check("circles.csv", blob, "label")
    network_upload.register(upload)
    small = NetworkState(
        widths=(4,), optimizers=(NetOptimizer.make("sgd", 0.1),), steps=10, samples=200
    )
    uploaded = NetworkState(**{**small.__dict__, "dataset": UPLOAD, "upload": upload.digest})
    t = network_training.trained(network_compute.train_key(uploaded))
    assert t.dataset.n_train + t.dataset.n_val == upload.n_rows
    assert not folder.exists() or not any(folder.rglob("*"))
    network_training.trained(network_compute.train_key(small))
    assert any(p.is_file() for p in folder.rglob("*"))  # the check can see a written value
