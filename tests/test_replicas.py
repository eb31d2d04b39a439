"""``optiscape serve --workers N``: replicas behind HAProxy with sticky sessions, and the Dockerfile.

The replica test starts two Streamlit processes behind Debian's HAProxy on localhost, as a user
does, and speaks Streamlit's websocket protocol through the proxy (app/stream_client.py). Without
haproxy it is skipped, except under CI (the CI environment variable set), where that fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import cli, replica_share, replicas
from app.serving import free_ports, healthy
from app.stream_client import REPLICA_HEADER, StreamSession, http_get

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).with_name("optiscape")


def optiscape_command() -> list[str]:
    return [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "app.cli"]


def haproxy_or_skip() -> str:
    found = replicas.find_haproxy()
    if found is None:
        reason = "haproxy is missing (apt-get install haproxy)"
        if os.environ.get("CI"):
            pytest.fail(f"the replica tests must run under CI: {reason}", pytrace=False)
        pytest.skip(reason)
    return found


# --- the configuration ------------------------------------------------------------------------------


def test_replicas_take_the_ports_after_the_proxys():
    assert replicas.replicas(8501, 3) == [
        replicas.Replica("w1", 8502),
        replicas.Replica("w2", 8503),
        replicas.Replica("w3", 8504),
    ]
    with pytest.raises(ValueError, match="at least 1"):
        replicas.replicas(8501, 0)
    with pytest.raises(ValueError, match="do not all exist"):
        replicas.replicas(65534, 2)


def test_the_proxy_config_names_every_replica_with_its_cookie_and_health_check():
    backends = replicas.replicas(9000, 2)
    text = replicas.proxy_config("127.0.0.1", 9000, backends, base_path="/class/")
    assert "$" not in re.sub(r"%\[\w+\]", "", text)  # every placeholder filled
    assert re.search(r"^\s*bind 127\.0\.0\.1:9000$", text, flags=re.M)
    servers = re.findall(r"^\s*server (\S+) (\S+) .*cookie (\S+)$", text, flags=re.M)
    assert servers == [("w1", "127.0.0.1:9001", "w1"), ("w2", "127.0.0.1:9002", "w2")]
    assert f"cookie {replicas.COOKIE} insert" in text
    assert "option httpchk GET /class/_stcore/health" in text
    assert "timeout tunnel" in text  # a websocket outlives the HTTP timeouts
    assert "timeout check 30s" in text  # a busy replica is slow, not down
    # every interface when no host is given
    assert re.search(r"^\s*bind :::9000 v4v6$", replicas.proxy_config("", 9000, backends), re.M)


def test_haproxy_accepts_the_config(tmp_path):
    haproxy = haproxy_or_skip()
    config = tmp_path / "haproxy.cfg"
    config.write_text(replicas.proxy_config("127.0.0.1", 9000, replicas.replicas(9000, 3)))
    done = subprocess.run([haproxy, "-c", "-f", str(config)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_address_options_are_the_proxys_and_the_rest_go_to_every_replica():
    options = cli.translate(
        ["--port", "9000", "--host", "0.0.0.0", "--theme.base", "dark"],
        known=lambda: {"--theme.base"},
    )
    host, port, rest = replicas.split_address(options)
    assert (host, port, rest) == ("0.0.0.0", 9000, ["--theme.base", "dark"])
    command = replicas.worker_command(replicas.Replica("w1", 9001), rest)
    assert command[command.index("--theme.base") + 1] == "dark"
    # the replica's own address and port come last, so they win over anything before
    assert command[-6:] == [
        "--server.address",
        "127.0.0.1",
        "--server.port",
        "9001",
        "--server.headless",
        "true",
    ]


# --- the command line -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["serve", "--workers", "0"], "--workers must be an integer from 1 to 64, got '0'"),
        (["serve", "--workers=many"], "--workers must be an integer from 1 to 64, got 'many'"),
        (["serve", "--workers"], "option --workers needs a value"),
        (["serve", "--workers", "3", "--port", "65534"], "ports 65535..65537 do not all exist"),
        (["serve", "--workers", "2", "--server.port", "x"], "--port must be an integer"),
        (["serve", "--bogus"], "unknown option '--bogus'"),
    ],
)
def test_a_bad_serve_line_says_what_is_wrong_and_exits_2(args, says):
    done = subprocess.run(
        [*optiscape_command(), *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert says in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_args_take_the_workers_and_leave_the_rest_in_order():
    assert cli.serve_args(["--port", "9000", "--workers", "3", "--theme.base=dark"]) == (
        3,
        ["--port", "9000", "--theme.base=dark"],
    )
    assert cli.serve_args(["--workers=2"]) == (2, [])
    assert cli.serve_args([]) == (1, [])


def test_help_documents_serve_and_workers():
    done = subprocess.run(
        [*optiscape_command(), "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert "optiscape serve [--workers N]" in done.stdout
    assert "--workers N" in done.stdout and "haproxy" in done.stdout.lower()


# --- two replicas behind the proxy ------------------------------------------------------------------


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``optiscape serve --workers 2`` on localhost; its base URL once the proxy answers."""
    haproxy_or_skip()
    port = free_ports(3)
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    shared = tmp_path_factory.mktemp("shared")  # the replicas' shared work, where tests see it
    args = ["serve", "--workers", "2", "--host", "127.0.0.1", "--port", str(port)]
    args += ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [*optiscape_command(), *args],
            cwd=tmp_path_factory.getbasetemp(),
            stdout=log,
            stderr=log,
            env={**os.environ, replica_share.DIR_ENV: str(shared), "OPTISCAPE_WARMUP": "0"},
        )
        base = f"http://127.0.0.1:{port}"
        SHARED[base] = shared
        try:
            deadline = time.monotonic() + 240  # a hang guard, not a speed limit
            while not healthy(f"{base}/_stcore/health"):
                assert proc.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)  # polling other processes: there is no event to wait on
            yield base
        finally:
            proc.terminate()  # the supervisor stops its replicas and the proxy
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, log_path.read_text()
    assert f"replicas (127.0.0.1:{port + 1}-{port + 2}) behind HAProxy" in log_path.read_text()


