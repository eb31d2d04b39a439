"""A class on one link: N students load the app at once, spoken in Streamlit's own protocol.

Each student is a websocket session with no browser (``app/stream_client.py``): it loads the
page's HTML (where a load balancer sets its sticky cookie), opens ``/_stcore/stream``, sends
``rerun_script`` with the link's query string and its widget values, and reads the deltas until
``script_finished``. Scenarios:

    a  N students open the same explorer link within --spread seconds
    b  then each opens Adam's editor, moves its learning rate one slider step (a widget whose id
       comes from the deltas), and presses the player's Step twice (what reaches the server is the
       chart component's state, ``{"step": k}``, as app/plotly_view.py's ``setStateValue`` sends)
    c  N students open N different explorer links (landscapes x Adam's learning rate)
    d  N students open the heavy pages, half /network and half /search

Per scenario it prints p50, p95 and max of the time from a student's request to the script's
end (for a first visit, from loading the HTML), p50 and p95 to the first chart's delta, errors,
the server's CPU seconds and peak RSS (its whole process tree, from /proc), and the throughput
(students / the scenario's wall time); beside each scenario, the same work done by one student
alone in the same run. Every replica first gets one cold visit of each page used (imports,
caches), reported on its own line.

    python bench/classroom.py                       # one server as the README starts it, N=20
    python bench/classroom.py --students 30 --scenarios a
    python bench/classroom.py --workers 1,2         # one process, then 2 replicas behind HAProxy
    python bench/classroom.py --url http://host:8501 --server-pid 1234   # a running server

What it measures is what issue 16's items will change: shared work between sessions shows in (a)
and (d) as the gap between a class and one student; fair scheduling in (b) while (c) runs heavy
work; more replicas in the throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import signal
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from app.serving import optiscape_server
from app.stream_client import (
    STREAMLIT_COOKIES,
    StreamError,
    StreamSession,
    bool_state,
    http_get,
    json_state,
    string_array_state,
)

# (c): N different explorer links: a landscape and Adam's learning rate; the lone student's link
# uses a landscape none of the class uses
LINK_LANDSCAPES = [
    "himmelblau",
    "beale",
    "booth",
    "three_hump_camel",
    "matyas",
    "sphere",
    "six_hump_camel",
    "goldstein_price",
    "branin",
    "rastrigin",
    "ackley",
    "styblinski_tang",
]
LINK_ADAM_LRS = [0.05, 0.2, 0.02, 0.1]
LONE_LINK_LANDSCAPE = "mccormick"
EDITED = "opt2"  # Adam, the third optimizer of the default explorer scene
HEAVY_PAGES = ["network", "search"]


def explorer_link(index: int) -> str:
    """The query string of link ``index`` of scenario (c): all different for index < 48, then
    the step count differs too."""
    landscape = LINK_LANDSCAPES[index % len(LINK_LANDSCAPES)]
    lr = LINK_ADAM_LRS[(index // len(LINK_LANDSCAPES)) % len(LINK_ADAM_LRS)]
    pairs = [("v", "1"), ("ls", landscape), ("o", "gd"), ("o", "momentum")]
    pairs += [("o", f"adam,lr={lr:g}"), ("o", "newton,lr=0.5")]
    period = len(LINK_LANDSCAPES) * len(LINK_ADAM_LRS)
    if index >= period:
        pairs.append(("steps", str(500 - index // period)))
    return urllib.parse.urlencode(pairs)


LONE_LINK = urllib.parse.urlencode([("v", "1"), ("ls", LONE_LINK_LANDSCAPE), ("o", "adam,lr=0.3")])


# --- the server's processes, from /proc ------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def _stat_fields(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()  # the fields after "pid (comm) "


def process_tree(roots: Sequence[int]) -> list[int]:
    """``roots`` and every process below them."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int(_stat_fields(int(entry.name))[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds the processes have used."""
    total = 0
    for pid in pids:
        try:
            fields = _stat_fields(pid)
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def rss_bytes(pids: Sequence[int]) -> int:
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_BYTES
        except OSError:
            continue
    return total


