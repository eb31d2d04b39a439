"""The ``optiscape`` command line, run as a user runs it: in a process of its own."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import time
import tomllib
import urllib.request
from importlib import metadata
from pathlib import Path

import pytest

from app import cli
from app.serving import free_port, healthy

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).with_name("optiscape")  # the console script pip installed


def optiscape(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``optiscape ARGS`` (the installed console script; ``python -m app.cli`` in a checkout
    that was never installed) and capture what it prints."""
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "app.cli"]
    return subprocess.run(
        [*command, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def routed_pages() -> list[str]:
    """The url_path of every page app/main.py routes ("" for the default page), read from its
    source (importing it would start Streamlit)."""
    tree = ast.parse((ROOT / "app" / "main.py").read_text())
    paths = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "Page":
            keywords = {k.arg: k.value for k in node.keywords}
            paths.append(keywords["url_path"].value if "url_path" in keywords else "")
    return paths


def test_the_console_script_is_cli_main():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"optiscape": "app.cli:main"}


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_is_optiscapes_own_short_usage(flag):
    done = optiscape(flag)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    text = done.stdout
    assert text.startswith("usage: optiscape")
    assert len(text.splitlines()) < 60  # Streamlit's own help is thousands of lines
    for option in ("--host", "--port", "--server.address", "--server.port", "--version"):
        assert option in text
    # the Streamlit options it passes on, and the one it always adds
    assert "--SECTION.OPTION VALUE" in text
    assert "--server.enableStaticServing true" in text
    assert "Usage: streamlit" not in text


def test_help_lists_every_page_the_app_routes():
    text = optiscape("--help").stdout
    pages = routed_pages()
    assert len(pages) == len(cli.PAGES) >= 6
    listed = re.findall(r"^  (/\S*) ", text, flags=re.M)
    assert sorted(listed) == sorted(f"/{p}" for p in pages)


def test_version_prints_the_installed_version():
    done = optiscape("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"optiscape {metadata.version('optiscape')}\n"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert metadata.version("optiscape") == project["version"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--bogus"], "unknown option '--bogus'"),
        (["--port", "http"], "--port must be an integer from 1 to 65535, got 'http'"),
        (["--port=70000"], "--port must be an integer from 1 to 65535, got '70000'"),
        (["--port"], "option --port needs a value"),
        (["--server.prot", "8502"], "unknown Streamlit option '--server.prot'"),
        (["app.py"], "unexpected argument 'app.py'"),
    ],
)
def test_a_bad_command_line_says_what_is_wrong_and_exits_non_zero(args, says):
    done = optiscape(*args)
    assert done.returncode == 2
    assert done.stdout == ""
    assert says in done.stderr
    assert "optiscape --help" in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 2


def test_host_and_port_become_streamlits_options_in_order():
    known = {"--server.headless", "--theme.base"}
    assert cli.translate(
        ["--port", "8502", "--host=127.0.0.1", "--server.headless", "true", "--theme.base=dark"],
        known=lambda: known,
    ) == [
        "--server.port",
        "8502",
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--theme.base",
        "dark",
    ]


def test_streamlits_option_names_are_its_config_options():
    from streamlit import config

    names = cli.streamlit_option_names()
    assert {"--server.port", "--server.address", "--server.headless", "--theme.base"} <= names
    assert len(names) == len(config.get_config_options())


def test_optiscape_serves_the_app_on_the_port_asked_for(tmp_path):
    port = free_port()
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "app.cli"]
    args = ["--port", str(port), "--host", "127.0.0.1", "--server.headless", "true"]
    args += ["--browser.gatherUsageStats", "false"]
    with open(tmp_path / "server.log", "wb") as log:
        proc = subprocess.Popen([*command, *args], cwd=tmp_path, stdout=log, stderr=log)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120  # a hang guard, not a speed limit
            while not healthy(f"{base}/_stcore/health"):
                assert proc.poll() is None, (tmp_path / "server.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
                time.sleep(0.2)  # polling another process: there is no event to wait on
            with urllib.request.urlopen(base, timeout=10) as page:
                assert page.status == 200
                assert b"<html" in page.read().lower()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_help_names_the_environment_variables_the_app_reads():
    from app import budget
    from optimizers import device

    text = optiscape("--help").stdout
    assert budget.ENV in text and device.ENV_VAR in text
