"""Shared work between sessions (``app.shared_work``): one computation per key for concurrent
identical requests, no blocking between different keys, the byte bound, failures, the heavy
pool; and, in the app, two sessions opening the same view build its charts once.

No test measures time: threads are ordered with events, and a waiter is seen through the
store's own count of its waiters (waited for as a condition, never slept on)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch
from apptest_helpers import run_explorer

from app import compute, lessons, plotly_view, shared_work
from app.shared_work import SharedWork, size_of
from app.state import AppState, OptimizerEntry

DEADLINE_S = 60.0  # a condition that does not come within this is a failure, not a slow machine


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.001)  # polling another thread's state: there is no event to wait on


def in_thread(fn, *args):
    """Start ``fn(*args)`` in a thread; returns (thread, box) where box gets its result or error."""
    box: dict = {}

    def run():
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # handed to the test
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


# --- the store ------------------------------------------------------------------------------------


def test_concurrent_identical_requests_compute_once():
    store = SharedWork(2**20)
    release = threading.Event()
    started = threading.Event()
    calls = []

    def slow():
        calls.append(threading.current_thread().name)
        started.set()
        release.wait(DEADLINE_S)
        return b"the figure"

    first, first_box = in_thread(store.get, "view", slow)
    started.wait(DEADLINE_S)
    second, second_box = in_thread(store.get, "view", slow)
    wait_until(lambda: store.waiting("view") == 1, "the second request waits for the first")
    release.set()
    first.join(DEADLINE_S)
    second.join(DEADLINE_S)
    assert len(calls) == 1
    assert first_box["value"] is second_box["value"] == b"the figure"
    assert store.get("view", slow) is first_box["value"]  # kept: later requests compute nothing
    assert len(calls) == 1 and store.computed == 1


def test_a_slow_key_does_not_block_another_key():
    store = SharedWork(2**20)
    release = threading.Event()
    started = threading.Event()

    def slow():
        started.set()
        release.wait(DEADLINE_S)
        return b"A"

    a, a_box = in_thread(store.get, "A", slow)
    started.wait(DEADLINE_S)
    try:
        # computed and returned in this thread while A's computation is still under way
        assert store.get("B", lambda: b"B") == b"B"
        assert a.is_alive() and "value" not in a_box
    finally:
        release.set()
        a.join(DEADLINE_S)
    assert a_box["value"] == b"A"


def test_the_store_stays_within_its_byte_bound_least_recently_used_first():
    store = SharedWork(max_bytes=1000)
    for i in range(3):
        store.get(i, lambda i=i: bytes(300))
    assert store.nbytes == 900 and len(store) == 3
    store.get(0, lambda: pytest.fail("0 is kept"))  # 0 is now the most recently used
    store.get(3, lambda: bytes(300))  # 1200 bytes: the least recently used (1) goes
    assert store.nbytes <= 1000
    assert 1 not in store and all(k in store for k in (0, 2, 3))
    for i in range(10, 30):
        store.get(i, lambda: bytes(170))
        assert store.nbytes <= 1000
    assert store.nbytes == sum(size_of(bytes(170)) for _ in range(len(store)))
    assert store.get("huge", lambda: bytes(5000)) == bytes(5000)  # returned, not kept
    assert "huge" not in store and store.nbytes <= 1000


def test_a_failed_computation_is_not_kept_and_its_waiters_compute_themselves():
    store = SharedWork(2**20)
    release = threading.Event()
    started = threading.Event()

    def failing():
        started.set()
        release.wait(DEADLINE_S)
        raise RuntimeError("stopped")

    first, first_box = in_thread(store.get, "view", failing)
    started.wait(DEADLINE_S)
    second, second_box = in_thread(store.get, "view", lambda: b"computed again")
    wait_until(lambda: store.waiting("view") == 1, "the second request waits")
    release.set()
    first.join(DEADLINE_S)
    second.join(DEADLINE_S)
    assert isinstance(first_box["error"], RuntimeError)
    assert second_box["value"] == b"computed again"
    assert store.computed == 2


def test_size_of_counts_bytes_and_arrays():
    a = np.zeros((10, 10))
    assert size_of(b"abc") == 3
    assert size_of(a) == 800
    assert size_of({"x": a, "y": (a, b"12")}) >= 1602


# --- the heavy pool -------------------------------------------------------------------------------


@pytest.fixture
def one_worker(monkeypatch):
    """A fresh heavy pool of one worker (the process's pool is left as it was)."""
    monkeypatch.setenv(shared_work.WORKERS_ENV, "1")
    monkeypatch.setattr(shared_work, "_pool", None)
    yield
    if shared_work._pool is not None:
        shared_work._pool.shutdown(wait=True)


def test_heavy_work_runs_in_the_pool_with_its_own_torch_threads(one_worker):
    main_threads = torch.get_num_threads()

    def where():
        return threading.current_thread().name, torch.get_num_threads(), shared_work.in_worker()

    name, threads, in_worker = shared_work.heavy(where)
    assert name.startswith("optiscape-heavy") and in_worker
    assert threads == shared_work.torch_threads()
    assert torch.get_num_threads() == main_threads  # the caller's thread keeps its own
    assert not shared_work.in_worker()


def test_heavy_work_inside_heavy_work_does_not_deadlock_a_pool_of_one(one_worker):
    inner = shared_work.heavy(lambda: shared_work.heavy(lambda: 41) + 1)
    assert inner == 42


def test_heavy_progress_is_shown_in_the_callers_thread(one_worker):
    caller = threading.current_thread()
    seen = threading.Event()
    shown = []

    def work(progress):
        progress(0.5)
        seen.wait(DEADLINE_S)  # until the caller has shown it
        return "done"

    def show(fraction):
        shown.append((fraction, threading.current_thread() is caller))
        seen.set()

    assert shared_work.heavy_with_progress(work, show) == "done"
    assert shown == [(0.5, True)]


def test_two_sessions_asking_for_the_same_runs_compute_them_once(monkeypatch):
    """compute.runs: the engine is called once for a batch two sessions ask for at once."""
    release = threading.Event()
    calls = []
    real = compute.optimizers.simulate

    def counted(*args, **kwargs):
        calls.append(1)
        release.wait(DEADLINE_S)
        return real(*args, **kwargs)

    monkeypatch.setattr(compute.optimizers, "simulate", counted)
    entries = (OptimizerEntry.make("adam", lr=0.0123),)
    args = ("himmelblau", (), entries, (1.234, -0.5), 17, 3)
    key = ("himmelblau", (), entries, (1.234, -0.5), 17, 3)
    first, first_box = in_thread(compute.runs, *args)
    wait_until(lambda: len(calls) == 1, "the first session computes")
    second, second_box = in_thread(compute.runs, *args)
    wait_until(lambda: compute._IN_FLIGHT.waiting(key) == 1, "the second session waits")
    release.set()
    first.join(DEADLINE_S)
    second.join(DEADLINE_S)
    assert len(calls) == 1
    assert first_box["value"][0] is second_box["value"][0]
    # and the result is the engine's: the same run computed directly
    direct = real(
        compute.landscape_for("himmelblau", ()),
        [entries[0].spec()],
        [(1.234, -0.5)],
        steps=17,
        seed=3,
    )
    np.testing.assert_allclose(first_box["value"][0].positions, direct.positions[0, 0])


# --- in the app -----------------------------------------------------------------------------------


def test_sessions_opening_the_same_explorer_view_build_its_charts_once(monkeypatch):
    shared_work.VIEWS.clear()
    built = []
    real = plotly_view.chart_bytes

    def counted(fig, **options):
        built.append(options)
        return real(fig, **options)

    monkeypatch.setattr(plotly_view, "chart_bytes", counted)
    query = AppState(landscape="booth", steps=40).to_query()
    first = run_explorer(query)
    charts = len(built)
    assert charts >= 2  # the contour and the loss curves
    second = run_explorer(query)
    assert len(built) == charts  # nothing built again: the first session's bytes were sent
    sent = [c.proto.bytes for c in first.get("bidi_component")]
    assert sent == [c.proto.bytes for c in second.get("bidi_component")]
    run_explorer(AppState(landscape="booth", steps=41).to_query())
    assert len(built) > charts  # another view: its own charts


# --- the warm-up ----------------------------------------------------------------------------------


def test_the_warm_up_is_off_in_the_tests_and_its_levels_follow_the_variable(monkeypatch):
    from app import warmup

    assert not warmup.enabled()  # conftest: OPTISCAPE_WARMUP=0
    assert not warmup.start()
    monkeypatch.setenv(warmup.ENV, "1")
    assert warmup.level() == "explorer"
    explorer_only = [what for what, _ in warmup.steps()]
    monkeypatch.setenv(warmup.ENV, "all")
    every_page = [what for what, _ in warmup.steps()]
    assert set(explorer_only) < set(every_page)
    assert "the network page's default view" in every_page
    assert "the network page's default view" not in explorer_only
    deep = {f"lesson {x.id}" for x in lessons.LESSONS if x.page == "views/deep.py"}
    assert len(deep) == 3 and deep < set(every_page) and not deep & set(explorer_only)
    explorer = {f"lesson {x.id}" for x in lessons.EXPLORER_LESSONS}
    assert explorer < set(explorer_only)  # only the explorer's lessons go to the explorer


def test_after_the_warm_up_the_explorer_opens_without_computing_its_runs(monkeypatch):
    import streamlit as st

    from app import warmup

    st.cache_resource.clear()  # the run store too: nothing left by earlier tests
    for _what, compute_view in warmup.steps(every_page=False)[:2]:  # the default scene, a lesson
        compute_view()
    computed = []
    real = compute.optimizers.simulate

    def counted(*args, **kwargs):
        computed.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(compute.optimizers, "simulate", counted)
    # the page's own runs only: the slider prefetch (after the page) guesses further moves
    monkeypatch.setattr(compute, "prefetch", lambda *args, **kwargs: None)
    run_explorer()
    assert computed == []


def test_the_light_lane_runs_pages_before_guesses_one_at_a_time():
    lane = shared_work.Lane("test-lane")
    gate = threading.Event()
    order: list[str] = []
    running = []

    def task(name):
        running.append(name)
        assert len(running) == 1  # one at a time
        order.append(name)
        running.pop()
        return name

    first = lane.submit(gate.wait)  # holds the lane while the rest queue up
    guesses = [lane.submit(task, f"guess {i}", priority=shared_work.GUESS) for i in range(3)]
    pages = [lane.submit(task, f"page {i}", priority=shared_work.PAGE) for i in range(3)]
    gate.set()
    assert first.result(timeout=60) is True
    assert [f.result(timeout=60) for f in pages + guesses] == [
        *(f"page {i}" for i in range(3)),
        *(f"guess {i}" for i in range(3)),
    ]
    assert order == ["page 0", "page 1", "page 2", "guess 0", "guess 1", "guess 2"]

    def fail():
        raise ValueError("bad")

    with pytest.raises(ValueError, match="bad"):
        lane.submit(fail).result(timeout=60)
    # from the lane's own thread, light work runs there directly (no deadlock)
    assert lane.submit(lambda: shared_work.light(lambda: "inner")).result(timeout=60) == "inner"


def test_a_prefetch_is_cut_into_batches_a_page_waits_for_at_most_one_of():
    from app.slider_values import likely_entries
    from app.state import OptimizerEntry

    entries = likely_entries(
        (OptimizerEntry.make("adam", lr=0.1), OptimizerEntry.make("newton", lr=0.5))
    )
    key, params, steps = "rosenbrock", (), 2000
    items = [((key, params, e, (0.0, 0.0), steps, 0), e) for e in entries]
    chunks = compute._chunks(key, params, items, steps)
    assert [item for chunk in chunks for item in chunk] == items  # all, in order
    assert len(chunks) > 1
    for chunk in chunks:
        batch = tuple(e for _, e in chunk)
        seconds = compute.runs_seconds(key, params, batch, steps)
        assert len(chunk) == 1 or seconds <= compute.GUESS_CHUNK_S
