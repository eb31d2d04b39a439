"""Helpers for the app under Streamlit's AppTest, in one place for every test file: starting the
app, opening a page on a link, reading the link a page wrote, and the figures the explorer's
charts (``app.plotly_view``) hold. Tests import page logic from plain modules (``app.slider_values``,
``app.explorer_link``...), never a page script (``app/views/*``), which draws its page on import."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app" / "main.py")
TIMEOUT = 300  # the first run imports torch; the network and search pages train and search


def new_app() -> AppTest:
    """The app (its router, ``app/main.py``), not run yet."""
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


def run_explorer(query: dict[str, str | list[str]] | None = None) -> AppTest:
    """The explorer (the app's first page) run once on ``query``, without an exception."""
    at = new_app()
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def run_page(page: str, query: dict | None = None, scene: Any = None) -> AppTest:
    """Page ``page`` run once as the first page of a session, on ``query``, with the explorer's
    ``scene`` (``session_state.scene``) if given, without an exception."""
    at = new_app()
    for key, value in (query or {}).items():
        at.query_params[key] = value
    if scene is not None:
        at.session_state["scene"] = scene
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def open_editor(at: AppTest, eid: int, is_open: bool = True) -> AppTest:
    """Open (or close) explorer optimizer ``eid``'s editor, as a click on its header does (which
    also sets ``opt{eid}_editor_open``): its widgets are drawn only while it is open."""
    at.session_state[f"opt{eid}_editor_open"] = is_open
    return at.run()


def query_of(at: AppTest) -> dict[str, list[str]]:
    """The page's URL query as lists of values (AppTest keeps a plain dict of lists or strings)."""
    q = at.query_params
    return {k: [q[k]] if isinstance(q[k], str) else list(q[k]) for k in q}


def open_page(
    page: str,
    query: dict[str, str | list[str]] | None = None,
    before: Callable[[AppTest], None] | None = None,
) -> AppTest:
    """The app with ``page`` (e.g. ``"views/search.py"``) open on ``query``: the router runs
    once (the explorer, which stores its scene), ``before(at)`` may change the session, then the
    page is switched to with only this page's query."""
    at = new_app()
    at.run()
    if before is not None:
        before(at)
    at.switch_page(page)
    for key in list(at.query_params):
        del at.query_params[key]
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def written_query(at: AppTest) -> dict[str, Any]:
    """The query the page wrote into the address bar, with repeated keys as lists."""
    params = at.query_params
    return {k: params.get_all(k) if hasattr(params, "get_all") else params[k] for k in params}


def chart_figures(at: AppTest) -> list[dict[str, Any]]:
    """Each explorer chart's figure (data, layout, frames, config) in page order: contour, 3-D,
    curves."""
    return [json.loads(element.proto.bytes) for element in at.get("bidi_component")]


def message_text(at: AppTest) -> str:
    """Every message the page shows, joined: the warnings' and errors' own words and the literal
    text (``st.text``) in which ``app.literal`` shows what a link or a formula said."""
    return " ".join(e.value for kind in (at.warning, at.error, at.text) for e in kind)


def status_table(at: AppTest, step: int | None = None) -> Any:
    """The explorer's status table (a pandas DataFrame) as the contour's player writes it under
    the chart at ``step`` (default: the step the page shows): the rows of the last of the
    player's steps at or before it (``charts.status.status_table``)."""
    import pandas as pd

    player = chart_figures(at)[0]["layout"]["meta"]["player"]
    table = player["table"]
    step = player["step"] if step is None else step
    index = max(i for i, s in enumerate(table["steps"]) if s <= step)
    return pd.DataFrame(table["rows"][index], columns=table["columns"])


def network_training(state: Any) -> tuple[Any, Any, Any]:
    """(model at its initialization, data set, training result) of a network page's state,
    computed with the engine directly, as the page trains (independently of the page)."""
    import torch.nn.functional as F

    from landscapes import network as net
    from studies.training import train

    data = net.load_dataset(
        state.dataset, n_samples=state.samples, noise=state.noise, seed=state.seed
    )
    model = net.build_model(
        state.model,
        data,
        widths=state.widths,
        batch_norm=state.batch_norm,
        dropout=state.dropout,
        seed=state.seed,
    )
    result = train(
        model,
        F.cross_entropy,
        data,
        [o.spec() for o in state.optimizers],
        steps=state.steps,
        batch_size=state.batch_size or None,
        seed=state.seed,
        record_every=state.record_every,
        weight_decay=state.weight_decay,
    )
    return model, data, result
