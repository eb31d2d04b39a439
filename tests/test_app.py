"""The explorer page under Streamlit's AppTest: it runs, every kind of control works, links restore."""

from __future__ import annotations

import pytest
from apptest_helpers import (
    APP,
    chart_figures,
    message_text,
    open_editor,
    run_explorer,
    status_table,
)
from streamlit.testing.v1 import AppTest

import landscapes
from app import cli, explorer_link
from app.plotly_view import APP_TEMPLATE
from app.state import AppState


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def written_state(at: AppTest) -> AppState:
    """The state the page wrote back into the URL."""
    state, warnings = explorer_link.from_query(
        {
            k: at.query_params.get_all(k)
            if hasattr(at.query_params, "get_all")
            else at.query_params[k]
            for k in at.query_params
        }
    )
    assert warnings == []
    return state


def player(at: AppTest) -> dict:
    """The contour's player as the page sends it (app.plotly_view)."""
    return chart_figures(at)[0]["layout"]["meta"]["player"]


@pytest.fixture(scope="module")
def default_app() -> AppTest:
    return run_explorer()


def test_default_scene_runs_and_shows_every_view(default_app):
    at = default_app
    assert not at.warning
    charts = chart_figures(at)  # contour and curves: the 3-D view is one click away
    assert len(charts) == 2
    assert charts[0]["layout"]["meta"]["player"]["step"] == 0  # a new scene opens at step 0
    for fig in charts:
        assert fig["layout"]["template"] == APP_TEMPLATE and fig["config"] == {"displaylogo": False}
    table = status_table(at)
    assert len(table) == 4
    assert at.selectbox(key="landscape").value == "rosenbrock"
    assert any("CPU" in c.value or "CUDA" in c.value for c in at.sidebar.caption)


def test_the_url_holds_the_state(default_app):
    state = written_state(default_app)
    assert state == AppState()


@pytest.mark.parametrize(
    "change",
    [
        "landscape",
        "landscape_param",
        "lr",
        "bool_hp",
        "schedule",
        "steps",
        "seed",
        "start",
        "toggles",
        "add",
        "remove",
        "playback_lock",
    ],
)
def test_each_kind_of_control(change):
    at = run_explorer()
    if change == "landscape":
        at.selectbox(key="landscape").set_value("himmelblau").run()
        assert written_state(at).landscape == "himmelblau"
        assert at.header[0].value == "Himmelblau"
    elif change == "landscape_param":
        at.slider(key="lp_rosenbrock_b").set_value(10.0).run()
        assert dict(written_state(at).landscape_params) == {"b": 10.0}
    elif change == "lr":
        open_editor(at, 2).select_slider(key="opt2_lr").set_value(0.01).run()
        assert written_state(at).optimizers[2].values["lr"] == 0.01
        assert "lr=0.01" in status_table(at).iloc[2, 0]
    elif change == "bool_hp":
        open_editor(at, 2).checkbox(key="opt2_amsgrad").check().run()
        assert written_state(at).optimizers[2].values["amsgrad"] is True
    elif change == "schedule":
        open_editor(at, 0).selectbox(key="opt0_schedule").set_value("cosine").run()
        at.number_input(key="opt0_s_t_max").set_value(100).run()
        schedule = written_state(at).optimizers[0].schedule
        assert schedule.kind == "cosine" and schedule.t_max == 100
    elif change == "steps":
        at.slider(key="steps").set_value(120).run()
        assert written_state(at).steps == 120 and written_state(at).step == 0
        assert player(at)["total"] == 120
    elif change == "seed":
        at.number_input(key="seed").set_value(7).run()
        assert written_state(at).seed == 7
    elif change == "start":
        at.checkbox(key="use_default_start").uncheck().run()
        at.number_input(key="start_x").set_value(0.5).run()
        assert written_state(at).start == (0.5, 2.0)
    elif change == "toggles":
        at.toggle(key="show_3d").set_value(True).run()
        at.toggle(key="show_curves").set_value(False).run()
        at.toggle(key="log_toggle").set_value(False).run()
        assert len(chart_figures(at)) == 2  # contour and 3-D
        state = written_state(at)
        assert state.show_3d and not state.show_curves and state.log_colour is False
    elif change == "add":
        at.selectbox(key="new_optimizer").set_value("rmsprop").run()
        button(at, "Add").click().run()
        assert [e.name for e in written_state(at).optimizers][-1] == "rmsprop"
        assert len(status_table(at)) == 5
    elif change == "remove":
        open_editor(at, 0).button(key="opt0_remove").click().run()
        assert [e.name for e in written_state(at).optimizers] == ["momentum", "adam", "newton"]
    elif change == "playback_lock":  # a link's lock= / hide= of the player's controls
        at = run_explorer({**AppState().to_query(), "lock": "playback"})
        assert player(at)["controls"] == "locked"
        at = run_explorer({**AppState().to_query(), "hide": "playback"})
        assert player(at)["controls"] == "hidden"
    assert not at.exception


