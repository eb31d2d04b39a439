"""The ``optiscape`` console script: ``streamlit run app/main.py`` with optiscape's own options.

    optiscape                                   # http://localhost:8501
    optiscape --port 8502 --host 127.0.0.1
    optiscape --server.port 8502 --server.headless true   # any Streamlit config option
    optiscape serve --workers 4 --port 8501     # 4 processes behind HAProxy (app/replicas.py)

``--help`` and ``--version`` are answered here without starting Streamlit; ``--host`` and
``--port`` become ``--server.address`` and ``--server.port``; every Streamlit configuration
option (``--section.name value``) goes on to ``streamlit run`` unchanged. Anything else is
refused with a one-line message and exit status 2. ``serve`` takes the same options and
``--workers N``; with N = 1 it is plain ``optiscape``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from importlib import metadata

from app.launch import MAIN_SCRIPT, SERVER_OPTIONS, STATIC_SERVING
from app.warmup import ENV as WARMUP_ENV

__all__ = ["MAIN_SCRIPT", "SERVER_OPTIONS", "STATIC_SERVING", "main"]

PROG = "optiscape"
USAGE_EXIT = 2  # a command-line mistake, as argparse and click exit

# optiscape's own options -> the Streamlit option each one sets
ALIASES = {"--host": "--server.address", "--port": "--server.port"}

# (path, title) of every page, as app/main.py routes them (a test checks the two agree)
PAGES = (
    ("/", "Explorer: optimizers racing on a 2-D surface"),
    ("/network", "Network landscape: optimizers training one network, on a plane"),
    ("/deep", "Deep learning: vanishing gradients, edge of stability, batch size"),
    ("/search", "Hyperparameter search: six searchers, one budget"),
    ("/sweep", "Learning-rate sweep: final loss against the learning rate"),
    ("/basins", "Basins of attraction: which minimum each start reaches"),
    ("/lessons", "Lessons: ready views for teaching"),
)

USAGE = (
    f"""\
usage: {PROG} [--host HOST] [--port PORT] [--SECTION.OPTION VALUE ...]
       {PROG} serve [--workers N] [--host HOST] [--port PORT] [--SECTION.OPTION VALUE ...]
       {PROG} -h | --help | --version