SHARED: dict[str, Path] = {}  # the proxy's URL -> its replicas' shared folder


def replica_of(base: str, cookie: str | None = None) -> tuple[str, str | None]:
    """(the replica that answered a page load, the sticky cookie it set)."""
    status, headers, body = http_get(f"{base}/", cookie, 30)
    assert status == 200 and b"<html" in body.lower()
    sticky = re.search(rf"{replicas.COOKIE}=(\w+)", headers.get("set-cookie", ""))
    return headers[REPLICA_HEADER.lower()], sticky.group(1) if sticky else None


def test_the_health_endpoint_answers_through_the_proxy(proxy):
    status, _, body = http_get(f"{proxy}/_stcore/health", None, 30)
    assert (status, body) == (200, b"ok")


def test_new_browsers_are_spread_and_each_one_sticks_to_its_replica(proxy):
    first = [replica_of(proxy) for _ in range(4)]
    assert {name for name, _ in first} == {"w1", "w2"}  # new browsers go to both
    for name, cookie in first:
        assert cookie == name  # the cookie names the replica that answered
    for name in ("w1", "w2"):
        again = {replica_of(proxy, f"{replicas.COOKIE}={name}") for _ in range(5)}
        assert again == {(name, None)}  # the cookie holds: same replica, no new cookie


def test_a_websocket_session_finishes_and_resumes_on_its_own_replica(proxy):
    async def scenario() -> None:
        async with StreamSession(proxy, page="lessons", timeout=180) as student:
            run = await student.rerun()
        assert run.ok, (run.status, run.exceptions)
        assert run.messages > 5 and student.session_id
        cookie, replica = student.cookie, student.replica
        assert cookie and f"{replicas.COOKIE}={replica}" in cookie
        # Streamlit keeps a dropped session for its owner to reconnect: only the process that
        # holds it can resume it, so the same id back proves the websocket reached that process
        async with StreamSession(
            proxy, page="lessons", cookie=cookie, resume=student.session_id, timeout=180
        ) as back:
            assert (await back.rerun()).ok
        assert (back.replica, back.session_id) == (replica, student.session_id)
        other = "w2" if replica == "w1" else "w1"
        async with StreamSession(
            proxy,
            page="lessons",
            cookie=f"{replicas.COOKIE}={other}",
            resume=student.session_id,
            timeout=180,
        ) as elsewhere:
            assert (await elsewhere.rerun()).ok
        assert elsewhere.replica == other
        assert elsewhere.session_id != student.session_id  # the other process cannot resume it

    asyncio.run(scenario())


# --- the container image -----------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def shared_files(proxy: str) -> dict[str, int]:
    """The replicas' shared folder: each value's file and its inode (a rewrite changes it)."""
    folder = Path(SHARED[proxy])
    return {p.name: p.stat().st_ino for p in folder.glob("*.pkl")}


def test_a_view_computed_by_one_replica_is_read_by_the_other(proxy):
    """Each replica writes what it computes; the other then reads it instead of computing it
    again (a replica that computed would write its own files)."""

    async def visit(query: str, replica: str) -> None:
        cookie = f"{replicas.COOKIE}={replica}"
        async with StreamSession(proxy, query=query, cookie=cookie, timeout=180) as student:
            run = await student.rerun()
        assert run.ok and student.replica == replica, (run.status, run.exceptions)

    for query, first, second in (
        ("v=1&ls=booth&o=adam,lr=0.05", "w1", "w2"),
        ("v=1&ls=matyas&o=adam,lr=0.02", "w2", "w1"),
    ):
        before = shared_files(proxy)
        asyncio.run(visit(query, first))
        written = shared_files(proxy)
        assert len(written) > len(before)  # the runs and the charts' bytes
        asyncio.run(visit(query, second))
        assert shared_files(proxy) == written  # read, not computed and written again


def test_the_dockerfile_installs_with_the_constraints_and_runs_serve():
    instructions = dockerfile_instructions()
    words = [w for w, _ in instructions]
    assert instructions[0] == ("FROM", "python:3.11-slim")
    runs = " ".join(arg for w, arg in instructions if w == "RUN")
    assert re.search(r"apt-get install\b.*\bhaproxy\b", runs)
    assert re.search(r"pip install\b.*-c constraints\.txt", runs)
    assert "COPY" in words
    port = next(arg for w, arg in instructions if w == "EXPOSE")
    command = next(arg for w, arg in instructions if w in ("CMD", "ENTRYPOINT"))
    argv = json.loads(command) if command.startswith("[") else shlex.split(command)
    assert argv[:2] == ["optiscape", "serve"]
    assert argv[argv.index("--port") + 1] == port
    assert argv[argv.index("--host") + 1] == "0.0.0.0"
    workers = int(argv[argv.index("--workers") + 1])
    assert workers >= 1
    # what the image runs is a command line optiscape accepts
    assert cli.serve_args(argv[2:])[0] == workers
    cli.translate(cli.serve_args(argv[2:])[1])


def test_the_docker_build_context_leaves_out_the_local_environment():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and ".git" in ignored
