"""Runs can be told apart: labels name every setting that differs from the optimizer's defaults
and never repeat within a scene; a run's colour slot survives adding and removing other runs and
travels in the link."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

import pytest
from apptest_helpers import chart_figures, new_app, open_editor, written_query
from streamlit.testing.v1 import AppTest

from app import explorer_link, lessons
from app.charts.style import END_SYMBOLS, OKABE_ITO
from app.labels import lowest_free, run_label, unique_labels
from app.network_state import NetworkState
from app.state import AppState, OptimizerEntry
from optimizers import Schedule

E = OptimizerEntry.make


@pytest.mark.parametrize(
    ("entry", "label"),
    [
        (E("gd", lr=0.02), "Gradient descent lr=0.02"),
        (E("gd", lr=0.02, noise=0.1), "Gradient descent lr=0.02 noise=0.1"),
        (E("momentum", lr=0.01, clip_norm=1.0), "Momentum lr=0.01 clip=1"),
        (E("momentum", lr=0.01, momentum=0.5), "Momentum lr=0.01 momentum=0.5"),
        (E("adam", lr=0.1, schedule=Schedule("cosine")), "Adam lr=0.1 cosine"),
        (E("adam", lr=0.1, amsgrad=True, weight_decay=0.01), "Adam lr=0.1 wd=0.01 amsgrad"),
        (
            E("gd", lr=0.1, schedule=Schedule("step", step_size=50, gamma=0.1)),
            "Gradient descent lr=0.1 step(step-size=50,gamma=0.1)",
        ),
        (E("newton"), "Newton lr=1"),  # the learning rate is always named
        (E("newton", saddle_free=False), "Newton lr=1 no-saddle-free"),
        (E("adam", lr=0.1, beta1=0.9), "Adam lr=0.1"),  # beta1=0.9 is Adam's default
    ],
)
def test_a_label_names_the_settings_that_differ_from_the_defaults(entry, label):
    assert entry.label == label


def test_every_setting_and_schedule_field_changes_the_label():
    """Two entries of one optimizer that differ in any one setting have different labels."""
    import optimizers

    for name in optimizers.available():
        opt = optimizers.get(name)
        base = E(name)
        for h in opt.all_hyperparams():
            if h.kind == "bool":
                other = not h.default
            else:
                low, high = h.ui or (h.low, h.high)
                other = high if h.default != high else low
            try:
                changed = E(name, **{h.name: other})
            except ValueError:  # a combination the optimizer refuses (Nesterov without momentum)
                continue
            if changed != base:
                assert changed.label != base.label, (name, h.name)
    sched = [E("gd", schedule=Schedule("cosine", t_max=t)) for t in (0, 50)]
    assert sched[0].label != sched[1].label


def test_repeated_labels_are_numbered():
    assert unique_labels(["A", "B", "A", "A"]) == ["A", "B", "A #2", "A #3"]
    state = AppState(optimizers=(E("adam", lr=0.1), E("gd"), E("adam", lr=0.1)))
    assert state.labels() == ("Adam lr=0.1", "Gradient descent lr=0.001", "Adam lr=0.1 #2")
    assert run_label("adam", {}) == "Adam lr=0.001"


RACES = [x for x in lessons.LESSONS if isinstance(x.state, AppState | NetworkState)]


@pytest.mark.parametrize("lesson", RACES, ids=lambda lesson: lesson.id)
def test_no_lesson_has_two_runs_with_one_label(lesson):
    """In every lesson where optimizers race (the explorer's and the network page's)."""
    state = lesson.state
    labels = state.labels() if isinstance(state, AppState) else [o.label for o in state.optimizers]
    assert len(set(labels)) == len(labels), labels
    if isinstance(state, AppState):  # the entries' own labels already differ: no "#2" needed
        assert not any("#" in label for label in labels)


def test_slots_round_trip_and_old_links_colour_by_position():
    four = (E("gd", lr=0.001), E("momentum", lr=0.001), E("adam", lr=0.1), E("newton", lr=0.5))
    assert AppState(optimizers=four).run_slots() == (0, 1, 2, 3)
    assert AppState(optimizers=four, slots=(0, 1, 2, 3)).slots == ()  # positions: not stored
    assert AppState(optimizers=four, slots=(0, 1)).slots == ()  # does not fit: by position
    moved = AppState(optimizers=(four[0], four[2], four[3]), slots=(0, 2, 3))
    query = moved.to_query()
    assert query["o"] == ["gd,c=0", "adam,lr=0.1,c=2", "newton,lr=0.5,c=3"]
    back, warnings = explorer_link.from_query(parse_qs(urlencode(query, doseq=True)))
    assert warnings == [] and back == moved and back.run_slots() == (0, 2, 3)
    old, warnings = explorer_link.from_query({"o": ["adam,lr=0.1", "newton,lr=0.5"]})
    assert warnings == [] and old.run_slots() == (0, 1) and "c=" not in str(old.to_query())


def test_slots_of_a_hand_edited_link():
    state, warnings = explorer_link.from_query({"o": ["gd,c=1", "adam", "newton,c=1", "bfgs,c=x"]})
    assert state.run_slots() == (1, 0, 2, 3)
    assert len(warnings) == 2 and "c=1" in warnings[1] and "'x'" in warnings[0]
    assert lowest_free([0, 2, 3]) == 1 and lowest_free([]) == 0


def run_styles(at: AppTest) -> dict[str, tuple[str, str]]:
    """Each run's (colour, marker) in the contour figure's legend entries, by label (the
    legend adds the run's state on a line of its own once the step shown reaches it)."""
    contour = chart_figures(at)[0]
    return {
        t["name"].split("<br>")[0]: (t["line"]["color"], t["marker"]["symbol"])
        for t in contour["data"]
        if str(t.get("legendgroup", "")).startswith("run") and t.get("showlegend", True)
    }


def test_removing_an_optimizer_keeps_the_others_colours_and_markers_also_in_the_link():
    at = new_app()
    at.query_params["o"] = ["gd,lr=0.001", "momentum,lr=0.001", "adam,lr=0.1", "newton,lr=0.5"]
    at.query_params["steps"] = "50"
    at.query_params["view3d"] = "0"
    at.run()
    assert not at.exception
    before = run_styles(at)
    assert list(before.values()) == [(OKABE_ITO[i], END_SYMBOLS[i]) for i in range(4)]

    open_editor(at, 1).button(key="opt1_remove").click().run()  # the second optimizer
    assert not at.exception
    after = run_styles(at)
    assert "Momentum lr=0.001" not in after and len(after) == 3
    assert after == {k: v for k, v in before.items() if k != "Momentum lr=0.001"}

    # the link records the slots: opened fresh, it shows the same colours
    query = written_query(at)
    assert query["o"][1].endswith(",c=2") and query["o"][2].endswith(",c=3")
    fresh = new_app()
    for key, value in query.items():
        fresh.query_params[key] = value
    fresh.run()
    assert not fresh.exception and run_styles(fresh) == after

    # an optimizer added now takes the free slot (the removed one's colour), no other changes
    at.selectbox(key="new_optimizer").set_value("rmsprop")
    next(b for b in at.button if b.label == "Add").click().run()
    added = run_styles(at)
    assert {k: v for k, v in added.items() if k in after} == after
    (new,) = set(added) - set(after)
    assert added[new] == (OKABE_ITO[1], END_SYMBOLS[1])
