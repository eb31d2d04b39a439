"""``optiscape serve --workers N``: N Streamlit processes behind HAProxy, with sticky sessions.

One Streamlit process runs Python's script threads under one interpreter lock, so it keeps about
one core busy however many students it serves. ``serve`` starts N of them on consecutive internal
ports (``PORT+1`` ... ``PORT+N`` on 127.0.0.1) and HAProxy on ``HOST:PORT`` in front (Debian's
``haproxy`` package). A Streamlit session is one websocket whose state lives in one process: the
proxy gives a new browser the replica with the fewest connections and a cookie naming it, and
the websocket and every later request go back to that replica. The proxy's configuration is
written at start from ``haproxy.cfg.in`` (next to this module) into a temporary folder, where
the replicas also share their computed views (``app.replica_share``): a lesson is computed once
for the whole class, whichever replica each student lands on.

The command runs in the foreground and supervises: SIGTERM or Ctrl-C stops every process; if a
replica or the proxy exits, it stops the others and exits with status 1 (a container's restart
policy then starts the whole set again).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from app import replica_share
from app.launch import MAIN_SCRIPT, STATIC_SERVING
from app.serving import healthy

TEMPLATE = Path(__file__).resolve().with_name("haproxy.cfg.in")
COOKIE = "optiscape_replica"
HAPROXY_PATHS = ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy")  # when not on PATH
START_TIMEOUT_S = 300.0  # a replica's first start imports torch and Streamlit


@dataclass(frozen=True)
class Replica:
    name: str  # the proxy's server name, also the value of the sticky cookie
    port: int  # on 127.0.0.1


def replicas(port: int, workers: int) -> list[Replica]:
    """The replicas behind a proxy on ``port``: ``w1`` on port+1, ..., ``wN`` on port+N."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if port + workers > 65535:
        raise ValueError(f"ports {port + 1}..{port + workers} do not all exist")
    return [Replica(f"w{i}", port + i) for i in range(1, workers + 1)]


def bind_address(host: str, port: int) -> str:
    """HAProxy's ``bind`` address: every interface (IPv4 and IPv6) when ``host`` is empty."""
    if not host:
        return f":::{port} v4v6"
    return f"{host}:{port}"


def proxy_config(host: str, port: int, backends: Sequence[Replica], base_path: str = "") -> str:
    """HAProxy's configuration (from ``haproxy.cfg.in``) for ``backends`` behind ``host:port``;
    ``base_path`` is Streamlit's ``server.baseUrlPath`` (the health check is under it)."""
    base = f"/{base_path.strip('/')}" if base_path.strip("/") else ""
    servers = "\n".join(
        f"    server {r.name} 127.0.0.1:{r.port} check inter 5s fall 3 rise 1 cookie {r.name}"
        for r in backends
    )
    return string.Template(TEMPLATE.read_text()).substitute(
        bind=bind_address(host, port),
        cookie=COOKIE,
        health=f"{base}/_stcore/health",
        servers=servers,
    )


def find_haproxy() -> str | None:
    """The haproxy executable, or None."""
    found = shutil.which("haproxy")
    if found:
        return found
    return next((p for p in HAPROXY_PATHS if os.access(p, os.X_OK)), None)


