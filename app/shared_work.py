"""Work shared by every session of the server: what one session computed for a view serves
every session that asks for the same view (a class opens one link at the same moment).

``SharedWork`` maps a key, the view's canonical state (a page's frozen state dataclass, the
chart's name and its options), to what was computed for it: engine results, figures, the bytes
of a chart's JSON. Identical requests that arrive together wait for one computation: the first
one computes, the others wait on its future. The store's lock is held only to look up and to
insert, never while computing, so a slow computation for one key never delays another key.
Values are bounded by bytes (``size_of``), the least recently used dropped first.

``heavy`` runs long engine work (network training and surfaces, searches, sweeps, basin maps,
big explorer runs) in a bounded pool of worker threads, off the sessions' own script threads:
however many students ask for heavy views at once, at most ``heavy_workers()`` of them compute,
each with ``torch_threads()`` intra-op threads, and the rest of the machine stays free for the
slider moves of the others.

    OPTISCAPE_HEAVY_WORKERS   worker threads for heavy work (default: half the CPU cores, >= 1)
    OPTISCAPE_SHARED_MB       bytes of shared view work kept, in MiB (default 256)

A named store is shared with the server's other replicas too (``app.replica_share``): its
computation first looks in the server's folder, where another replica may have written it.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import os
import queue
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np

from app import replica_share

T = TypeVar("T")

WORKERS_ENV = "OPTISCAPE_HEAVY_WORKERS"
SHARED_MB_ENV = "OPTISCAPE_SHARED_MB"
DEFAULT_SHARED_MB = 256


def size_of(value: Any, _depth: int = 0) -> int:
    """Approximate bytes held by ``value``: bytes and numpy arrays exactly, containers and
    dataclasses as the sum of their parts (a few levels deep), anything else as
    ``sys.getsizeof``."""
    if isinstance(value, bytes | bytearray | memoryview):
        return len(value)
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, str):
        return len(value)
    if _depth > 6:
        return sys.getsizeof(value)
    if isinstance(value, dict):
        return 64 + sum(size_of(k, _depth + 1) + size_of(v, _depth + 1) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return 56 + sum(size_of(v, _depth + 1) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return 64 + sum(
            size_of(getattr(value, f.name), _depth + 1) for f in dataclasses.fields(value)
        )
    return sys.getsizeof(value)


class SharedWork:
    """Values computed once per key for every session, least recently used dropped first once
    they hold more than ``max_bytes`` (a value larger than that is returned, not kept).

    ``computed`` counts the computations run (tests, benchmarks)."""

    def __init__(
        self, max_bytes: int, size: Callable[[Any], int] = size_of, name: str | None = None
    ) -> None:
        self.max_bytes = int(max_bytes)
        self.name = name  # named: shared with the server's other replicas too (between_replicas)
        self._size = size
        self._lock = threading.Lock()
        self._done: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._pending: dict[Hashable, Future] = {}
        self.nbytes = 0
        self.computed = 0
        self._waiting: dict[Hashable, int] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._done)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._done

    def get(self, key: Hashable, compute: Callable[[], T], private: bool = False) -> T:
        """The value for ``key``: kept, being computed by another caller (waited for), or
        computed here by ``compute()``; ``private``: never written for the other replicas (a
        view of uploaded data, which stays in this process). A failed computation is not kept and its waiters try
        again themselves (the one that failed may have been stopped by its own session: a
        rerun, ``st.stop``); its exception goes to its caller."""
        while True:
            with self._lock:
                hit = self._done.get(key)
                if hit is not None:
                    self._done.move_to_end(key)
                    return hit[0]
                future = self._pending.get(key)
                owner = future is None
                if owner:
                    future = self._pending[key] = Future()
                    self.computed += 1
            if owner:
                return self._compute(key, compute, future, private)
            with self._lock:
                self._waiting[key] = self._waiting.get(key, 0) + 1
            try:
                return future.result()
            except BaseException:
                continue
            finally:
                with self._lock:
                    self._waiting[key] -= 1
                    if not self._waiting[key]:
                        del self._waiting[key]

    def _compute(self, key: Hashable, compute: Callable[[], T], future: Future, private: bool) -> T:
        try:
            if self.name is None or private:
                value = compute()
            else:
                value = between_replicas(self.name, key, compute)
        except BaseException as exc:
            with self._lock:
                self._pending.pop(key, None)
            future.set_exception(exc)
            raise
        nbytes = self._size(value)
        with self._lock:
            self._pending.pop(key, None)
            if nbytes <= self.max_bytes:
                old = self._done.pop(key, None)
                if old is not None:
                    self.nbytes -= old[1]
                self._done[key] = (value, nbytes)
                self.nbytes += nbytes
                while self.nbytes > self.max_bytes:
                    self.nbytes -= self._done.popitem(last=False)[1][1]
        future.set_result(value)
        return value

    def waiting(self, key: Hashable) -> int:
        """How many callers are waiting for the computation of ``key`` under way."""
        with self._lock:
            return self._waiting.get(key, 0)

    def clear(self) -> None:
        """Forget every kept value (computations under way finish and are kept)."""
        with self._lock:
            self._done.clear()
            self.nbytes = 0


def shared_bytes() -> int:
    """The byte bound of the app's store (``OPTISCAPE_SHARED_MB``, default 256 MiB)."""
    try:
        mb = float(os.environ.get(SHARED_MB_ENV, DEFAULT_SHARED_MB))
    except ValueError:
        mb = DEFAULT_SHARED_MB
    return int(max(mb, 1.0) * 2**20)