class ServerWatch:
    """CPU seconds and the peak of the summed RSS of a server's process tree, sampled in a
    thread every ``interval`` seconds. Without roots (a server elsewhere) it reports nothing."""

    def __init__(self, roots: Sequence[int], interval: float = 0.2) -> None:
        self.roots = list(roots)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        if self.roots:
            self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, rss_bytes(process_tree(self.roots)))

    def mark(self) -> tuple[float, int] | None:
        """(CPU seconds so far, RSS now); the peak starts again from now."""
        if not self.roots:
            return None
        pids = process_tree(self.roots)
        self.peak = rss_bytes(pids)
        return cpu_seconds(pids), self.peak

    def since(self, mark: tuple[float, int] | None) -> tuple[float | None, int | None]:
        """(CPU seconds used, peak RSS in bytes) since ``mark``."""
        if mark is None:
            return None, None
        pids = process_tree(self.roots)
        return cpu_seconds(pids) - mark[0], max(self.peak, rss_bytes(pids))

    def close(self) -> None:
        self._stop.set()


# --- students --------------------------------------------------------------------------------------


@dataclass
class Sample:
    seconds: float | None = None  # None: the request failed
    first_chart: float | None = None
    error: str | None = None
    replica: str | None = None


@dataclass
class Row:
    """One line of the table: a scenario (or a lone student's share of it) and its figures."""

    name: str
    samples: list[Sample] = field(default_factory=list)
    wall: float = 0.0
    cpu: float | None = None
    peak_rss: int | None = None
    part: bool = False  # a share of the row above (its samples counted there)

    def times(self) -> list[float]:
        return [s.seconds for s in self.samples if s.seconds is not None]

    def charts(self) -> list[float]:
        return [s.first_chart for s in self.samples if s.first_chart is not None]

    def errors(self) -> list[str]:
        return [s.error for s in self.samples if s.error]

    def throughput(self) -> float | None:
        done = len(self.times())
        return done / self.wall if self.wall > 0 and done else None


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100]); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


async def visit(
    base: str, page: str, query: str, cookie: str | None, timeout: float
) -> tuple[StreamSession, Sample]:
    """A first visit: load the HTML, open the session, run the page. The session stays open."""
    session = StreamSession(base, page=page, query=query, cookie=cookie, timeout=timeout)
    start = time.perf_counter()
    try:
        await session.open()
        run = await session.rerun(since=start)
    except (StreamError, OSError) as exc:
        return session, Sample(error=f"{type(exc).__name__}: {exc}"[:200])
    return session, Sample(run.seconds, run.first_chart, run.error, session.replica)


async def change(session: StreamSession, make_states: Callable[[StreamSession], list]) -> Sample:
    """A widget change: the states ``make_states`` builds from the widgets drawn so far."""
    try:
        run = await session.rerun(make_states(session))
    except (StreamError, OSError, KeyError, ValueError, IndexError) as exc:
        return Sample(error=f"{type(exc).__name__}: {exc}"[:200])
    return Sample(run.seconds, run.first_chart, run.error, session.replica)


def open_editor(session: StreamSession) -> list:
    return [bool_state(session.widget(f"{EDITED}_editor").id, True)]


def move_learning_rate(offset: int) -> Callable[[StreamSession], list]:
    """Adam's learning rate ``offset`` places along its slider's options."""

    def states(session: StreamSession) -> list:
        lr = session.widget(f"{EDITED}_lr")
        here = lr.options.index(lr.value[0])
        there = min(max(here + offset, 0), len(lr.options) - 1)
        return [string_array_state(lr.id, [lr.options[there]])]

    return states


def press_step(k: int) -> Callable[[StreamSession], list]:
    """The player's Step stopping on step ``k``: the chart component's state."""

    def states(session: StreamSession) -> list:
        return [json_state(session.widget("contour").id, json.dumps({"step": k}))]

    return states