def test_a_link_restores_its_view():
    query = AppState(
        landscape="himmelblau",
        optimizers=explorer_link.from_query({"o": ["adam,lr=0.2,amsgrad=1", "gd,lr=0.01"]})[
            0
        ].optimizers,
        start=(-1.0, 2.5),
        steps=300,
        seed=4,
        step=30,
        show_3d=False,
    ).to_query()
    at = run_explorer(query)
    assert not at.warning
    assert at.selectbox(key="landscape").value == "himmelblau"
    open_editor(at, 0)
    assert at.select_slider(key="opt0_lr").value == 0.2
    assert at.checkbox(key="opt0_amsgrad").value is True
    assert at.number_input(key="start_x").value == -1.0
    assert at.slider(key="steps").value == 300 and player(at)["step"] == 30
    assert len(chart_figures(at)) == 2
    assert written_state(at) == explorer_link.from_query(query)[0]


def test_a_closed_editor_draws_no_widgets_and_keeps_their_values():
    at = run_explorer()
    assert not any(w.key.startswith("opt") for w in [*at.select_slider, *at.number_input])
    open_editor(at, 2).checkbox(key="opt2_amsgrad").check().run()
    at.number_input(key="opt2_beta1").set_value(0.8).run()
    open_editor(at, 2, is_open=False)
    assert not any(w.key.startswith("opt2_") for w in [*at.checkbox, *at.number_input])
    at.slider(key="steps").set_value(120).run()  # more reruns with the editor closed
    at.number_input(key="seed").set_value(3).run()
    adam = written_state(at).optimizers[2]
    assert adam.values["amsgrad"] is True and adam.values["beta1"] == 0.8
    open_editor(at, 2)  # and its widgets come back with them
    assert at.checkbox(key="opt2_amsgrad").value is True
    assert at.number_input(key="opt2_beta1").value == 0.8


def test_a_malformed_link_warns_and_keeps_the_rest():
    at = run_explorer(
        {"ls": "himmelblau", "o": ["adam,lr=-3", "warp9"], "steps": "lots", "start": "x"}
    )
    messages = message_text(at)
    assert (
        "'lr'" in messages and "warp9" in messages and "steps=" in messages and "start=" in messages
    )
    assert at.selectbox(key="landscape").value == "himmelblau"
    assert len(status_table(at)) == 1


def test_a_diverging_run_is_reported_not_raised():
    at = run_explorer({"o": ["gd,lr=0.05", "adam,lr=10"], "steps": "200"})
    statuses = list(status_table(at, step=200)["Status"])
    assert any("diverged at step" in s for s in statuses)


def test_every_landscape_renders():
    at = run_explorer({"o": "gd", "steps": "10"})
    for key in landscapes.available():
        at.selectbox(key="landscape").set_value(key).run()
        assert not at.exception, (key, [e.message for e in at.exception])
        assert not at.error, (key, [e.value for e in at.error])
        # contour, 3-D, curves; and on a quadratic the curvature panel's momentum rate map
        quadratic = any("Heavy-ball momentum on this quadratic" in m.value for m in at.markdown)
        assert len(chart_figures(at)) == 3 + quadratic, key


def test_cli_runs_streamlit_on_the_main_script_with_extra_args(monkeypatch):
    launched: list[list[str]] = []
    monkeypatch.setattr(cli, "launch", launched.append)
    environ: dict[str, str] = {}  # the server's environment, as the command leaves it
    monkeypatch.setattr(cli.os, "environ", environ)
    cli.main(["--server.port", "8502", "--server.headless", "true"])
    # the server warms up its views; one torch thread per session thread
    assert environ == {"OPTISCAPE_WARMUP": "1", "OMP_NUM_THREADS": "1"}
    static = [
        "--server.enableStaticServing",
        "true",  # the charts load plotly.min.js from it
        "--browser.gatherUsageStats",
        "false",  # no usage statistics
        "--server.fileWatcherType",
        "none",  # a served app's sources do not change
        "--runner.postScriptGC",
        "false",  # no full collection after each rerun
    ]
    assert launched == [["run", APP, *static, "--server.port", "8502", "--server.headless", "true"]]
    monkeypatch.setattr("sys.argv", ["optiscape", "--server.headless", "true"])
    cli.main()
    assert launched[1] == ["run", APP, *static, "--server.headless", "true"]


