"""Batched evaluation of a network at many parameter vectors: outputs, losses, accuracies.

``NetworkEvaluator`` keeps a private copy of the user's model (the user's model is never touched)
and evaluates it at M flat parameter vectors at once with ``torch.func.vmap`` over
``torch.func.functional_call`` (or the hand-batched kernels of ``batched.py`` for sequential
models): one batched forward pass instead of M module calls. Grid points are processed in chunks
sized to keep a chunk's activations cache-sized (``ACTIVATION_BYTES``); on the CPU the chunks are
spread over worker threads with one intra-op thread each (``map_chunks``: thousands of
medium-sized kernels do not gain from OpenMP's fork/join per kernel, and lose badly when another
process holds a core), and each thread writes its activations into reusable buffers
(``batched.Workspace``).

Modes (``batch_norm``):
- "eval": the copy is in eval mode: batch norm uses the model's running statistics (frozen,
  unless a plane's "states" directions move them: ``buffer_basis``), dropout is off. The
  default, as in Li et al. 2018.
- "batch": batch norm uses the statistics of the evaluated batch (running statistics removed
  with ``torch.func.replace_all_batch_norm_modules_``), dropout off. Use for models trained with
  ``train`` whose running statistics were never updated.
"""

from __future__ import annotations

import copy
import itertools
import math
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, vmap

from .batched import Workspace, plan_for
from .params import ParamSpec, param_spec

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
BN_MODES = ("eval", "batch")
METRICS = ("loss", "accuracy", "both")  # "both": (M, 2) loss and accuracy in one pass
ACTIVATION_BYTES = 4 * 2**20  # activations of one chunk of grid points: cache-sized


def accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Fraction of correct arg-max predictions."""
    return (outputs.argmax(-1) == targets).to(outputs.dtype).mean()


def is_plain_cross_entropy(loss_fn: LossFn) -> bool:
    """True for ``F.cross_entropy`` and a default ``nn.CrossEntropyLoss()`` (mean, no weights)."""
    if loss_fn is F.cross_entropy:
        return True
    return (
        isinstance(loss_fn, nn.CrossEntropyLoss)
        and loss_fn.weight is None
        and loss_fn.reduction == "mean"
        and loss_fn.label_smoothing == 0.0
        and loss_fn.ignore_index < 0
    )


def cross_entropy_classes_first(
    logits: torch.Tensor, y: torch.Tensor, inplace: bool = False
) -> torch.Tensor:
    """Mean cross-entropy of (M, C, N) logits against (N,) class indices -> (M,).

    mean_n [log sum_c exp(o_cn - m_n) + m_n - o_{y_n n}] with m_n the largest logit (as
    ``torch.logsumexp``; an infinite maximum shifts by 0). Shifted logits below log of the
    smallest normal number are raised to it before ``exp``: their exponentials would be
    subnormal, which the CPU computes about ten times slower, and they cannot change a sum
    that holds exp(0) = 1 (they are below its rounding unit by ~30 orders of magnitude).
    ``inplace`` overwrites ``logits`` (one allocation and one pass less).
    """
    m = logits.amax(1, keepdim=True)
    m = torch.where(m.isinf(), torch.zeros_like(m), m)
    picked = logits.gather(1, y.expand(logits.shape[0], 1, -1))
    z = logits.sub_(m) if inplace else logits - m
    z.clamp_min_(math.log(torch.finfo(z.dtype).tiny)).exp_()
    lse = z.sum(1).log_()
    return lse.add_(m[:, 0]).sub_(picked[:, 0]).mean(-1)


def has_batch_norm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def private_copy(model: nn.Module, batch_norm: str = "eval", training: bool = False) -> nn.Module:
    """A deep copy of ``model`` for functional calls: no grad on its own tensors, given mode."""
    if batch_norm not in BN_MODES:
        raise ValueError(f"batch_norm must be one of {', '.join(BN_MODES)}, got {batch_norm!r}")
    module = copy.deepcopy(model)
    for p in module.parameters():
        p.requires_grad_(False)
        p.grad = None
    if batch_norm == "batch":
        torch.func.replace_all_batch_norm_modules_(module)
    module.train(training)
    return module


class NetworkEvaluator:
    """Evaluate ``loss_fn(model_theta(x), y)`` for a batch of flat parameter vectors theta.

    ``loss_fn`` must average over samples (reduction "mean"): with data chunks (``batch_size``)
    the value is the size-weighted mean of the chunk values, which is then exact.
    """

    def __init__(self, model: nn.Module, loss_fn: LossFn, *, batch_norm: str = "eval"):
        self.spec: ParamSpec = param_spec(model)
        self.module = private_copy(model, batch_norm)
        self.buffers = {n: b.detach() for n, b in self.module.named_buffers()}
        self.loss_fn = loss_fn
        self.batch_stats = batch_norm == "batch"
        self.plain_cross_entropy = is_plain_cross_entropy(loss_fn)
        self.plan = plan_for(self.module)
        self._widest_cache: dict[tuple[int, ...], int] = {}
        self._lock = threading.Lock()
        self._local = threading.local()  # per-thread Workspace

    # -- single point and batched forward -----------------------------------------------------
    def forward_one(
        self, flat: torch.Tensor, x: torch.Tensor, buffers: dict | None = None
    ) -> torch.Tensor:
        """Network outputs at one flat parameter vector (differentiable in ``flat``);
        ``buffers`` replace the model's buffers of the same names."""
        bufs = self.buffers if buffers is None else {**self.buffers, **buffers}
        return functional_call(self.module, (self.spec.unflatten(flat), bufs), (x,))

    def value_one(
        self,
        flat: torch.Tensor,
        x: torch.Tensor,
        y: torch.Tensor,
        metric: str,
        buffers: dict | None = None,
    ):
        out = self.forward_one(flat, x, buffers)
        if metric == "both":
            return torch.stack([self.loss_fn(out, y), accuracy(out, y)])
        return self.loss_fn(out, y) if metric == "loss" else accuracy(out, y)

    def _fast_layout(self, metric: str) -> bool:
        """Whether the plan can hand over (M, C, N) logits for this metric."""
        return (
            self.plan is not None
            and self.plan.classes_first_ok
            and ((metric != "loss" and metric != "both") or self.plain_cross_entropy)
        )

    def _reduce_classes_first(
        self, out: torch.Tensor, y: torch.Tensor, metric: str, inplace: bool = False
    ) -> torch.Tensor:
        """(M, C, N) logits -> (M,) cross-entropy and/or accuracy (``inplace``: ``out`` is a
        temporary of ours and may be overwritten)."""
        if metric == "both":
            acc = self._reduce_classes_first(out, y, "accuracy")
            return torch.stack([self._reduce_classes_first(out, y, "loss", inplace), acc], -1)
        if metric == "accuracy":
            return (out.argmax(1) == y).to(out.dtype).mean(-1)
        if not bool((y >= 0).all()):
            return self._reduce(out.transpose(1, 2), y, metric)
        return cross_entropy_classes_first(out, y, inplace)

    def _reduce(self, out: torch.Tensor, y: torch.Tensor, metric: str) -> torch.Tensor:
        """(M, N, C) outputs -> (M,) loss or accuracy."""
        if metric == "accuracy":
            return (out.argmax(-1) == y).to(out.dtype).mean(-1)
        if metric == "both":
            return torch.stack([self._reduce(out, y, "loss"), self._reduce(out, y, "accuracy")], -1)
        if self.plain_cross_entropy and out.ndim == 3 and bool((y >= 0).all()):
            # mean_n [logsumexp(o_n) - o_n[y_n]]: log_softmax on a short last axis is ~7x
            # slower on the CPU than logsumexp
            picked = out.gather(-1, y.expand(out.shape[0], -1)[..., None])[..., 0]
            return (torch.logsumexp(out, -1) - picked).mean(-1)
        return vmap(self.loss_fn, in_dims=(0, None))(out, y)

    def workspace(self) -> Workspace | None:
        """This thread's reusable kernel buffers (None while autograd records)."""
        if torch.is_grad_enabled():
            return None
        ws = getattr(self._local, "workspace", None)
        if ws is None:
            ws = self._local.workspace = Workspace()
        return ws

    def batch_values(
        self,
        flat: torch.Tensor,
        x: torch.Tensor,
        y: torch.Tensor,
        metric: str = "loss",
        point_buffers: dict[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """``(M,)`` values at the rows of ``flat`` on one data batch, no chunking.

        ``point_buffers``: name -> ``(M, *shape)`` buffers per point (running statistics that
        move along a "states" direction), replacing the model's.
        """
        if point_buffers is not None and self.plan is None:
            return vmap(self.value_one, in_dims=(0, None, None, None, 0))(
                flat, x, y, metric, point_buffers
            )
        if self.plan is not None:
            params = self.spec.unflatten(flat)
            fast = self._fast_layout(metric)
            ws = self.workspace()
            out = self.plan.forward(
                params,
                x,
                self.buffers if point_buffers is None else {**self.buffers, **point_buffers},
                batch_stats=self.batch_stats,
                classes_first=fast,
                workspace=ws,
            )
            if fast:
                return self._reduce_classes_first(out, y, metric, inplace=ws is not None)
            return self._reduce(out, y, metric)
        return vmap(self.value_one, in_dims=(0, None, None, None))(flat, x, y, metric)

    def plane_base(self, basis: torch.Tensor, x: torch.Tensor) -> torch.Tensor | None:
        """First-layer outputs ``(3, N, ...)`` at the plane's basis (None without the trick)."""
        if self.plan is None or not self.plan.plane_ok:
            return None
        # contiguous once here, not reshaped (copied) by every chunk: a convolution's output
        # comes back as a transposed view
        return self.plan.first_layer(self.spec.unflatten(basis), x).contiguous()

    def plane_tail(self, basis: torch.Tensor) -> tuple[torch.Tensor, list[str]] | None:
        """The basis restricted to the parameters after the first parametrised layer:
        ``(3, P_tail)`` and their names (None without the plane trick or with no such
        parameters): the only parameters the points' forward passes still need."""
        if self.plan is None or not self.plan.plane_ok:
            return None
        first = self.plan.first
        assert first is not None
        own = {
            op.prefix + n
            for op in self.plan.ops[first + 1 :]
            for n, _ in op.module.named_parameters(recurse=False)
        }
        names = [n for n in self.spec.names if n in own]
        if not names:
            return None
        parts = self.spec.unflatten(basis)
        return torch.cat([parts[n].reshape(3, -1) for n in names], 1), names

    def plane_batch_values(
        self,
        basis: torch.Tensor,
        coords: torch.Tensor,
        x: torch.Tensor,
        y: torch.Tensor,
        metric: str = "loss",
        base: torch.Tensor | None = None,
        tail: tuple[torch.Tensor, list[str]] | None = None,
        buffer_basis: dict[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Values at ``basis[0] + coords[:, 0] basis[1] + coords[:, 1] basis[2]`` (M points).

        With a sequential plan, the first parametrised layer is evaluated only at the three
        basis vectors (its output is linear in its own parameters); otherwise the points are
        formed and evaluated as usual. ``base`` and ``tail``: ``plane_base`` and
        ``plane_tail`` when already computed. ``buffer_basis``: name -> ``(3, *shape)``
        (the buffer, its entries in d1 and d2): those buffers move along the plane too.
        """
        # weights (1, a_m, b_m): every per-point quantity below is weights @ (3, ...) basis
        weights = torch.cat([torch.ones_like(coords[:, :1]), coords], dim=1)
        point_buffers = None
        if buffer_basis:
            point_buffers = {
                name: (weights @ stack.reshape(3, -1)).reshape(-1, *stack.shape[1:])
                for name, stack in buffer_basis.items()
            }
        if self.plan is None or not self.plan.plane_ok:
            flat = basis[0] + coords[:, :1] * basis[1] + coords[:, 1:] * basis[2]
            return self.batch_values(flat, x, y, metric, point_buffers)
        plan = self.plan
        first = plan.first
        assert first is not None
        if base is None:
            base = self.plane_base(basis, x)
        if tail is None:
            tail = self.plane_tail(basis)
        m = coords.shape[0]
        if tail is None:
            params = self.spec.unflatten(weights @ basis)
        else:
            vals = weights @ tail[0]
            params = {}
            lo = 0
            for name in tail[1]:
                shape = self.spec.shapes[self.spec.names.index(name)]
                size = math.prod(shape)
                params[name] = vals[:, lo : lo + size].reshape(m, *shape)
                lo += size
        # h_m = base_0 + a_m base_1 + b_m base_2 for all m: one (M, 3) x (3, N * width) product
        ws = self.workspace()
        flat_base = base.reshape(3, -1)
        if ws is None:
            h = weights @ flat_base
        else:
            buf = ws.get("plane", (m, flat_base.shape[1]), base.dtype, base.device)
            h = torch.mm(weights, flat_base, out=buf)
        h = h.reshape(m, *base.shape[1:])
        fast = self._fast_layout(metric)
        out = plan.forward(
            params,
            x,
            self.buffers if point_buffers is None else {**self.buffers, **point_buffers},
            batch_stats=self.batch_stats,
            start=first + 1,
            h=h,
            classes_first=fast,
            workspace=ws,
        )
        if fast:
            return self._reduce_classes_first(out, y, metric, inplace=ws is not None)
        return self._reduce(out, y, metric)

    def chunk_points(self, n_samples: int, x: torch.Tensor) -> int:
        """Grid points per chunk so that the widest activation of a chunk stays within the
        cache-sized budget (the widest per-sample activation is measured on one sample)."""
        per_point = n_samples * self.widest_activation(x) * x.element_size()
        return int(max(1, min(4096, ACTIVATION_BYTES // max(per_point, 1))))

    def widest_activation(self, x: torch.Tensor) -> int:
        """Largest number of values any layer outputs for one sample (inputs included)."""
        key = tuple(x.shape[1:])
        if key not in self._widest_cache:
            self._widest_cache[key] = widest_activation(self.module, x, self.batch_stats)
        return self._widest_cache[key]

    def values(
        self,
        flat: torch.Tensor,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        metric: str = "loss",
        batch_size: int | None = None,
        chunk: int | None = None,
        progress: Callable[[float], None] | None = None,
        differentiable: bool = False,
    ) -> torch.Tensor:
        """``(M,)`` metric values at the rows of ``flat`` ``(M, P)``."""

        def run(lo: int, hi: int, s: int, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
            return self.batch_values(flat[lo:hi], xb, yb, metric)

        return self._chunked(
            run, flat.shape[0], x, y, metric, batch_size, chunk, progress, differentiable
        )

    def plane_values(
        self,
        basis: torch.Tensor,
        coords: torch.Tensor,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        metric: str = "loss",
        batch_size: int | None = None,
        chunk: int | None = None,
        progress: Callable[[float], None] | None = None,
        differentiable: bool = False,
        buffer_basis: dict[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """``(M,)`` values at ``basis[0] + a basis[1] + b basis[2]`` for ``coords`` (M, 2);
        ``buffer_basis`` as in ``plane_batch_values``."""

        bases: dict[int, torch.Tensor | None] = {}  # first-layer outputs per data batch
        tail = self.plane_tail(basis)

        def run(lo: int, hi: int, s: int, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
            if s not in bases:  # the first chunk of each batch; the others wait for it
                with self._lock:
                    if s not in bases:
                        bases[s] = self.plane_base(basis, xb)
            return self.plane_batch_values(
                basis, coords[lo:hi], xb, yb, metric, bases[s], tail, buffer_basis
            )

        return self._chunked(
            run, coords.shape[0], x, y, metric, batch_size, chunk, progress, differentiable
        )

    def _chunked(self, run, m, x, y, metric, batch_size, chunk, progress, differentiable):
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
        x = x.to(self.spec.device, self.spec.dtype)
        y = y.to(self.spec.device)
        n = int(y.shape[0])
        if n == 0 or x.shape[0] != n:
            raise ValueError(f"need as many inputs as targets (> 0), got {x.shape[0]} and {n}")
        bs = n if batch_size is None else int(batch_size)
        if bs < 1:
            raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
        chunk = int(chunk or self.chunk_points(min(bs, n), x))
        batches = [(s, x[s : s + bs], y[s : s + bs]) for s in range(0, n, bs)]

        def one(lo: int) -> torch.Tensor:
            hi = min(m, lo + chunk)
            total = 0.0
            for s, xb, yb in batches:
                total = total + run(lo, hi, s, xb, yb) * (yb.shape[0] / n)
            return total

        starts = list(range(0, m, chunk))
        # only the hand-batched kernels go to worker threads: functional_call swaps the shared
        # module's parameters while it runs, and autograd needs the caller's thread
        serial = differentiable or self.plan is None
        workers = 1 if serial else cpu_workers(x.device, len(starts))
        out = []
        grad_ctx = torch.enable_grad() if differentiable else torch.no_grad()
        with grad_ctx:
            for values in map_chunks(one, starts, workers):
                out.append(values)
                if progress is not None:
                    progress(min(m, starts[len(out) - 1] + chunk) / m)
        if not out:
            return x.new_zeros(0)
        return torch.cat(out)


def widest_activation(module: nn.Module, x: torch.Tensor, batch_stats: bool = False) -> int:
    """Largest number of values any leaf module of ``module`` outputs for one sample of ``x``
    (inputs included), measured with forward hooks on one sample (two with batch statistics)."""
    sizes = [int(x[:1].numel())]
    hooks = [
        m.register_forward_hook(lambda _m, _i, out: sizes.append(int(out[:1].numel())))
        for m in module.modules()
        if not list(m.children())
    ]
    try:
        with torch.no_grad():
            module(x[:2] if batch_stats else x[:1])
    finally:
        for h in hooks:
            h.remove()
    return max(sizes)


@contextmanager
def intra_op_threads(n: int) -> Iterator[None]:
    """Run the block with torch's intra-op thread count set to ``n``, restored afterwards.

    For kernels that are slower on more threads, such as LAPACK's ``eigh`` of the few hundred
    rows of a PCA Gram matrix (many small OpenMP fork/joins; when another process holds a core
    every join waits for a descheduled thread): 808 x 808 on 2 shared cores, 0.14 s on one
    thread against 0.36-4.1 s on two.
    """
    saved = torch.get_num_threads()
    if n == saved:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


def cpu_workers(device: torch.device, n_chunks: int) -> int:
    """Threads to spread chunks over: torch's intra-op thread count on the CPU, else 1."""
    if device.type != "cpu" or n_chunks < 2:
        return 1
    return max(1, min(torch.get_num_threads(), n_chunks))


def map_chunks(fn: Callable[[int], torch.Tensor], starts: list[int], workers: int):
    """``fn(start)`` for every chunk, yielded in order, on ``workers`` threads.

    Why threads over chunks rather than torch's intra-op threads: a chunk is a few dozen
    medium-sized kernels (about a megabyte each), and every one of them is an OpenMP
    fork/join. The memory-bound ones (the combining product, the reductions over the class
    axis, the elementwise passes) hardly speed up with a second thread, and when another
    process holds a core every join waits for a thread the OS has descheduled (reference MLP
    surface on 2 shared cores, load ~2.4: 0.53-3.09 s with two intra-op threads against
    0.89-1.23 s with one, and once 26 s against 0.9 s). Here each worker runs whole chunks
    with one intra-op thread, so the workers never wait for each other and a busy core only
    slows its own worker (the chunks are handed out dynamically). Each worker sets its own
    thread's count (OpenMP and MKL settings are per thread); torch's global default, which
    ``set_num_threads`` also writes, is put back afterwards.
    """
    if workers <= 1:
        for s in starts:
            yield fn(s)
        return
    saved = torch.get_num_threads()

    def task(s: int) -> torch.Tensor:
        if torch.get_num_threads() != 1:
            torch.set_num_threads(1)
        with torch.no_grad():
            return fn(s)

    pool = ThreadPoolExecutor(max_workers=workers)
    pending: deque = deque()
    try:
        todo = iter(starts)
        for s in itertools.islice(todo, 2 * workers):
            pending.append(pool.submit(task, s))
        while pending:
            done = pending.popleft().result()
            for s in itertools.islice(todo, 1):
                pending.append(pool.submit(task, s))
            yield done
    finally:
        # a caller that stops early (an exception from ``progress``) gets control back after
        # the chunks in flight, not after the whole grid
        pool.shutdown(wait=True, cancel_futures=True)
        torch.set_num_threads(saved)