_REPLICAS = replica_share.from_environment()


def between_replicas(store: str, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, or its value computed by another replica of this server: the value of
    ``key`` in ``store`` of the server's folder (``app.replica_share``), when it has one."""
    if _REPLICAS is None:
        return compute()
    return _REPLICAS.get(store, key, compute)


def replica_shared(store: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorate a cached engine call so that its value, keyed by its arguments, is shared with
    the server's other replicas (``between_replicas``); put it under ``st.cache_resource``."""

    def decorate(fn: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(fn)
        def shared_fn(*args: Any, **kwargs: Any) -> T:
            key = (args, tuple(sorted(kwargs.items())))
            return between_replicas(store, key, lambda: fn(*args, **kwargs))

        return shared_fn

    return decorate


VIEWS = SharedWork(
    shared_bytes(), name="views"
)  # the app's one store: charts' bytes, figures, results


def shared(key: Hashable, compute: Callable[[], T], private: bool = False) -> T:
    """``VIEWS.get(key, compute, private)``: the app's shared work for ``key``."""
    return VIEWS.get(key, compute, private)


# --- heavy work: a bounded pool of worker threads ---------------------------------------------------


def heavy_workers() -> int:
    """Worker threads for heavy work: ``OPTISCAPE_HEAVY_WORKERS``, else half the CPU cores (at
    least one), so that the other half answers the interactive requests."""
    try:
        return max(1, int(os.environ[WORKERS_ENV]))
    except (KeyError, ValueError):
        return max(1, (os.cpu_count() or 2) // 2)


def torch_threads() -> int:
    """Intra-op threads of each worker: the heavy half of the cores shared among the workers."""
    return max(1, (os.cpu_count() or 2) // 2 // heavy_workers())


_local = threading.local()
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _start_worker(threads: int) -> None:
    _local.worker = True
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return
    torch.set_num_threads(threads)  # per thread with OpenMP: the sessions' threads keep theirs


def pool() -> ThreadPoolExecutor:
    """The process's pool for heavy work (started on first use)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=heavy_workers(),
                thread_name_prefix="optiscape-heavy",
                initializer=_start_worker,
                initargs=(torch_threads(),),
            )
        return _pool


class Lane:
    """One worker thread that runs the calls submitted to it one at a time, the most urgent
    (lowest ``priority``) first, then in order of arrival."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._queue: queue.PriorityQueue = queue.PriorityQueue()
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., T], *args: Any, priority: int = 0, **kwargs: Any) -> Future:
        """Queue ``fn(*args, **kwargs)``; its future holds the result or the exception."""
        future: Future = Future()
        self._queue.put((priority, next(self._order), future, fn, args, kwargs))
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name=self.name, daemon=True)
                self._thread.start()
        return future

    def _work(self) -> None:
        _local.light = True
        try:
            import torch

            torch.set_num_threads(1)
        except ImportError:  # pragma: no cover - torch is a dependency
            pass
        while True:
            _, _, future, fn, args, kwargs = self._queue.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # handed to the caller
                future.set_exception(exc)


# the pages' small engine calls first (priority 0), guesses of what comes next after (1)
LIGHT = Lane("optiscape-light")
PAGE, GUESS = 0, 1


def light(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in the light lane (``LIGHT``): one worker thread that runs the
    pages' small engine calls (an explorer batch under ``app.compute.HEAVY_RUNS_S``) one after
    another, before any background guess (the explorer's slider prefetch).

    A small engine call is thousands of tiny torch operations, each releasing and taking back
    the interpreter lock: twenty sessions running theirs in twenty threads at once spent about
    twice the CPU each on handing the lock around (``bench/classroom.py``, scenario c). In one
    thread they run at full speed, in turn. Called from a worker or the lane itself, it runs
    there directly."""
    if in_worker() or in_light_lane():
        return fn(*args, **kwargs)
    return LIGHT.submit(fn, *args, priority=PAGE, **kwargs).result()


def in_light_lane() -> bool:
    """Whether this thread is the light lane's."""
    return getattr(_local, "light", False)


def in_worker() -> bool:
    """Whether this thread is one of the heavy pool's workers."""
    return getattr(_local, "worker", False)


def heavy(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` computed in the heavy pool; the caller waits for it. Called from
    a worker (heavy work inside heavy work), it runs there directly: a worker never waits for
    another, so the pool cannot deadlock."""
    if in_worker():
        return fn(*args, **kwargs)
    return pool().submit(fn, *args, **kwargs).result()


PROGRESS_POLL_S = 0.2  # how often a waiting page shows the progress of its heavy work


def heavy_with_progress(
    fn: Callable[..., T], progress: Callable[[float], None] | None, *args: Any, **kwargs: Any
) -> T:
    """``heavy(fn, *args, progress=..., **kwargs)`` where ``fn`` reports its progress (a
    fraction) to a callback: the worker's reports are shown by ``progress`` in the caller's own
    thread (a page's progress bar belongs to its session's thread), polled every
    ``PROGRESS_POLL_S`` seconds."""
    if progress is None or in_worker():
        return heavy(fn, *args, progress=progress, **kwargs)
    latest: list[float] = []
    future = pool().submit(fn, *args, progress=latest.append, **kwargs)
    shown = None
    while True:
        try:
            return future.result(timeout=PROGRESS_POLL_S)
        except TimeoutError:
            if latest and latest[-1] != shown:
                shown = latest[-1]
                progress(shown)