def test_cli_launch_calls_streamlits_own_command_line(monkeypatch):
    from streamlit.web import cli as stcli

    calls = []
    monkeypatch.setattr(stcli, "main", lambda **kw: calls.append(kw))
    cli.launch(["run", "x.py"])
    assert calls == [{"args": ["run", "x.py"], "prog_name": "streamlit"}]


def test_a_custom_formula_runs_everywhere_a_built_in_surface_does():
    at = run_explorer(
        {"ls": "custom", "fx": "sin(3*x) + (x^2 + y^2)/4", "o": ["gd,lr=0.05", "adam"]}
    )
    assert not at.warning and not at.error
    assert at.selectbox(key="landscape").value == "custom"
    assert at.text_input(key="formula").value == "sin(3*x) + (x^2 + y^2)/4"
    assert len(chart_figures(at)) == 3 and len(status_table(at)) == 2
    at.text_input(key="formula").set_value("__import__('os').system('true')").run()
    assert not at.exception
    assert "attribute access" in message_text(at)
    assert written_state(at).formula == "x**4 - 2*x**2 + y**2 + 0.3*x"  # the default, shown
    at.text_input(key="formula").set_value("x^2 + 2*y^2")
    at.number_input(key="dom_x1").set_value(5.0)
    at.run()
    assert not at.error
    state = written_state(at)
    assert state.formula == "x^2 + 2*y^2" and state.domain == ((-3.0, 5.0), (-3.0, 3.0))


def test_a_bad_formula_in_a_link_warns_and_shows_the_default():
    at = run_explorer({"ls": "custom", "fx": "open('/etc/passwd')"})
    assert "fx: not allowed" in message_text(at)
    assert written_state(at).formula == "x**4 - 2*x**2 + y**2 + 0.3*x"


def test_the_export_expander_offers_every_file(default_app):
    buttons = default_app.get("download_button")
    names = " ".join(str(b.proto.label) for b in buttons)
    for kind in ("HTML", "GIF", "CSV", "JSON", "NPZ"):
        assert kind in names, names


def test_curvature_panel_and_axes_on_the_contour():
    at = run_explorer({"ls": "quadratic", "o": ["gd,lr=0.1", "momentum,lr=0.05"], "steps": "40"})
    assert any(s.value == "Curvature and stability" for s in at.subheader)
    spec = chart_figures(at)[0]
    axes = [t for t in spec["data"] if t.get("legendgroup") == "curvature"]
    assert len(axes) >= 2  # the steep and the flat axis of at least one run
    for frame in spec["frames"]:  # the axes stay listed in every frame, like every trace
        assert sorted(frame["traces"]) == list(range(len(spec["data"])))
    at.toggle(key="show_curvature").set_value(False).run()
    assert not any(s.value == "Curvature and stability" for s in at.subheader)
    assert written_state(at).show_curvature is False


def test_the_rate_map_follows_the_family_of_the_optimizer_a_click_sets():
    at = run_explorer(
        {"ls": "quadratic", "o": ["momentum,lr=0.05", "nesterov,lr=0.05"], "steps": "40"}
    )

    def red_line() -> str:
        spec = chart_figures(at)[-1]
        return next(t["name"] for t in spec["data"] if t.get("name", "").startswith("lr = "))

    assert red_line() == "lr = (2+2β)/λ_max"
    target = next(s for s in at.selectbox if s.label == "A click on the map sets")
    target.set_value((1, "nesterov")).run()
    assert not at.exception
    assert red_line() == "lr = (2+2β)/((1+2β)λ_max)"
    assert any("Nesterov momentum on this quadratic" in m.value for m in at.markdown)


