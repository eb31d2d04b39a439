"""Research scale: spread the evaluation of many parameter vectors over any
``concurrent.futures.Executor`` (a Dask ``Client.get_executor()``, Ray's executor, a
``ProcessPoolExecutor`` or ``ThreadPoolExecutor``).

The points of a surface (or of an interpolation line, or ``loss_at``'s vectors) are independent:
with M points cut into K contiguous pieces, piece k holds rows ``[lo_k, hi_k)`` and is evaluated
by one task; the pieces' values are concatenated in order, so the result is the single-process
one up to floating-point rounding (a piece runs the same kernels on fewer rows; a BLAS product
may round its last bit differently for a different row count).

What a task receives is data, never a closure: a ``Shipment`` holding the job (the model as an
``nn.Module`` with its parameters, the loss function, the plane's basis or nothing, the data,
the options) pickled *once* on the caller's side, and the piece's own rows (plane coordinates
(k, 2) or flat parameter vectors (k, P)). The worker function is a module-level function that
pickles by reference. A worker unpickles a job once and keeps the last few (``KEPT_JOBS``) in a
small cache keyed by the job's token, so further pieces of the same job only pay for their
rows; the pickled job still travels with every piece (no executor API lets us place it ahead),
so keep the evaluation data moderate or use a few large pieces. A ``ThreadPoolExecutor`` runs
in this process and gets the job object itself (nothing is pickled).

Threads inside a worker: each task evaluates its rows with the engine's usual chunked kernels
and the worker's own torch thread settings. Dask's nanny starts workers with
``OMP_NUM_THREADS=1``; for a ``ProcessPoolExecutor`` pass ``initializer=torch.set_num_threads,
initargs=(1,)`` so that workers do not compete for cores.
"""

from __future__ import annotations

import itertools
import os
import pickle
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor, as_completed, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .evaluator import METRICS, LossFn, NetworkEvaluator

KEPT_JOBS = 2  # jobs a worker process keeps unpickled (the latest ones)
PIECES_PER_WORKER = 4  # default pieces per worker: balances uneven workers, little overhead


def check_executor(executor: object) -> Executor | None:
    """``executor`` itself when it is None or a ``concurrent.futures.Executor``; else TypeError
    with a hint (a Dask ``Client`` is not an executor: ``client.get_executor()`` is)."""
    if executor is None or isinstance(executor, Executor):
        return executor
    hint = ""
    if callable(getattr(executor, "get_executor", None)):
        hint = " (a Dask Client: pass client.get_executor())"
    raise TypeError(
        "executor must be a concurrent.futures.Executor (for example a Dask "
        "Client.get_executor(), a ProcessPoolExecutor or a ThreadPoolExecutor) or None, got "
        f"{type(executor).__module__}.{type(executor).__qualname__}{hint}"
    )


def check_pieces(pieces: int | None) -> int | None:
    if pieces is None:
        return None
    if isinstance(pieces, bool) or int(pieces) != pieces or pieces < 1:
        raise ValueError(f"pieces must be a positive integer or None, got {pieces!r}")
    return int(pieces)


def executor_workers(executor: Executor) -> int:
    """How many tasks ``executor`` runs at once, as far as it says (else the CPU count)."""
    n = getattr(executor, "_max_workers", None)  # ThreadPoolExecutor, ProcessPoolExecutor
    if isinstance(n, int) and n > 0:
        return n
    client = getattr(executor, "_client", None)  # Dask's ClientExecutor
    if client is not None and callable(getattr(client, "nthreads", None)):
        try:
            total = sum(int(v) for v in client.nthreads().values())
        except Exception:  # a client that cannot answer now: fall back
            total = 0
        if total > 0:
            return total
    return max(1, os.cpu_count() or 1)


def split_rows(m: int, pieces: int) -> list[tuple[int, int]]:
    """``pieces`` (at most m) contiguous, nearly equal row ranges ``[lo, hi)`` covering 0..m."""
    k = max(1, min(int(pieces), m))
    bounds = [round(i * m / k) for i in range(k + 1)]
    return [(lo, hi) for lo, hi in itertools.pairwise(bounds) if hi > lo]


@dataclass(frozen=True)
class Shipment:
    """A job for workers: its token and either the pickled job or (threads) the job itself."""

    token: str
    data: bytes | None = None
    job: Any = None


def ship(job: Any, executor: Executor) -> Shipment:
    """Wrap ``job`` for ``executor``: pickled once here unless the executor runs threads of this
    process. Raises TypeError naming what cannot be sent (a lambda or closure as loss)."""
    token = uuid.uuid4().hex
    if isinstance(executor, ThreadPoolExecutor):
        return Shipment(token, job=job)
    try:
        data = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise TypeError(
            "cannot send the job to the executor's workers, it must be picklable: the loss "
            "function must be a module-level function (F.cross_entropy) or a module "
            "(nn.CrossEntropyLoss()), not a lambda or a closure, and the model's classes must "
            f"be importable by the workers ({type(exc).__name__}: {exc})"
        ) from exc
    return Shipment(token, data=data)


_kept: OrderedDict[str, dict] = OrderedDict()
_kept_lock = threading.Lock()


def receive(shipment: Shipment, build: Callable[[Any], Any] | None = None) -> Any:
    """The job of ``shipment`` (unpickled once per worker process), or ``build(job)``: an object
    built once per job and thread (evaluators are not shared between threads)."""
    with _kept_lock:
        entry = _kept.get(shipment.token)
        if entry is not None:
            _kept.move_to_end(shipment.token)
    if entry is None:
        job = shipment.job if shipment.data is None else pickle.loads(shipment.data)
        with _kept_lock:
            entry = _kept.setdefault(shipment.token, {"job": job, "built": {}})
            while len(_kept) > KEPT_JOBS:
                _kept.popitem(last=False)
    if build is None:
        return entry["job"]
    key = threading.get_ident()
    built = entry["built"].get(key)
    if built is None:
        built = entry["built"][key] = build(entry["job"])
    return built


