"""Hand-batched forward pass of sequential networks at M parameter vectors at once.

``torch.func.vmap`` over ``functional_call`` works for any model but, on the CPU, turns a
linear layer with per-point weights into many small products. For ``nn.Sequential`` models
built from common layers this module runs the M networks as a few large kernels instead:

- Linear on an input shared by all points: one GEMM ``x @ [W_1; ...; W_M]^T``;
  on per-point inputs: one batched GEMM (``baddbmm``).
- Conv2d: one convolution with the M weight sets stacked as output channels (shared input) or
  as groups (``groups=M``, per-point input).
- BatchNorm: running statistics ("eval") or per-point batch statistics ("batch"); elementwise
  activations, pooling, flatten and dropout act on the stacked activations.

Activations are laid out ``(M, N, ...)``. ``plan_for(model)`` returns None for anything else and
the caller falls back to vmap. The plane trick: the first parametrised layer is linear in its
parameters, so along a plane theta_c + a d1 + b d2 its output is ``f(theta_c) + a f(d1) +
b f(d2)``: three evaluations instead of M (exact algebra; used by ``loss_surface``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

ELEMENTWISE = (
    nn.ReLU,
    nn.LeakyReLU,
    nn.Tanh,
    nn.Sigmoid,
    nn.GELU,
    nn.ELU,
    nn.SiLU,
    nn.Softplus,
    nn.Identity,
)
POOLS = (nn.MaxPool2d, nn.AvgPool2d)


class Workspace:
    """Reusable output buffers for the kernels of one thread (no autograd).

    A chunk's activations are a few megabytes; allocating them afresh for every chunk costs page
    faults and a cold cache (the allocator returns large blocks to the system), which on the
    reference MLP made the first layer's combining product 2-3x slower than with a warm buffer.
    ``get(key, shape)`` returns a view of the buffer kept under ``key``, grown when needed; a
    key is one op's output, so live activations never share storage.
    """

    def __init__(self) -> None:
        self._buffers: dict[object, torch.Tensor] = {}

    def get(
        self, key: object, shape: tuple[int, ...], dtype: torch.dtype, device: torch.device
    ) -> torch.Tensor:
        numel = 1
        for d in shape:
            numel *= int(d)
        buf = self._buffers.get(key)
        if buf is None or buf.numel() < numel or buf.dtype != dtype or buf.device != device:
            buf = torch.empty(numel, dtype=dtype, device=device)
            self._buffers[key] = buf
        return buf[:numel].view(shape)


@dataclass(frozen=True)
class Op:
    """One leaf module of the plan and the names of its parameters/buffers in the model."""

    module: nn.Module
    prefix: str  # "" or "3." etc.


def _leaves(module: nn.Module, prefix: str = "") -> list[Op] | None:
    if isinstance(module, nn.Sequential):
        out: list[Op] = []
        for name, child in module.named_children():
            sub = _leaves(child, f"{prefix}{name}.")
            if sub is None:
                return None
            out.extend(sub)
        return out
    ok = (
        isinstance(module, (ELEMENTWISE + POOLS + (nn.Flatten, nn.Dropout), nn.Linear))
        or (
            isinstance(module, nn.Conv2d)
            and module.padding_mode == "zeros"
            and isinstance(module.padding, tuple)
        )
        or isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d)
    )
    if not ok:
        return None
    if isinstance(module, nn.Flatten) and (module.start_dim != 1 or module.end_dim != -1):
        return None
    return [Op(module, prefix)]


class SequentialPlan:
    """A sequential model as a list of leaf modules, runnable on stacked parameters."""

    def __init__(self, ops: list[Op]):
        self.ops = ops
        # index of the first parametrised op; every op before it must be parameter-free
        self.first = next(
            (i for i, op in enumerate(ops) if isinstance(op.module, nn.Linear | nn.Conv2d)), None
        )
        self.plane_ok = self.first is not None and not any(
            isinstance(op.module, nn.BatchNorm1d | nn.BatchNorm2d | nn.Dropout)
            for op in ops[: self.first]
        )

    @property
    def classes_first_ok(self) -> bool:
        """True when the last op is a Linear layer after a parametrised layer (so its input is
        per point, (M, N, F)) and ``forward(classes_first=True)`` returns (M, C, N) logits."""
        last = len(self.ops) - 1
        return (
            isinstance(self.ops[-1].module, nn.Linear)
            and self.first is not None
            and self.first < last
        )

    # -- layers -------------------------------------------------------------------------------
    @staticmethod
    def _linear(
        op: Op, p: dict, h: torch.Tensor, shared: bool, out: torch.Tensor | None = None
    ) -> torch.Tensor:
        w = p[op.prefix + "weight"]  # (M, out, in)
        b = p.get(op.prefix + "bias")  # (M, out) or None
        m = w.shape[0]
        if shared:  # h (N, in) shared by all points: a stride-0 batch, no copy
            h = h.expand(m, *h.shape)
        if out is None:
            if b is None:
                return torch.bmm(h, w.transpose(1, 2))
            return torch.baddbmm(b[:, None, :], h, w.transpose(1, 2))
        if b is None:
            return torch.bmm(h, w.transpose(1, 2), out=out)
        return torch.baddbmm(b[:, None, :], h, w.transpose(1, 2), out=out)

    @staticmethod
    def _conv(op: Op, p: dict, h: torch.Tensor, shared: bool) -> torch.Tensor:
        mod: nn.Conv2d = op.module  # type: ignore[assignment]
        w = p[op.prefix + "weight"]  # (M, out, in/g, k, k)
        b = p.get(op.prefix + "bias")
        m, cout = w.shape[:2]
        wk = w.reshape(m * cout, *w.shape[2:])
        bk = None if b is None else b.reshape(-1)
        if shared:  # h (N, C, H, W)
            out = F.conv2d(h, wk, bk, mod.stride, mod.padding, mod.dilation, mod.groups)
        else:  # h (M, N, C, H, W) -> (N, M*C, H, W), groups = M * groups
            n = h.shape[1]
            hh = h.transpose(0, 1).reshape(n, -1, *h.shape[3:])
            out = F.conv2d(hh, wk, bk, mod.stride, mod.padding, mod.dilation, mod.groups * m)
        n = out.shape[0]
        return out.reshape(n, m, cout, *out.shape[2:]).transpose(0, 1)

    @staticmethod
    def _batch_norm(
        op: Op, p: dict, buffers: dict, h: torch.Tensor, batch_stats: bool, inplace: bool = False
    ) -> torch.Tensor:
        """Batch norm of (M, N, C, ...) per point; ``inplace``: ``h`` is ours to overwrite."""
        mod = op.module
        c = h.shape[2]
        extra = (1,) * (h.ndim - 3)
        if batch_stats or buffers.get(op.prefix + "running_mean") is None:
            # per point and channel over samples and positions, in two stages (positions, then
            # samples): one reduction over dims (1, 3, 4) of (M, N, C, H, W) is ~10x slower on
            # the CPU. Two-pass variance, biased, as batch norm normalises with it.
            count = h.shape[1] * math.prod(h.shape[3:])
            inner = tuple(range(3, h.ndim))
            s = h.sum(inner) if inner else h
            mean = (s.sum(1, keepdim=True) / count).reshape(h.shape[0], 1, c, *extra)
            centred = h.sub_(mean) if inplace else h - mean
            # sum of squares over positions without a squared temporary
            q = torch.linalg.vector_norm(centred, dim=inner).square() if inner else centred.square()
            var = (q.sum(1, keepdim=True) / count).reshape(h.shape[0], 1, c, *extra)
        else:  # (C,) running statistics, or (M, C): per point, moved along the plane
            mean = buffers[op.prefix + "running_mean"]
            var = buffers[op.prefix + "running_var"]
            mean = mean.reshape(mean.shape[0] if mean.ndim == 2 else 1, 1, c, *extra)
            var = var.reshape(var.shape[0] if var.ndim == 2 else 1, 1, c, *extra)
            centred = h.sub_(mean) if inplace else h - mean
        scale = torch.rsqrt(var + mod.eps)
        out = centred.mul_(scale) if inplace else centred * scale
        if mod.affine:
            m = h.shape[0]
            w = p[op.prefix + "weight"].reshape(m, 1, c, *extra)
            b = p[op.prefix + "bias"].reshape(m, 1, c, *extra)
            out = out.mul_(w).add_(b) if inplace else out * w + b
        return out

    @staticmethod
    def _pool(mod: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """``mod(x)`` for (B, C, H, W); a 2x2 max pool (stride 2, no padding, floor) as two
        elementwise maxima of strided views: the same values, ~15x faster than the CPU
        ``max_pool2d`` kernel on small images."""
        if isinstance(mod, nn.MaxPool2d) and _is_plain_2x2(mod) and x.ndim == 4:
            h2, w2 = 2 * (x.shape[-2] // 2), 2 * (x.shape[-1] // 2)
            rows = torch.maximum(x[..., 0:h2:2, :w2], x[..., 1:h2:2, :w2])
            return torch.maximum(rows[..., 0::2], rows[..., 1::2])
        return mod(x)

    # -- forward ------------------------------------------------------------------------------
    def forward(
        self,
        params: dict[str, torch.Tensor],
        x: torch.Tensor,
        buffers: dict[str, torch.Tensor] | None = None,
        *,
        batch_stats: bool = False,
        dropout: torch.Generator | None = None,
        start: int = 0,
        h: torch.Tensor | None = None,
        classes_first: bool = False,
        workspace: Workspace | None = None,
    ) -> torch.Tensor:
        """Outputs ``(M, N, ...)`` for stacked ``params`` (name -> ``(M, *shape)``).

        With ``classes_first`` and a final Linear layer on (M, N, F) activations the result is
        (M, C, N) instead (``SequentialPlan.classes_first_ok``).
        ``x`` (N, ...) is shared by all points; to resume after the plane trick pass ``start``
        and the per-point activation ``h`` (M, N, ...), which is then overwritten. ``dropout``:
        a generator to apply dropout (training mode; the same mask for every point), None for
        eval mode. ``workspace`` (only without autograd): Linear outputs go to its reusable
        buffers, so the result is valid until the next call with the same workspace.
        """
        buffers = buffers or {}
        shared = h is None
        act = x if h is None else h
        owned = h is not None  # act is our own temporary: elementwise ops may work in place
        if torch.is_grad_enabled():
            workspace, owned = None, False
        m = next(iter(params.values())).shape[0]
        last = len(self.ops) - 1
        for k, op in enumerate(self.ops[start:], start):
            mod = op.module
            if classes_first and k == last and isinstance(mod, nn.Linear) and not shared:
                # logits as (M, C, N): reductions over a short class axis then run along N
                w, b = params[op.prefix + "weight"], params.get(op.prefix + "bias")
                ht = act.transpose(1, 2)
                if workspace is None:
                    return torch.bmm(w, ht) if b is None else torch.baddbmm(b[:, :, None], w, ht)
                res = workspace.get(k, (m, w.shape[1], ht.shape[2]), act.dtype, act.device)
                if b is None:
                    return torch.bmm(w, ht, out=res)
                return torch.baddbmm(b[:, :, None], w, ht, out=res)
            if isinstance(mod, nn.Linear):
                res = None
                if workspace is not None:
                    n_out = params[op.prefix + "weight"].shape[1]
                    shape = (m, *act.shape[-2 if shared else 1 : -1], n_out)
                    res = workspace.get(k, shape, act.dtype, act.device)
                act, shared = self._linear(op, params, act, shared, res), False
                owned = not torch.is_grad_enabled()
            elif isinstance(mod, nn.Conv2d):
                act, shared = self._conv(op, params, act, shared), False
                owned = not torch.is_grad_enabled()
            else:
                if shared and isinstance(mod, nn.BatchNorm1d | nn.BatchNorm2d):
                    act, shared, owned = act.expand(m, *act.shape), False, False
                lead = 1 if shared else 2
                if isinstance(mod, nn.BatchNorm1d | nn.BatchNorm2d):
                    act = self._batch_norm(op, params, buffers, act, batch_stats, owned)
                    owned = not torch.is_grad_enabled()
                elif isinstance(mod, nn.Flatten):
                    act = act.flatten(lead)
                elif isinstance(mod, POOLS):
                    shape = act.shape
                    out = self._pool(mod, act.reshape(-1, *shape[lead:]))
                    act = out.reshape(*shape[:lead], *out.shape[1:])
                    owned = not torch.is_grad_enabled()
                elif isinstance(mod, nn.Dropout):
                    if dropout is not None and mod.p > 0:
                        keep = torch.rand(
                            act.shape[lead - 1 :], generator=dropout, device=act.device
                        )
                        act = act * (keep >= mod.p).to(act.dtype) / (1 - mod.p)
                        owned = not torch.is_grad_enabled()
                elif isinstance(mod, nn.ReLU) and owned:
                    act = torch.relu_(act)  # our own temporary: in place saves a pass
                else:
                    act = mod(act)
                    owned = not torch.is_grad_enabled()
        if shared:  # a model without parameters on the way: give every point its copy
            act = act.expand(m, *act.shape)
        return act

    def first_layer(self, params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """Output ``(K, N, ...)`` of the first parametrised layer for K stacked parameter sets."""
        assert self.first is not None
        act = x
        for op in self.ops[: self.first]:
            mod = op.module
            if isinstance(mod, nn.Flatten):
                act = act.flatten(1)
            elif isinstance(mod, POOLS):
                act = self._pool(mod, act)
            else:
                act = mod(act)
        op = self.ops[self.first]
        if isinstance(op.module, nn.Linear):
            return self._linear(op, params, act, True)
        return self._conv(op, params, act, True)


def _is_plain_2x2(mod: nn.MaxPool2d) -> bool:
    def pair(v: object) -> tuple:
        return tuple(v) if isinstance(v, tuple | list) else (v, v)

    stride = mod.stride if mod.stride is not None else mod.kernel_size
    return (
        pair(mod.kernel_size) == (2, 2)
        and pair(stride) == (2, 2)
        and pair(mod.padding) == (0, 0)
        and pair(mod.dilation) == (1, 1)
        and not mod.ceil_mode
        and not mod.return_indices
    )


def plan_for(model: nn.Module) -> SequentialPlan | None:
    """A ``SequentialPlan`` when ``model`` is an nn.Sequential of supported layers, else None."""
    ops = _leaves(model)
    if not ops:
        return None
    names = {n for n, _ in model.named_parameters()}
    known = set()
    for op in ops:
        known.update(op.prefix + n for n, _ in op.module.named_parameters(recurse=False))
    if known != names:
        return None
    return SequentialPlan(ops)