def test_a_far_learning_rate_on_the_slider_finds_its_run_already_computed(monkeypatch):
    """After a scene, every value of every learning-rate slider is computed in the background: a
    move along a slider then runs nothing; another change (beta1) runs its run."""
    import numpy as np

    import optimizers
    from app import compute
    from app.slider_values import likely_entries, log_options
    from app.state import OptimizerEntry

    adam, newton = OptimizerEntry.make("adam", lr=0.1), OptimizerEntry.make("newton", lr=0.5)
    key, params, start, steps, seed = "rosenbrock", (), (-1.5, 2.0), 137, 0
    likely = likely_entries((adam, newton))
    assert len([e for e in likely if e.name == "adam"]) == len(log_options(1e-5, 10.0, (0.1,))) - 1
    assert len([e for e in likely if e.name == "newton"]) == len(log_options(1e-3, 2.0, (0.5,))) - 1
    compute.runs(key, params, (adam, newton), start, steps, seed)
    compute.wait_for_prefetch()  # one prefetch at a time: an earlier test's has finished
    compute.prefetch(key, params, likely, start, steps, seed)  # a background thread
    compute.wait_for_prefetch()

    calls = []
    real = optimizers.simulate

    def counting(*args, **kwargs):
        calls.append(len(args[1]))
        return real(*args, **kwargs)

    monkeypatch.setattr(optimizers, "simulate", counting)
    far = (OptimizerEntry.make("adam", lr=1e-4), OptimizerEntry.make("newton", lr=0.00237))
    got = compute.runs(key, params, far, start, steps, seed)
    assert calls == []
    for entry, run in zip(far, got, strict=True):
        alone = real(landscapes.get(key), [entry.spec()], [start], steps=steps, seed=seed)
        np.testing.assert_allclose(run.positions, alone.positions[0, 0], rtol=0, atol=1e-12)
    compute.runs(key, params, (OptimizerEntry.make("adam", lr=0.1, beta1=0.8),), start, steps, 0)
    assert calls == [1]


def test_the_run_store_keeps_to_its_byte_budget(monkeypatch):
    from app import compute
    from app.state import OptimizerEntry

    store = compute._store()
    entries = (OptimizerEntry.make("adam", lr=0.1), OptimizerEntry.make("gd", lr=1e-3))
    one = compute.runs("himmelblau", (), entries, (0.5, 0.5), 211, 0)
    per_run = compute._nbytes(one[0])
    monkeypatch.setattr(compute, "STORE_BYTES", 5 * per_run)
    for start in [(1.0, 1.0), (1.5, 1.0), (2.0, 1.0)]:
        got = compute.runs("himmelblau", (), entries, start, 211, 0)
        assert store.nbytes <= compute.STORE_BYTES
        assert [r.positions[0].tolist() for r in got] == [list(start)] * 2
        assert store.nbytes == sum(compute._nbytes(r) for r in store.runs.values())


def test_one_prefetch_at_a_time_and_the_next_page_prefetches_what_is_missing():
    """A prefetch asked while another runs is dropped (a class opening many links shares the
    cores between pages, not guesses); the next page's prefetch computes what is missing (a
    student added an optimizer before the first page's prefetch had finished)."""
    from app import compute
    from app.slider_values import likely_entries
    from app.state import OptimizerEntry

    adam, rms = OptimizerEntry.make("adam", lr=0.1), OptimizerEntry.make("rmsprop", lr=0.01)
    scene = ("himmelblau", (), (0.25, -0.5), 123, 0)
    key, params, start, steps, seed = scene
    store = compute._store()
    first, both = likely_entries((adam,)), likely_entries((adam, rms))
    only_rms = [e for e in both if e.name == "rmsprop"]
    compute.prefetch(key, params, first, start, steps, seed)
    with store.lock:
        running = any(not f.done() for f in store.pending)
    compute.prefetch(key, params, both, start, steps, seed)
    compute.wait_for_prefetch()
    assert all((key, params, e, start, steps, seed) in store.runs for e in first)
    if running:  # the second was asked while the first ran: dropped
        assert not any((key, params, e, start, steps, seed) in store.runs for e in only_rms)
    compute.prefetch(key, params, both, start, steps, seed)
    compute.wait_for_prefetch()
    assert all((key, params, e, start, steps, seed) in store.runs for e in both)
    assert not store.prefetching


def test_the_objects_alive_after_the_first_page_are_frozen_once(default_app, monkeypatch):
    """The garbage collector's full collections skip the imported libraries (frozen after the
    first page), and a later page does not collect and freeze again."""
    import gc

    from app import process

    assert process._frozen.is_set()
    assert gc.get_freeze_count() > 100_000  # torch, Streamlit, Plotly...
    calls = []
    monkeypatch.setattr(process.gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(process.gc, "collect", lambda *a: calls.append("collect"))
    process.freeze_startup_objects()
    assert calls == []


def test_a_link_may_ask_the_race_to_play_on_opening():
    """``play=1`` (a lesson card's link) opens at step 0 and hands the player ``autoplay``; the
    written link keeps it; without it the race waits for Play."""
    at = run_explorer({"play": "1"})
    player = chart_figures(at)[0]["layout"]["meta"]["player"]
    assert player["autoplay"] is True and player["step"] == 0
    assert written_state(at).play is True
    plain = chart_figures(run_explorer({}))[0]["layout"]["meta"]["player"]
    assert plain["autoplay"] is False
    state, warnings = explorer_link.from_query({"v": "1", "play": "yes"})
    assert state.play is False and "play='yes'" in warnings[0]