def forget(shipment: Shipment) -> None:
    """Drop this process's cached copy of a job (threads of this process are done with it)."""
    with _kept_lock:
        _kept.pop(shipment.token, None)


@contextmanager
def shipped(job: Any, executor: Executor) -> Iterator[Shipment]:
    """``ship(job, executor)`` for the block; this process's cached copy is dropped after it."""
    shipment = ship(job, executor)
    try:
        yield shipment
    finally:
        forget(shipment)


def run_pieces(
    executor: Executor,
    fn: Callable[..., Any],
    shipment: Shipment | Sequence[Shipment],
    pieces: Sequence[Any],
    *,
    sizes: Sequence[int] | None = None,
    progress: Callable[[float], None] | None = None,
) -> list[Any]:
    """``[fn(shipment, piece) for piece in pieces]`` computed on ``executor``, in order
    (``shipment`` may be a sequence: one per piece).

    ``progress`` is called here, in the caller's thread, with the finished fraction (by
    ``sizes``, default one per piece) each time a piece finishes, in finishing order. On an
    error (a task's or the callback's) the pieces not started are cancelled and it is raised.
    """
    sizes = [1] * len(pieces) if sizes is None else list(sizes)
    total = float(sum(sizes)) or 1.0
    shipments = [shipment] * len(pieces) if isinstance(shipment, Shipment) else list(shipment)
    futures: list[Future] = []
    try:
        for s, piece in zip(shipments, pieces, strict=True):
            futures.append(executor.submit(fn, s, piece))
        index = {id(f): i for i, f in enumerate(futures)}
        done = 0
        for future in as_completed(futures):
            future.result()  # raises the task's exception here
            done += sizes[index[id(future)]]
            if progress is not None:
                progress(min(1.0, done / total))
        return [f.result() for f in futures]
    except BaseException:
        for f in futures:
            f.cancel()
        wait([f for f in futures if not f.cancelled()])
        raise


# -- network evaluation on workers ------------------------------------------------------------


@dataclass(frozen=True)
class EvaluationJob:
    """Everything a worker needs to evaluate rows of points: sent as data, not code.

    ``basis`` (3, P) for plane coordinates (rows (k, 2): ``basis[0] + a basis[1] +
    b basis[2]``), None for flat parameter vectors (rows (k, P)).
    """

    model: nn.Module
    loss_fn: LossFn
    x: torch.Tensor
    y: torch.Tensor
    metric: str
    batch_size: int | None
    batch_norm: str
    basis: torch.Tensor | None = None
    buffer_basis: dict[str, torch.Tensor] | None = None


def _evaluator(job: EvaluationJob) -> NetworkEvaluator:
    return NetworkEvaluator(job.model, job.loss_fn, batch_norm=job.batch_norm)


def evaluate_rows(shipment: Shipment, rows: torch.Tensor) -> torch.Tensor:
    """Worker task: the job's metric at ``rows`` -> ``(k,)`` (on the CPU)."""
    job: EvaluationJob = receive(shipment)
    ev = receive(shipment, _evaluator)
    with torch.no_grad():
        if job.basis is None:
            values = ev.values(rows, job.x, job.y, metric=job.metric, batch_size=job.batch_size)
        else:
            values = ev.plane_values(
                job.basis,
                rows,
                job.x,
                job.y,
                metric=job.metric,
                batch_size=job.batch_size,
                buffer_basis=job.buffer_basis,
            )
    return values.cpu()


def evaluate_on(
    executor: Executor,
    ev: NetworkEvaluator,
    rows: torch.Tensor,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    metric: str,
    batch_size: int | None,
    batch_norm: str,
    basis: torch.Tensor | None = None,
    buffer_basis: dict[str, torch.Tensor] | None = None,
    pieces: int | None = None,
    progress: Callable[[float], None] | None = None,
) -> torch.Tensor:
    """``ev.plane_values(basis, rows, ...)`` (or ``ev.values(rows, ...)`` without a basis) with
    the rows cut into ``pieces`` (default ``PIECES_PER_WORKER`` per worker) spread over
    ``executor``; ``(M,)`` on ``ev``'s device."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    m = int(rows.shape[0])
    if m == 0:
        return torch.zeros(0, dtype=ev.spec.dtype, device=ev.spec.device)
    if batch_size is not None and (isinstance(batch_size, bool) or int(batch_size) < 1):
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    k = check_pieces(pieces) or PIECES_PER_WORKER * executor_workers(executor)
    job = EvaluationJob(
        model=ev.module,
        loss_fn=ev.loss_fn,
        x=x.to(ev.spec.device, ev.spec.dtype),
        y=y.to(ev.spec.device),
        metric=metric,
        batch_size=batch_size,
        batch_norm=batch_norm,
        basis=basis,
        buffer_basis=buffer_basis,
    )
    ranges = split_rows(m, k)
    with shipped(job, executor) as shipment:
        parts = run_pieces(
            executor,
            evaluate_rows,
            shipment,
            [rows[lo:hi].clone() for lo, hi in ranges],  # a clone pickles its rows only
            sizes=[hi - lo for lo, hi in ranges],
            progress=progress,
        )
    return torch.cat(parts).to(ev.spec.device)


__all__ = [
    "EvaluationJob",
    "Shipment",
    "check_executor",
    "check_pieces",
    "evaluate_on",
    "evaluate_rows",
    "executor_workers",
    "receive",
    "run_pieces",
    "ship",
    "shipped",
    "split_rows",
]