LR_OFFSETS = [1, -1, 2, -2]  # student i moves Adam's lr by LR_OFFSETS[i % 4] slider places
CHANGES = ["open the editor", "learning rate", "Step", "Step"]


async def student_changes(session: StreamSession, index: int, think: float) -> list[Sample]:
    """Scenario (b) for one student: the editor, the learning rate, Step twice."""
    actions = [
        open_editor,
        move_learning_rate(LR_OFFSETS[index % len(LR_OFFSETS)]),
        press_step(1),
        press_step(2),
    ]
    samples = []
    for i, action in enumerate(actions):
        if i:
            await asyncio.sleep(think)
        samples.append(await change(session, action))
        if samples[-1].error and i == 0:
            break  # no editor, no learning rate
    return samples


async def staggered(count: int, spread: float, make: Callable[[int], Awaitable]) -> list:
    """Start ``make(i)`` for i < count, evenly over ``spread`` seconds; gather the results."""

    async def one(i: int) -> object:
        await asyncio.sleep(spread * i / max(count, 1))
        return await make(i)

    return await asyncio.gather(*(one(i) for i in range(count)))


# --- the run ----------------------------------------------------------------------------------------


async def replica_cookies(base: str, tries: int = 8) -> list[str | None]:
    """One cookie per replica behind a sticky proxy (the first ``tries`` HTML loads tell which
    replicas there are), or ``[None]`` for a single server."""
    found: dict[str, str] = {}
    for _ in range(tries):
        _, headers, _ = await asyncio.to_thread(http_get, f"{base}/", None, 30.0)
        for line in headers.get("set-cookie", "").splitlines():
            name, _, rest = line.partition("=")
            if name.strip() and not name.strip().startswith(STREAMLIT_COOKIES):
                value = rest.split(";")[0]
                found[value] = f"{name.strip()}={value}"
    return list(found.values()) or [None]