Start optiscape, the interactive loss-landscape visualizer, in a Streamlit server and open it in
the browser (http://localhost:8501 by default).

options:
  --host HOST     address to listen on (Streamlit's --server.address; default: every
                  interface of the machine)
  --port PORT     port to listen on, 1 to 65535 (Streamlit's --server.port; default: 8501)
  -h, --help      show this message and exit
  --version       show optiscape's version and exit

serve:
  --workers N     run N Streamlit processes (127.0.0.1, ports PORT+1 to PORT+N) behind
                  HAProxy on HOST:PORT, each browser kept on one of them (a sticky
                  cookie); needs Debian's haproxy. N = 1 (the default) is plain optiscape

Streamlit options passed on:
  Every Streamlit configuration option, written --SECTION.OPTION VALUE or
  --SECTION.OPTION=VALUE, goes to `streamlit run` unchanged, for example
  --server.headless true (do not open a browser) or --theme.base dark;
  `streamlit run --help` lists them all. optiscape always adds
  --server.enableStaticServing true (the charts load plotly.js from app/static/)
  and --browser.gatherUsageStats false (no usage statistics).

environment:
  OPTISCAPE_BUDGET_S  seconds of compute a view may cost (default 10)
  OPTISCAPE_DEVICE    cpu, cuda, cuda:1 or mps (default: CUDA, then MPS, then the CPU)
  OPTISCAPE_WARMUP    1: compute the explorer's default scene and lessons in the background
                      when the server starts; all: every page's default views too; 0: do
                      not (default 1 here, 0 under `streamlit run`)
  OPTISCAPE_HEAVY_WORKERS
                      threads for heavy work: training, surfaces, searches, sweeps, basins
                      (default: half the CPU cores, at least 1)
  OPTISCAPE_SHARED_MB MiB of shared view work kept: charts' bytes, results (default 256)
  OPTISCAPE_SHARED_DIR
                      a folder where replicas share their computed views (serve --workers
                      N makes one; name one on a shared disk for several machines)
  OMP_NUM_THREADS     torch's threads per session (default 1 here; heavy work uses half
                      the cores)

pages (each one a link that reproduces its view):
"""
    + "".join(f"  {path:<10}{title}\n" for path, title in PAGES)
    + """
Documentation: README.md and docs/ in the repository.
"""
)


MAX_WORKERS = 64


class UsageError(Exception):
    """A command line optiscape cannot run; the message says what is wrong."""


def version() -> str:
    """optiscape's installed version (``"unknown"`` when run from a checkout never installed)."""
    try:
        return metadata.version(PROG)
    except metadata.PackageNotFoundError:
        return "unknown"


def streamlit_option_names() -> set[str]:
    """Every Streamlit configuration option, as a flag: ``{"--server.port", ...}``."""
    from streamlit import config

    return {f"--{key}" for key in config.get_config_options()}


def translate(
    argv: Sequence[str], known: Callable[[], set[str]] = streamlit_option_names
) -> list[str]:
    """optiscape's arguments as ``streamlit run`` options, in their order: ``--host``/``--port``
    renamed, Streamlit's own options unchanged. Raises UsageError for anything else.

    ``known`` gives Streamlit's option names; it is asked only when the line has one to check.
    """
    out: list[str] = []
    names: set[str] | None = None
    args = list(argv)
    while args:
        arg = args.pop(0)
        flag, equals, value = arg.partition("=")
        if not flag.startswith("--") or flag == "--":
            raise UsageError(f"unexpected argument {arg!r}: optiscape takes options only")
        if flag in ALIASES:
            target = ALIASES[flag]
        elif "." in flag:
            names = known() if names is None else names
            if flag not in names:
                raise UsageError(f"unknown Streamlit option {flag!r}")
            target = flag
        else:
            raise UsageError(f"unknown option {flag!r}")
        if not equals:
            if not args or args[0].startswith("--"):
                raise UsageError(f"option {flag} needs a value")
            value = args.pop(0)
        if flag == "--port" and not (value.isdigit() and 1 <= int(value) <= 65535):
            raise UsageError(f"--port must be an integer from 1 to 65535, got {value!r}")
        if flag == "--host" and not value:
            raise UsageError("--host needs an address")
        out += [target, value]
    return out


def serve_args(argv: Sequence[str]) -> tuple[int, list[str]]:
    """``serve``'s arguments: (the number of workers, the rest as given). Raises UsageError for
    a missing or bad ``--workers``."""
    workers, rest = 1, []
    args = list(argv)
    while args:
        arg = args.pop(0)
        flag, equals, value = arg.partition("=")
        if flag != "--workers":
            rest.append(arg)
            continue
        if not equals:
            if not args or args[0].startswith("--"):
                raise UsageError("option --workers needs a value")
            value = args.pop(0)
        if not (value.isdigit() and 1 <= int(value) <= MAX_WORKERS):
            raise UsageError(f"--workers must be an integer from 1 to {MAX_WORKERS}, got {value!r}")
        workers = int(value)
    return workers, rest


def streamlit_args(argv: Sequence[str]) -> list[str]:
    """Arguments for the ``streamlit`` command: ``run <app/main.py>``, static serving on and
    usage statistics off (``SERVER_OPTIONS``), then ``argv`` (Streamlit options) unchanged."""
    return ["run", str(MAIN_SCRIPT), *SERVER_OPTIONS, *argv]


def launch(args: list[str]) -> None:
    """Hand ``args`` to Streamlit's own command line (as ``streamlit <args>``); exits when it does."""
    from streamlit.web import cli as stcli

    stcli.main(args=args, prog_name="streamlit")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``optiscape``: answer ``--help``/``--version``, or start the app."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "-h" in args or "--help" in args:
        print(USAGE, end="")
        return
    if "--version" in args:
        print(f"{PROG} {version()}")
        return
    serving = bool(args) and args[0] == "serve"
    try:
        workers, args = serve_args(args[1:]) if serving else (1, args)
        options = translate(args)
        if workers > 1:
            from app import replicas

            try:
                replicas.replicas(replicas.split_address(options)[1], workers)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
    except UsageError as exc:
        print(f"{PROG}: {exc}\nRun '{PROG} --help' for the options.", file=sys.stderr)
        raise SystemExit(USAGE_EXIT) from None
    os.environ.setdefault(WARMUP_ENV, "1")  # the server warms up its views (app/warmup.py)
    # one intra-op thread per session thread (set before torch is imported): a class's sessions
    # run their small batched kernels side by side, and N sessions x all cores' threads
    # oversubscribe the machine; heavy work sets its own count (app.shared_work.torch_threads)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if workers == 1:
        launch(streamlit_args(options))
        return
    raise SystemExit(replicas.serve(workers, options))


if __name__ == "__main__":
    main()
