"""The view state and its URL encoding: exact round trips, and warnings (not errors) for bad links."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import landscapes
import optimizers
from app import explorer_link
from app.links import v1
from app.state import AppState, OptimizerEntry
from optimizers import Schedule


def random_entry(rng: np.random.Generator) -> OptimizerEntry:
    name = str(rng.choice(optimizers.available()))
    opt = optimizers.get(name)
    hp = {}
    for h in opt.all_hyperparams():
        if rng.random() < 0.5:
            continue
        if h.kind == "bool":
            hp[h.name] = bool(rng.random() < 0.5)
        else:
            lo, hi = h.ui
            value = (
                float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
                if h.log
                else float(rng.uniform(lo, hi))
            )
            if h.high_open:
                value = min(value, h.high - 1e-3)
            hp[h.name] = round(value) if h.kind == "int" else value
    if hp.get("nesterov", opt.defaults.get("nesterov")):  # Nesterov needs momentum, no dampening
        hp.update(momentum=0.9)
        if "dampening" in opt.defaults:
            hp["dampening"] = 0.0
    kind = str(rng.choice(optimizers.SCHEDULES))
    schedule = Schedule(
        kind=kind,
        step_size=int(rng.integers(1, 200)),
        gamma=float(rng.uniform(0.1, 1.0)),
        t_max=int(rng.integers(0, 300)),
        warmup=int(rng.integers(0, 50)),
    )
    return OptimizerEntry.make(name, schedule=schedule, **hp)


def random_state(rng: np.random.Generator) -> AppState:
    key = str(rng.choice(landscapes.available()))
    params = {
        p.name: float(rng.uniform(p.low, p.high))
        for p in landscapes.parameters(key)
        if rng.random() < 0.7
    }
    land = landscapes.get(key, **params)
    (x0, x1), (y0, y1) = land.domain
    steps = int(rng.integers(1, 2000))
    return AppState(
        landscape=key,
        landscape_params=tuple(sorted(params.items())),
        optimizers=tuple(random_entry(rng) for _ in range(int(rng.integers(1, 7)))),
        start=(float(rng.uniform(x0, x1)), float(rng.uniform(y0, y1)))
        if rng.random() < 0.7
        else None,
        steps=steps,
        seed=int(rng.integers(0, 10_000)),
        step=int(rng.integers(0, steps + 1)) if rng.random() < 0.5 else None,
        log_colour=[None, True, False][int(rng.integers(0, 3))],
        show_3d=bool(rng.random() < 0.5),
        show_curves=bool(rng.random() < 0.5),
        show_arrows=bool(rng.random() < 0.5),
    )


@pytest.mark.parametrize("seed", range(40))
def test_random_states_round_trip_exactly(seed):
    state = random_state(np.random.default_rng(seed))
    query = state.to_query()
    assert all(isinstance(v, str) or all(isinstance(x, str) for x in v) for v in query.values())
    back, warnings = explorer_link.from_query(query)
    assert warnings == []
    if state.start is None and state.landscape not in v1.STARTS:
        # a surface added after v=1 has no frozen start: its link names the start outright, so
        # that the link keeps its meaning if the surface's default start ever changes
        state = replace(state, start=state.start_point())
    assert back == state


def test_default_state_gives_a_short_link():
    """A new scene opens at step 0 with the views calm (no 3-D, arrows or curvature); its link
    says so, since a v=1 link without these keys means the end and every view, as it always
    did."""
    assert AppState().to_query() == {
        "v": "1",
        "ls": "rosenbrock",
        "o": ["gd", "momentum", "adam,lr=0.1", "newton,lr=0.5"],
        "k": "0",
        "view3d": "0",
        "arrows": "0",
        "curv": "0",
    }
    assert explorer_link.from_query(AppState().to_query()) == (AppState(), [])
    old, warnings = explorer_link.from_query({})
    assert warnings == [] and old.step is None and old.show_3d and old.show_arrows


@pytest.mark.parametrize(
    "query,needle,check",
    [
        (
            {"ls": "rosenbrok"},
            "landscape 'rosenbrok' is unknown",
            lambda s: s.landscape == "rosenbrock",
        ),
        ({"o": "adam,lr=-1"}, "'lr' must be in", lambda s: s.optimizers[0].values["lr"] == 0.001),
        ({"o": "adam,lr=abc"}, "'lr' must be a number", lambda s: s.optimizers[0].name == "adam"),
        (
            {"o": ["adam,beta1=1.5", "gd,lr=0.1"]},
            "'beta1'",
            lambda s: s.optimizers[1].values["lr"] == 0.1,
        ),
        (
            {"o": "adamm"},
            "optimizer 'adamm' is unknown",
            lambda s: s.optimizers == AppState().optimizers,
        ),
        (
            {"o": "nesterov,momentum=0"},
            "Nesterov",
            lambda s: s.optimizers[0].values["momentum"] == 0.9,
        ),
        (
            {"o": "gd,schedule=sometimes"},
            "schedule 'sometimes'",
            lambda s: s.optimizers[0].schedule.kind == "constant",
        ),
        (
            {"o": "gd,schedule=step,gamma=9"},
            "gamma",
            lambda s: s.optimizers[0].schedule == Schedule("step"),
        ),
        ({"start": "1,nan"}, "start=", lambda s: s.start is None),
        ({"start": "1e9,0"}, "outside the plot", lambda s: s.start is None),
        ({"steps": "-4"}, "steps=", lambda s: s.steps == 500),
        (
            {"steps": "10", "k": "50"},
            "past the last step",
            lambda s: s.step is None and s.steps == 10,
        ),
        ({"seed": "x"}, "seed=", lambda s: s.seed == 0),
        ({"log": "maybe"}, "log=", lambda s: s.log_colour is None),
        ({"lp": "b:1e9", "ls": "rosenbrock"}, "parameter 'b'", lambda s: s.landscape_params == ()),
        ({"lp": "zz:1"}, "'zz:1'", lambda s: s.landscape_params == ()),
        ({"v": "7"}, "v='7'", lambda s: s == explorer_link.from_query({"v": "1"})[0]),
        ({"o": "adam,lr"}, "not name=value", lambda s: s.optimizers[0].name == "adam"),
    ],
)
def test_malformed_links_warn_and_keep_the_rest(query, needle, check):
    state, warnings = explorer_link.from_query({**query, "seed": query.get("seed", "0")})
    assert any(needle in w for w in warnings), warnings
    assert check(state)


def test_a_bad_field_does_not_spoil_the_others():
    state, warnings = explorer_link.from_query(
        {
            "ls": "himmelblau",
            "o": ["adam,lr=0.2", "gd,lr=-5"],
            "steps": "300",
            "start": "oops",
            "seed": "9",
        }
    )
    assert len(warnings) == 2
    assert state.landscape == "himmelblau" and state.steps == 300 and state.seed == 9
    assert [e.name for e in state.optimizers] == ["adam", "gd"]
    assert state.optimizers[0].values["lr"] == 0.2


def test_entries_and_specs():
    entry = OptimizerEntry.make("adam", lr=0.05, beta1=0.9)  # beta1 is the default: not stored
    assert entry.hyperparams == (("lr", 0.05),)
    assert entry.label == "Adam lr=0.05"
    name, hp = entry.spec()
    assert name == "adam" and hp["lr"] == 0.05 and hp["schedule"] == Schedule()
    with pytest.raises(ValueError, match="'lr'"):
        OptimizerEntry.make("adam", lr=-1)


@pytest.mark.parametrize("seed", range(20))
def test_custom_and_presenter_fields_round_trip(seed):
    from dataclasses import replace

    from app.state import CONTROLS, THEMES

    rng = np.random.default_rng(1000 + seed)
    state = random_state(rng)
    names = list(CONTROLS)
    hide = tuple(n for n in names if rng.random() < 0.3)
    lock = tuple(n for n in names if n not in hide and rng.random() < 0.3)
    state = replace(
        state,
        hide=hide,
        lock=lock,
        present=bool(rng.random() < 0.5),
        theme=str(rng.choice(THEMES)),
        lesson=str(rng.choice(["lr-diverging", "saddle-escape"])) if rng.random() < 0.5 else None,
    )
    if rng.random() < 0.5:
        x0, y0 = (float(v) for v in rng.uniform(-5, 0, 2))
        state = replace(
            state,
            landscape="custom",
            landscape_params=(),
            formula=str(rng.choice(["x**2 + 3*y^2", "sin(x)*cos(y) + x/4", "abs(x) + max(y, -y)"])),
            domain=((x0, x0 + float(rng.uniform(1, 5))), (y0, y0 + float(rng.uniform(1, 5)))),
            start=None,
        )
    decoded, warnings = explorer_link.from_query(state.to_query())
    assert warnings == [] and decoded == state


@pytest.mark.parametrize("decode", ["explorer", "network", "search"])
def test_an_unknown_link_version_warns_and_reads_the_rest(decode):
    from app.network_state import NetworkState
    from app.search_state import SearchState

    read = {
        "explorer": explorer_link.from_query,
        "network": NetworkState.from_query,
        "search": SearchState.from_query,
    }[decode]
    state, warnings = read({"v": "7"})
    assert warnings == ["link version v='7' is not known (this app reads v=1); reading it as v=1"]
    assert state == read({"v": "1"})[0]