class Bench:
    def __init__(self, base: str, watch: ServerWatch, args: argparse.Namespace) -> None:
        self.base = base
        self.watch = watch
        self.args = args
        self.rows: list[Row] = []

    async def measure(self, name: str, work: Callable[[], Awaitable[list[Sample]]]) -> Row:
        mark = self.watch.mark()
        start = time.perf_counter()
        samples = await work()
        row = Row(name, samples, time.perf_counter() - start)
        row.cpu, row.peak_rss = self.watch.since(mark)
        self.rows.append(row)
        print(f"  {line(row)}", flush=True)
        return row

    async def lone_visit(self, page: str, query: str) -> list[Sample]:
        session, sample = await visit(self.base, page, query, None, self.args.timeout)
        await session.close()
        return [sample]

    async def warm_up(self, pages: list[tuple[str, str]]) -> None:
        """One cold visit of each page on every replica (replicas in parallel)."""
        cookies = await replica_cookies(self.base)

        async def replica(cookie: str | None) -> list[Sample]:
            samples = []
            for page, query in pages:
                session, sample = await visit(self.base, page, query, cookie, self.args.timeout)
                await session.close()
                samples.append(sample)
            return samples

        async def all_replicas() -> list[Sample]:
            return [s for group in await asyncio.gather(*map(replica, cookies)) for s in group]

        await self.measure(
            f"cold: {len(pages)} first visits x {len(cookies)} replica(s)", all_replicas
        )

    async def run(self) -> list[Row]:
        args, n = self.args, self.args.students
        pages = [("", "")]
        if "c" in args.scenarios:
            pages.append(("", explorer_link(len(LINK_LANDSCAPES) - 1)))
        if "d" in args.scenarios:
            pages += [(page, "") for page in HEAVY_PAGES]
        await self.warm_up(pages)
        if {"a", "b"} & set(args.scenarios):
            await self.same_link(n)
        if "c" in args.scenarios:
            await self.measure(
                "1 student, a new explorer link", lambda: self.lone_visit("", LONE_LINK)
            )
            await self.measure(
                f"(c) {n} students, {n} different links",
                lambda: staggered(
                    n, args.spread, lambda i: self.closed_visit("", explorer_link(i))
                ),
            )
        if "d" in args.scenarios:
            for page in HEAVY_PAGES:
                await self.measure(f"1 student, /{page}", lambda p=page: self.lone_visit(p, ""))
            heavy = [HEAVY_PAGES[i % len(HEAVY_PAGES)] for i in range(n)]
            row = await self.measure(
                f"(d) {n} students, /network and /search",
                lambda: staggered(n, args.spread, lambda i: self.closed_visit(heavy[i], "")),
            )
            for page in HEAVY_PAGES:  # the same samples, page by page
                part = Row(
                    f"    of which /{page}",
                    [s for s, p in zip(row.samples, heavy, strict=True) if p == page],
                )
                part.wall, part.part = row.wall, True
                self.rows.append(part)
                print(f"  {line(part)}", flush=True)
        return self.rows

    async def closed_visit(self, page: str, query: str) -> Sample:
        session, sample = await visit(self.base, page, query, None, self.args.timeout)
        await session.close()
        return sample

    async def same_link(self, n: int) -> None:
        """(a), then (b) in the same sessions; first one student alone doing both."""
        args = self.args
        lone: list[StreamSession] = []

        async def lone_open() -> list[Sample]:
            session, sample = await visit(self.base, "", "", None, args.timeout)
            lone.append(session)
            return [sample]

        await self.measure("1 student, the explorer link", lone_open)
        if "b" in args.scenarios:
            await self.measure(
                "1 student, editor + lr + 2 Steps (per change)",
                lambda: student_changes(lone[0], 0, args.think),
            )
        await lone[0].close()
        sessions: list[StreamSession] = []

        async def class_opens(i: int) -> Sample:
            session, sample = await visit(self.base, "", "", None, args.timeout)
            sessions.append(session)
            return sample

        if "a" in args.scenarios or "b" in args.scenarios:
            await self.measure(
                f"(a) {n} students, the same explorer link",
                lambda: staggered(n, args.spread, class_opens),
            )
        if "b" in args.scenarios:

            async def class_changes() -> list[Sample]:
                groups = await staggered(
                    len(sessions),
                    args.spread,
                    lambda i: student_changes(sessions[i], i, args.think),
                )
                return [s for group in groups for s in group]

            await self.measure(
                f"(b) {n} students, editor + lr + 2 Steps (per change)", class_changes
            )
        await asyncio.gather(*(s.close() for s in sessions))


# --- output ------------------------------------------------------------------------------------------


def seconds(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.2f}"


HEADER = (
    f"{'scenario':52s} {'n':>4s} {'p50 s':>7s} {'p95 s':>7s} {'max s':>7s} "
    f"{'chart p50':>9s} {'chart p95':>9s} {'err':>4s} {'CPU s':>7s} {'RSS MB':>7s} "
    f"{'wall s':>7s} {'per s':>6s}"
)


def line(row: Row) -> str:
    times, charts = row.times(), row.charts()
    rss = "-" if row.peak_rss is None else f"{row.peak_rss / 2**20:.0f}"
    rate = row.throughput()
    return (
        f"{row.name:52s} {len(row.samples):4d} {seconds(percentile(times, 50)):>7s} "
        f"{seconds(percentile(times, 95)):>7s} {seconds(max(times, default=math.nan)):>7s} "
        f"{seconds(percentile(charts, 50)):>9s} {seconds(percentile(charts, 95)):>9s} "
        f"{len(row.errors()):4d} {seconds(row.cpu):>7s} {rss:>7s} {seconds(row.wall):>7s} "
        f"{'-' if rate is None else f'{rate:.2f}':>6s}"
    )


