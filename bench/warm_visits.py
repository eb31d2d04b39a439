"""Server time of a warm visit of each page: a new session opening a view that another session
has opened before (a class on one link: the first student computes, the others visit warm).

Each page is opened once to warm the server's caches (its time is printed as "first"), then
``--repeat`` times by new sessions (a new ``AppTest`` each, in the same process, as new browser
tabs on one server). The time reported is the server's: the page script's own run
(``ScriptRunner._run_script``, widgets, engine calls, figures and their JSON) plus the
serialisation of every message it sent (``ForwardMsg.SerializeToString``, as the websocket
handler does); AppTest's own work on the element tree is not counted, and the page scripts are
compiled once for all sessions, as a server's runtime does (AppTest would compile them anew for
each session).

    python bench/warm_visits.py [--repeat 7] [--profile explorer]
    python bench/before_after.py <rev> bench/warm_visits.py --repeat 7

Where the pages' background work (the explorer's slider prefetch, the server's warm-up) is
running, it is waited for before the next visit: a student's visit comes later than it takes.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import time
from pathlib import Path

os.environ.setdefault("OPTISCAPE_WARMUP", "0")  # visits measured here warm the caches themselves

from streamlit.runtime.scriptrunner import script_cache, script_runner
from streamlit.testing.v1 import AppTest

import app
from app import compute, lessons

APP = str(Path(app.__file__).resolve().parent / "main.py")  # this tree's app, or the older one's
LESSON = next(x for x in lessons.LESSONS if x.page == "views/explorer.py")
# (name, page script, query)
PAGES = [
    ("explorer (default)", None, {}),
    (f"lesson {LESSON.id}", None, LESSON.query(play=True)),
    ("/network (default)", "views/network.py", {}),
    ("/search (default)", "views/search.py", {}),
    ("/lessons", "views/lessons.py", {}),
    ("/sweep (default)", "views/sweep.py", {}),
    ("/basins (default)", "views/basins.py", {}),
]

_original = script_runner.ScriptRunner._run_script
# a server compiles each page script once (its runtime's ScriptCache); AppTest makes a runtime,
# and so a cache, per session: here they share one, as a server's sessions do
_SCRIPTS = script_cache.ScriptCache()
script_cache.ScriptCache.get_bytecode = (
    lambda self, path, _get=script_cache.ScriptCache.get_bytecode: _get(_SCRIPTS, path)
)


def visit(page: str | None, query: dict, profile: cProfile.Profile | None = None) -> float:
    """Seconds of server time of one new session opening ``page`` on ``query``."""
    at = AppTest.from_file(APP, default_timeout=600)
    for key, value in query.items():
        at.query_params[key] = value
    if page is not None:
        at.switch_page(page)
    seconds: list[float] = []
    sent: list[int] = []
    original = script_runner.ScriptRunner._run_script

    def record(self, rerun_data):  # type: ignore[no-untyped-def]
        if profile is not None:
            profile.enable()
        try:
            started = time.perf_counter()
            try:
                return _original(self, rerun_data)
            finally:
                # what the websocket handler then does with each message
                sent.append(sum(len(m.SerializeToString()) for m in self.forward_msgs()))
                seconds.append(time.perf_counter() - started)
        finally:
            if profile is not None:
                profile.disable()

    script_runner.ScriptRunner._run_script = record
    try:
        at.run()
    finally:
        script_runner.ScriptRunner._run_script = original
    assert not at.exception, [e.message for e in at.exception]
    wait_for_background()
    return sum(seconds)


def wait_for_background() -> None:
    """The explorer's slider prefetch and (where there is one) the server's warm-up."""
    compute.wait_for_prefetch()
    try:
        from app import warmup  # this tree only
    except ImportError:
        return
    warmup.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--profile", help="profile the warm visits of the page whose name starts so"
    )
    args = parser.parse_args()
    print(f"server time of a visit by a new session, ms (median of {args.repeat} warm visits)")
    print(f"{'page':28s} {'first':>8s} {'warm':>8s} {'min':>8s} {'max':>8s}")
    for name, page, query in PAGES:
        first = visit(page, query)
        profile = cProfile.Profile() if args.profile and name.startswith(args.profile) else None
        warm = [visit(page, query, profile) for _ in range(args.repeat)]
        print(
            f"{name:28s} {first * 1000:8.0f} {statistics.median(warm) * 1000:8.1f} "
            f"{min(warm) * 1000:8.1f} {max(warm) * 1000:8.1f}",
            flush=True,
        )
        if profile is not None:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(45)


if __name__ == "__main__":
    main()
