"""Smoke tests of the app skeleton: the page runs, draws a chart and a status table; the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import landscapes
import optimizers
from app import cli

MAIN = str(Path(__file__).resolve().parent.parent / "app" / "main.py")
# the first run imports torch and runs the engine: far beyond AppTest's 3 s default
TIMEOUT = 60


@pytest.fixture
def app() -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def plotly_charts(at: AppTest) -> list:
    return at.get("plotly_chart")


def test_page_runs_and_draws_a_chart_and_a_status_row_per_optimizer(app: AppTest) -> None:
    assert not app.error, [e.value for e in app.error]
    assert len(plotly_charts(app)) == 1
    chosen = app.multiselect(key="optimizers").value
    expected = [n for n in ("gd", "momentum", "adam", "rmsprop") if n in optimizers.available()]
    assert chosen == expected
    table = app.dataframe[0].value
    assert len(table) == len(chosen)
    assert list(table.columns) == ["Optimizer", "Final loss", "Status", "Detail"]
    assert set(table["Status"]) <= set(optimizers.STATUSES)


def test_sidebar_names_the_device(app: AppTest) -> None:
    device = optimizers.describe(optimizers.default_device())
    assert any(device in c.value for c in app.sidebar.caption)


def test_changing_the_landscape_reruns_cleanly(app: AppTest) -> None:
    box = app.selectbox(key="landscape")
    other = next(k for k in landscapes.available() if k != box.value)
    box.set_value(other).run()
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    assert app.selectbox(key="landscape").value == other
    assert app.subheader[0].value == landscapes.get(other).name
    assert len(plotly_charts(app)) == 1
    assert len(app.dataframe[0].value) == len(app.multiselect(key="optimizers").value)


def test_status_table_follows_the_optimizer_selection(app: AppTest) -> None:
    app.multiselect(key="optimizers").set_value(["adam", "gd"]).run()
    assert not app.exception
    table = app.dataframe[0].value
    assert len(table) == 2
    assert list(table["Optimizer"]) == [optimizers.get("adam").title, optimizers.get("gd").title]


def test_no_optimizer_still_shows_the_surface(app: AppTest) -> None:
    app.multiselect(key="optimizers").set_value([]).run()
    assert not app.exception
    assert len(plotly_charts(app)) == 1
    assert len(app.warning) == 1
    assert not app.dataframe


def test_every_landscape_renders() -> None:
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    at.run()
    at.multiselect(key="optimizers").set_value(["gd"])
    at.slider(key="steps").set_value(10)
    for key in landscapes.available():
        at.selectbox(key="landscape").set_value(key).run()
        assert not at.exception, (key, [e.value for e in at.exception])
        assert not at.error, (key, [e.value for e in at.error])
        assert len(plotly_charts(at)) == 1, key


def test_cli_runs_streamlit_on_the_main_script_with_extra_args(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    launched: list[list[str]] = []
    monkeypatch.setattr(cli, "launch", launched.append)
    cli.main(["--server.port", "8502", "--server.headless", "true"])
    assert launched == [
        ["run", str(Path(MAIN).resolve()), "--server.port", "8502", "--server.headless", "true"]
    ]
    assert Path(launched[0][1]).is_file()


def test_cli_reads_sys_argv_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    launched: list[list[str]] = []
    monkeypatch.setattr(cli, "launch", launched.append)
    monkeypatch.setattr("sys.argv", ["optiscape", "--server.headless", "true"])
    cli.main()
    assert launched == [["run", str(cli.MAIN_SCRIPT), "--server.headless", "true"]]


def test_cli_launch_calls_streamlits_own_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.web import cli as stcli

    calls = []
    monkeypatch.setattr(stcli, "main", lambda **kw: calls.append(kw))
    cli.launch(["run", "x.py"])
    assert calls == [{"args": ["run", "x.py"], "prog_name": "streamlit"}]