def print_table(title: str, rows: list[Row]) -> None:
    print(f"\n{title}\n{HEADER}")
    for row in rows:
        print(line(row))
    errors = [e for row in rows if not row.part for e in row.errors()]
    for error in sorted(set(errors))[:5]:
        print(f"  error ({errors.count(error)}x): {error}")


def print_comparison(results: dict[str, list[Row]]) -> None:
    """The configurations side by side: p50 / p95 / max, errors, and the throughput ratio."""
    names = list(results)
    first = results[names[0]]
    print("\nside by side: p50 / p95 / max seconds, errors, CPU s, peak RSS MB, students per s")
    print(f"{'scenario':52s} " + " ".join(f"{n:>44s}" for n in names) + "  throughput ratio")
    for i, row in enumerate(first):
        cells, rates = [], []
        for name in names:
            if i >= len(results[name]):
                break
            other = results[name][i]
            t = other.times()
            rss = "-" if other.peak_rss is None else f"{other.peak_rss / 2**20:.0f}"
            rate = other.throughput()
            rates.append(rate)
            cells.append(
                f"{seconds(percentile(t, 50))}/{seconds(percentile(t, 95))}/"
                f"{seconds(max(t, default=math.nan))} e{len(other.errors())} "
                f"{seconds(other.cpu)}s {rss}MB {'-' if rate is None else f'{rate:.2f}'}/s"
            )
        ratio = f"{rates[-1] / rates[0]:.2f}x" if len(rates) > 1 and rates[0] and rates[-1] else ""
        print(f"{row.name:52s} " + " ".join(f"{c:>44s}" for c in cells) + f"  {ratio}")


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


async def bench_server(base: str, roots: Sequence[int], args: argparse.Namespace) -> list[Row]:
    watch = ServerWatch(roots)
    try:
        return await Bench(base, watch, args).run()
    finally:
        watch.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running server or proxy (default: start our own)")
    parser.add_argument(
        "--server-pid",
        type=int,
        action="append",
        default=[],
        help="with --url: a server process to measure (with its children); repeatable",
    )
    parser.add_argument(
        "--workers",
        default="1",
        help="servers to start and compare, e.g. 1,2: `optiscape serve --workers N` (default 1)",
    )
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--scenarios", default="a,b,c,d", help="any of a,b,c,d (default all)")
    parser.add_argument(
        "--spread", type=float, default=2.0, help="seconds over which a class starts (default 2)"
    )
    parser.add_argument(
        "--think", type=float, default=1.0, help="seconds between one student's changes in (b)"
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="per request, seconds")
    parser.add_argument("--json", type=Path, help="also write every sample here")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop our servers on the way out
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if not set(args.scenarios) <= set("abcd"):
        parser.error("--scenarios takes a, b, c and d")
    print(
        f"classroom: {args.students} students, scenarios {','.join(args.scenarios)}, spread "
        f"{args.spread:g} s, think {args.think:g} s; {os.cpu_count()} CPUs, load average "
        f"{load_average()}"
    )
    results: dict[str, list[Row]] = {}
    if args.url:
        results[args.url] = asyncio.run(bench_server(args.url, args.server_pid, args))
    else:
        for workers in [int(w) for w in args.workers.split(",")]:
            label = "1 process" if workers == 1 else f"{workers} replicas + HAProxy"
            print(f"\n{label}: starting `optiscape serve --workers {workers}`", flush=True)
            with tempfile.TemporaryFile() as log, optiscape_server(log, workers) as (base, pid):
                print(f"  {HEADER}")
                results[label] = asyncio.run(bench_server(base, [pid], args))
    for label, rows in results.items():
        print_table(label, rows)
    if len(results) > 1:
        print_comparison(results)
    print(f"\nload average at the end: {load_average()}")
    if args.json:
        args.json.write_text(
            json.dumps({k: [asdict(r) for r in v] for k, v in results.items()}, indent=1)
        )


if __name__ == "__main__":
    main()
