"""Serve the explorer from a Streamlit process of its own: for the browser tests and benchmarks."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from app.launch import STATIC_SERVING

MAIN = Path(__file__).resolve().parent / "main.py"
CHROMIUM = "/usr/bin/chromium"  # Debian's package; Playwright cannot download browsers here
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


class ServerError(RuntimeError):
    """The server exited or did not answer its health check; the message holds its log."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200 and response.read().strip() == b"ok"
    except (OSError, urllib.error.URLError):
        return False


def free_ports(count: int, tries: int = 50) -> int:
    """The first of ``count`` consecutive free ports on 127.0.0.1 (for a proxy and its replicas)."""
    for _ in range(tries):
        first = free_port()
        if first + count > 65535:
            continue
        try:
            with contextlib.ExitStack() as stack:
                for port in range(first, first + count):
                    s = stack.enter_context(socket.socket())
                    s.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
    raise ServerError(f"found no {count} consecutive free ports")


@contextmanager
def _running(
    command: list[str], base: str, log: BinaryIO, timeout: float
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command``, writing its output to ``log``; yield the process once ``base`` answers
    its health check, and stop it afterwards. Raises ServerError with the log."""
    proc = subprocess.Popen(command, cwd=MAIN.parent.parent, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while not healthy(f"{base}/_stcore/health"):
            if proc.poll() is not None or time.monotonic() > deadline:
                why = "exited" if proc.poll() is not None else f"did not answer in {timeout:g} s"
                log.flush()
                log.seek(0)
                raise ServerError(
                    f"the Streamlit server {why}; its log:\n{log.read().decode(errors='replace')}"
                )
            time.sleep(0.2)  # polling another process: there is no event to wait on
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def app_server(log: BinaryIO, timeout: float = 60.0) -> Iterator[str]:
    """Start ``streamlit run app/main.py`` on a free port, writing its output to ``log``; yield
    its base URL once it answers, and stop it afterwards. Raises ServerError with the log."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(MAIN),
        *STATIC_SERVING,
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
    ]
    base = f"http://127.0.0.1:{port}"
    with _running(command, base, log, timeout):
        yield base


@contextmanager
def optiscape_server(
    log: BinaryIO, workers: int = 1, timeout: float = 300.0
) -> Iterator[tuple[str, int]]:
    """Start ``optiscape serve --workers N`` on free ports of 127.0.0.1 (one Streamlit process
    when N is 1, else N behind HAProxy), writing its output to ``log``; yield its base URL and
    the process id at the root of its process tree once it answers; stop it afterwards."""
    port = free_ports(workers + 1) if workers > 1 else free_port()
    command = [sys.executable, "-m", "app.cli", "serve", "--workers", str(workers)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--server.headless", "true"]
    command += ["--browser.gatherUsageStats", "false"]
    base = f"http://127.0.0.1:{port}"
    with _running(command, base, log, timeout) as proc:
        yield base, proc.pid
