"""Adding an optimizer or a surface is local: a plugin module (``tests/toy_plugin.py``) registers a
toy optimizer (sign descent) and a toy surface (a bowl) through the engine's public API, the app
loads it from ``OPTISCAPE_PLUGINS`` (``app.plugins``), and the explorer, the sweep and the basins
pages show both, with nothing under ``app/`` edited for them."""

from __future__ import annotations

import sys
from dataclasses import replace
from urllib.parse import parse_qs, urlencode

import numpy as np
import pytest
from apptest_helpers import message_text, query_of, run_explorer, run_page

import landscapes
import optimizers
from app import explorer_link, plugins
from app.diagnostic_state import BasinState, SweepState
from app.state import AppState, OptimizerEntry
from landscapes import registry as landscape_registry
from optimizers import base as optimizer_registry

PLUGIN = "toy_plugin"
OPTIMIZER, SURFACE = "sign_descent", "toy_bowl"
LINK = {"ls": SURFACE, "lp": "a:2", "o": [f"{OPTIMIZER},lr=0.1", "adam,lr=0.1"], "steps": "40"}


@pytest.fixture(scope="module", autouse=True)
def plugin_named_in_the_environment():
    """``OPTISCAPE_PLUGINS`` names the toy plugin; afterwards the registries are as before (the
    toy entries go with the copies), and the module can be imported afresh."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(plugins.ENV, PLUGIN)
        mp.setattr(optimizer_registry, "_REGISTRY", dict(optimizer_registry._REGISTRY))
        mp.setattr(landscape_registry, "_FACTORIES", dict(landscape_registry._FACTORIES))
        mp.delitem(sys.modules, PLUGIN, raising=False)
        yield
        sys.modules.pop(PLUGIN, None)


def test_the_app_loads_the_plugin_and_the_explorer_opens_its_optimizer_and_surface():
    assert OPTIMIZER not in optimizers.available() and SURFACE not in landscapes.available()
    at = run_explorer(LINK)
    # the app process (AppTest runs it in this one) imported the plugin named in the environment
    assert OPTIMIZER in optimizers.available() and SURFACE in landscapes.available()
    assert message_text(at) == ""  # no part of the link was refused
    assert at.selectbox(key="landscape").value == SURFACE
    assert any("Toy bowl" in o for o in at.selectbox(key="landscape").options)
    assert any(h.value == "Toy bowl" for h in at.header)
    table = at.dataframe[0].value
    assert len(table) == 2 and any("Sign descent" in str(v) for v in table.iloc[:, 0])
    # the page wrote a link naming the toy optimizer; it reads back to the same view
    written = query_of(at)
    assert written["ls"] == [SURFACE] and any(o.startswith(OPTIMIZER) for o in written["o"])
    state, warnings = explorer_link.from_query(written)
    assert warnings == [] and state.landscape == SURFACE
    assert state.optimizers[0].name == OPTIMIZER and state.optimizers[0].values["lr"] == 0.1


def test_a_toy_run_moves_every_coordinate_by_the_learning_rate():
    plugins.load()  # a no-op where the app loaded it already: one registration per process
    # sign descent from (1.5, 1.5): each coordinate moves 0.1 towards 0 per step
    result = optimizers.simulate(
        landscapes.get(SURFACE, a=2.0), [(OPTIMIZER, {"lr": 0.1})], [[1.5, 1.5]], steps=5
    )
    np.testing.assert_allclose(result.positions[0, 0, -1], [1.0, 1.0], rtol=0, atol=1e-12)


def test_links_with_the_toy_optimizer_and_surface_name_every_value():
    plugins.load()
    state = AppState(
        landscape=SURFACE,
        landscape_params=(("a", 2.0),),
        optimizers=(OptimizerEntry.make(OPTIMIZER, lr=0.2),),
    )
    query = state.to_query()
    # added after v=1: no entry in the frozen tables, so the link names each value outright
    names = {pair.split("=")[0] for pair in query["o"][0].split(",")[1:]}
    assert names == {h.name for h in optimizers.get(OPTIMIZER).all_hyperparams()}
    assert query["start"] == "1.5,1.5" and query["lp"] == "a:2"
    back, warnings = explorer_link.from_query(parse_qs(urlencode(query, doseq=True)))
    # read back with its start named (the surface's default start, as the link wrote it)
    assert warnings == [] and back == replace(state, start=(1.5, 1.5))


@pytest.mark.parametrize(
    ("page", "view"),
    [
        ("views/sweep.py", lambda scene: SweepState(scene, count=10)),
        ("views/basins.py", lambda scene: BasinState(scene, grid=10)),
    ],
    ids=["sweep", "basins"],
)
def test_the_sweep_and_basins_pages_open_the_toy_scene(page, view):
    plugins.load()
    scene = AppState(
        landscape=SURFACE, optimizers=(OptimizerEntry.make(OPTIMIZER, lr=0.1),), steps=30
    )
    at = run_page(page, view(scene).to_query())
    assert message_text(at) == ""
    assert query_of(at)["ls"] == [SURFACE]
    assert any(o.startswith(OPTIMIZER) for o in query_of(at)["o"])