def worker_command(replica: Replica, options: Sequence[str]) -> list[str]:
    """``streamlit run app/main.py`` for one replica: the user's Streamlit options, then the
    replica's own address and port, headless (one browser tab is the proxy's, not N)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(MAIN_SCRIPT),
        *STATIC_SERVING,
        *options,
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(replica.port),
        "--server.headless",
        "true",
    ]


def split_address(options: Sequence[str]) -> tuple[str, int, list[str]]:
    """Take ``--server.address`` and ``--server.port`` (the proxy's, the last of each) out of
    translated Streamlit options: (host, port, the other options in order). ValueError for a
    port that is not one."""
    host, port, rest = "", 8501, []
    pairs = list(zip(options[::2], options[1::2], strict=True))
    for flag, value in pairs:
        if flag == "--server.address":
            host = value
        elif flag == "--server.port":
            if not (value.isdigit() and 1 <= int(value) <= 65535):
                raise ValueError(f"--port must be an integer from 1 to 65535, got {value!r}")
            port = int(value)
        else:
            rest += [flag, value]
    return host, port, rest


def option_value(options: Sequence[str], flag: str, default: str = "") -> str:
    """The last value given for ``flag`` in translated options."""
    values = [v for f, v in zip(options[::2], options[1::2], strict=True) if f == flag]
    return values[-1] if values else default


def _relay(stream: IO[str], prefix: str) -> None:
    """Copy a child's output to ours, each line prefixed with the child's name."""
    for line in stream:
        sys.stdout.write(f"{prefix} {line}")
        sys.stdout.flush()


def _start(command: list[str], prefix: str, env: dict[str, str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        env=env,
    )
    assert proc.stdout is not None
    threading.Thread(target=_relay, args=(proc.stdout, prefix), daemon=True).start()
    return proc


def _stop(procs: Sequence[subprocess.Popen[str]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class _Stopped(Exception):
    """SIGTERM arrived."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Stopped


def serve(workers: int, options: Sequence[str]) -> int:
    """Run ``workers`` replicas behind HAProxy until stopped; ``options`` are translated
    Streamlit options (``--server.address``/``--server.port`` are the proxy's). Returns the exit
    status: 0 when stopped by a signal, 1 when a process failed."""
    haproxy = find_haproxy()
    if haproxy is None:
        print(
            "optiscape: serve --workers needs HAProxy (Debian: apt-get install haproxy)",
            file=sys.stderr,
        )
        return 1
    host, port, rest = split_address(options)
    backends = replicas(port, workers)
    env = dict(os.environ)
    # one cookie secret for all replicas: a cookie one signed stays valid on another
    env.setdefault("STREAMLIT_SERVER_COOKIE_SECRET", secrets.token_hex(32))
    procs: list[subprocess.Popen[str]] = []
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        with tempfile.TemporaryDirectory(prefix="optiscape-proxy-") as folder:
            # the replicas' shared work (app.replica_share), unless the user names a folder
            env.setdefault(replica_share.DIR_ENV, str(Path(folder) / "shared"))
            for replica in backends:
                procs.append(_start(worker_command(replica, rest), f"[{replica.name}]", env))
            deadline = time.monotonic() + START_TIMEOUT_S
            base_path = option_value(rest, "--server.baseUrlPath").strip("/")
            prefix = f"/{base_path}" if base_path else ""
            for replica, proc in zip(backends, procs, strict=True):
                url = f"http://127.0.0.1:{replica.port}{prefix}/_stcore/health"
                while not healthy(url):
                    if proc.poll() is not None or time.monotonic() > deadline:
                        print(f"optiscape: replica {replica.name} did not start", file=sys.stderr)
                        return 1
                    time.sleep(0.2)  # another process's start: there is no event to wait on
            config = Path(folder) / "haproxy.cfg"
            config.write_text(proxy_config(host, port, backends, base_path))
            check = subprocess.run([haproxy, "-c", "-q", "-f", str(config)], capture_output=True)
            if check.returncode != 0:
                print(f"optiscape: HAProxy refused its configuration:\n{check.stderr.decode()}")
                return 1
            procs.append(_start([haproxy, "-db", "-f", str(config)], "[proxy]", env))
            shown = host or "localhost"
            print(
                f"optiscape: {workers} replicas (127.0.0.1:{backends[0].port}-{backends[-1].port})"
                f" behind HAProxy: http://{shown}:{port}{prefix}",
                flush=True,
            )
            while all(proc.poll() is None for proc in procs):
                time.sleep(0.5)  # supervising: any exit ends the set
            names = [r.name for r in backends] + ["the proxy"]
            failed = next(n for n, p in zip(names, procs, strict=True) if p.poll() is not None)
            print(f"optiscape: {failed} exited; stopping the others", file=sys.stderr)
            return 1
    except (KeyboardInterrupt, _Stopped):
        return 0
    finally:
        _stop(procs)
        signal.signal(signal.SIGTERM, previous)
