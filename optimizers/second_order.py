"""Second-order and quasi-Newton rules: damped Newton, BFGS and L-BFGS, with an optional line search.

The line search is batched backtracking (Armijo): all trial steps t0 * c^k, k < max_ls, are
evaluated in one call and each run takes the first that decreases f enough,
f(x + t d) <= f(x) + c1 t g.d. A sequential search would have stopped at the first acceptable
trial, so that is the number of function evaluations counted (max_ls when none is accepted, in
which case the smallest trial step is taken).
"""

from __future__ import annotations

import torch

from .base import (
    HParams,
    HyperParam,
    Optimizer,
    Oracle,
    State,
    StepCost,
    as_bool,
    register,
    switch,
)
from .first_order import next_step, step_counter


def _line_search_params() -> tuple[HyperParam, ...]:
    return (
        HyperParam(
            "line_search",
            False,
            kind="bool",
            description="backtracking (Armijo) line search instead of a fixed step",
        ),
        HyperParam(
            "c1",
            1e-4,
            low=0.0,
            high=1.0,
            low_open=True,
            high_open=True,
            log=True,
            ui=(1e-6, 0.5),
            description="sufficient-decrease constant of the line search",
        ),
        HyperParam(
            "backtrack",
            0.5,
            low=0.0,
            high=1.0,
            low_open=True,
            high_open=True,
            ui=(0.1, 0.9),
            description="step shrink factor per line-search trial",
        ),
        HyperParam(
            "max_ls",
            20,
            low=1,
            high=60,
            kind="int",
            ui=(1, 60),
            description="most line-search trials per step",
        ),
    )


def backtracking(
    params: torch.Tensor,
    loss: torch.Tensor,
    grad: torch.Tensor,
    direction: torch.Tensor,
    t0: torch.Tensor | float,
    hp: HParams,
    oracle: Oracle,
) -> torch.Tensor | float:
    """Step lengths ``(R, 1)`` (or the number ``t0``): t0 where the line search is off, else the
    Armijo backtracking choice."""
    if hp.all_equal("line_search", False):
        return t0
    use = as_bool(hp["line_search"])[:, 0]
    if not bool(use.any()):
        return t0
    trials = int(hp["max_ls"].max())
    k = torch.arange(trials, dtype=params.dtype, device=params.device)
    ts = t0 * hp["backtrack"] ** k  # (R, K)
    f_trial = oracle.value(params[:, None, :] + ts[..., None] * direction[:, None, :])  # (R, K)
    slope = (grad * direction).sum(-1, keepdim=True)  # (R, 1)
    within = k[None, :] < hp["max_ls"]
    ok = (f_trial <= loss[:, None] + hp["c1"] * ts * slope) & within
    first = torch.where(ok.any(1), ok.float().argmax(1), hp["max_ls"][:, 0].long() - 1)
    oracle.count("function", torch.where(use, (first + 1).to(params.dtype), 0.0))
    chosen = ts.gather(1, first[:, None])
    return torch.where(use[:, None], chosen, t0)


# --- Newton ----------------------------------------------------------------------------------


def _newton_init(params: torch.Tensor, hp: HParams) -> State:
    return {"step": step_counter(params, hp)}


def _newton_update(params, loss, grad, state, hp, oracle):
    step = next_step(state)
    hess = oracle.hessian(params)
    finite = torch.isfinite(hess).flatten(1).all(1)
    eye = torch.eye(params.shape[1], dtype=params.dtype, device=params.device)
    hess = torch.where(finite[:, None, None], hess, eye)
    hess = 0.5 * (hess + hess.transpose(-1, -2))
    eigval, eigvec = torch.linalg.eigh(hess)
    curvature = switch(hp, "saddle_free", eigval.abs, lambda: eigval)
    fixed = torch.clamp(curvature, min=hp.value("damping"))  # a number, or (R, 1) per run
    # Newton direction with the modified spectrum: d = -V diag(1/|lambda|) V^T g
    coords = (eigvec.transpose(-1, -2) @ grad[..., None])[..., 0] / fixed  # V^T g / |lambda|
    direction = -(eigvec @ coords[..., None])[..., 0]
    t = backtracking(params, loss, grad, direction, hp.value("lr"), hp, oracle)
    new_params = params + t * direction
    # effective per-axis rate: the step's size relative to the gradient along each axis
    eff = torch.where(grad != 0.0, -(t * direction) / grad, torch.full_like(grad, float("nan")))
    return new_params, {"step": step, "effective_lr": eff}


register(
    Optimizer(
        name="newton",
        stability="newton",
        title="Newton",
        init=_newton_init,
        update=_newton_update,
        hyperparams=(
            HyperParam(
                "lr",
                1.0,
                low=0.0,
                log=True,
                ui=(1e-3, 2.0),
                description="damping of the Newton step (1: the full step)",
            ),
            HyperParam(
                "damping",
                1e-4,
                low=0.0,
                low_open=True,
                log=True,
                ui=(1e-8, 10.0),
                description="floor on the Hessian's modified eigenvalues",
            ),
            HyperParam(
                "saddle_free",
                True,
                kind="bool",
                description="use |lambda| (escapes saddles) rather than clipping lambda at the floor",
            ),
            *_line_search_params(),
        ),
        description="Newton's method: jump to the minimum of the local quadratic model. Negative "
        "curvature is flipped (or clipped), so every step goes downhill.",
        maths=r"H = V\Lambda V^\top,\ \theta_t = \theta_{t-1} - \eta\, V \max(|\Lambda|, \delta)^{-1} "
        r"V^\top \nabla f",
        reference="Nocedal & Wright 2006, 'Numerical Optimization', 2nd ed., section 3.4; saddle-free "
        "form: Dauphin et al. 2014, 'Identifying and attacking the saddle point problem', NeurIPS",
        needs=frozenset({"hessian", "function"}),
        stationary=True,
        cost=StepCost(ops=25, per_run=5.0, hessians=1, line_search=True),
    )
)

# --- BFGS ------------------------------------------------------------------------------------


def _bfgs_init(params: torch.Tensor, hp: HParams) -> State:
    r, d = params.shape
    eye = torch.eye(d, dtype=params.dtype, device=params.device).expand(r, d, d).clone()
    z = torch.zeros_like(params)
    return {"step": step_counter(params, hp), "inv_hessian": eye, "prev_grad": z, "prev_step": z}


def _first_step_length(grad: torch.Tensor, lr: torch.Tensor) -> torch.Tensor:
    """min(1, 1/||g||_1) * lr: torch.optim.LBFGS's cautious first step."""
    return torch.clamp(1.0 / grad.abs().sum(-1, keepdim=True), max=1.0) * lr


def _bfgs_update(params, loss, grad, state, hp, oracle):
    step = next_step(state)
    first = step == 1.0
    h = state["inv_hessian"]
    y = grad - state["prev_grad"]
    s = state["prev_step"]
    ys = (y * s).sum(-1, keepdim=True)
    yy = (y * y).sum(-1, keepdim=True)
    curvature = ~first & (ys > 1e-10)
    eye = torch.eye(params.shape[1], dtype=params.dtype, device=params.device)
    # Nocedal & Wright (6.20): scale H0 = (y.s / y.y) I before the first update
    h = torch.where((curvature & (step == 2.0))[..., None], (ys / yy)[..., None] * eye, h)
    rho = torch.where(curvature, 1.0 / ys, torch.zeros_like(ys))[..., None]
    left = eye - rho * s[:, :, None] * y[:, None, :]
    updated = left @ h @ left.transpose(-1, -2) + rho * s[:, :, None] * s[:, None, :]
    h = torch.where(curvature[..., None], updated, h)
    direction = -(h @ grad[..., None])[..., 0]
    descent = (direction * grad).sum(-1, keepdim=True) < 0
    h = torch.where(descent[..., None], h, eye)  # restart if the model lost positive definiteness
    direction = torch.where(descent, direction, -grad)
    t0 = torch.where(first, _first_step_length(grad, hp["lr"]), hp["lr"])
    t = backtracking(params, loss, grad, direction, t0, hp, oracle)
    move = t * direction
    eff = torch.where(grad != 0.0, -move / grad, torch.full_like(grad, float("nan")))
    return params + move, {
        "step": step,
        "inv_hessian": h,
        "prev_grad": grad,
        "prev_step": move,
        "effective_lr": eff,
    }


register(
    Optimizer(
        name="bfgs",
        stability="quasi_newton",
        title="BFGS",
        init=_bfgs_init,
        update=_bfgs_update,
        hyperparams=(
            HyperParam("lr", 1.0, low=0.0, log=True, ui=(1e-3, 2.0), description="step length"),
            *_line_search_params(),
        ),
        description="Quasi-Newton: builds an inverse-Hessian estimate from successive gradients.",
        maths=r"H_{k+1} = (I - \rho s y^\top) H_k (I - \rho y s^\top) + \rho s s^\top,\ "
        r"\rho = 1/y^\top s,\ \theta_{k+1} = \theta_k - t H_k \nabla f",
        reference="Broyden, Fletcher, Goldfarb, Shanno 1970; Nocedal & Wright 2006, 'Numerical "
        "Optimization', algorithm 6.1",
        needs=frozenset({"function"}),
        cost=StepCost(ops=30, per_run=5.0, line_search=True),
    )
)

# --- L-BFGS ----------------------------------------------------------------------------------


def _lbfgs_init(params: torch.Tensor, hp: HParams) -> State:
    r, d = params.shape
    m = int(hp["history_size"].max())
    zeros = params.new_zeros
    return {
        "step": step_counter(params, hp),  # torch's n_iter
        "dirs": zeros(r, m, d),
        "stps": zeros(r, m, d),
        "ro": zeros(r, m),
        "count": torch.zeros(r, dtype=torch.long, device=params.device),
        "h_diag": zeros(r, 1) + 1.0,
        "prev_grad": zeros(r, d),
        "d": zeros(r, d),
        "t": zeros(r, 1),
    }


def _push(
    buf: torch.Tensor,
    new: torch.Tensor,
    count: torch.Tensor,
    size: torch.Tensor,
    mask: torch.Tensor,
) -> torch.Tensor:
    """Append ``new`` as the newest entry of each run's FIFO (oldest first), where ``mask``."""
    full = count >= size
    shifted = torch.cat([buf[:, 1:], buf[:, :1]], dim=1)
    base = torch.where(full.view(-1, *[1] * (buf.dim() - 1)), shifted, buf)
    slot = torch.where(full, size - 1, count)
    idx = torch.arange(buf.shape[1], device=buf.device)
    at = (idx[None, :] == slot[:, None]).view(*buf.shape[:2], *[1] * (buf.dim() - 2))
    appended = torch.where(at, new[:, None], base)
    return torch.where(mask.view(-1, *[1] * (buf.dim() - 1)), appended, buf)


def _lbfgs_update(params, loss, grad, state, hp, oracle):
    lr = hp["lr"]
    size = hp["history_size"][:, 0].long()
    active = grad.abs().amax(-1) > hp["tolerance_grad"][:, 0]  # torch returns early otherwise
    step = torch.where(active[:, None], state["step"] + 1, state["step"])
    first = step == 1.0

    y = grad - state["prev_grad"]
    s = state["d"] * state["t"]
    ys = (y * s).sum(-1)
    store = active & ~first[:, 0] & (ys > 1e-10)
    count = state["count"]
    dirs = _push(state["dirs"], y, count, size, store)
    stps = _push(state["stps"], s, count, size, store)
    ro = _push(state["ro"], 1.0 / ys, count, size, store)
    count = torch.where(store, torch.minimum(count + 1, size), count)
    h_diag = torch.where(store[:, None], (ys / (y * y).sum(-1))[:, None], state["h_diag"])

    # two-loop recursion over the valid history (oldest first), as torch.optim.LBFGS
    q = -grad
    n_old = int(count.max()) if count.numel() else 0
    alphas = [None] * n_old
    for i in range(n_old - 1, -1, -1):
        valid = (i < count)[:, None]
        al = (stps[:, i] * q).sum(-1, keepdim=True) * ro[:, i, None]
        alphas[i] = torch.where(valid, al, torch.zeros_like(al))
        q = torch.where(valid, q + (-alphas[i]) * dirs[:, i], q)
    r = q * h_diag
    for i in range(n_old):
        valid = (i < count)[:, None]
        be = (dirs[:, i] * r).sum(-1, keepdim=True) * ro[:, i, None]
        r = torch.where(valid, r + (alphas[i] - be) * stps[:, i], r)
    direction = torch.where(first, -grad, r)

    t0 = torch.where(first, _first_step_length(grad, lr), lr)
    gtd = (grad * direction).sum(-1)
    move_ok = active & (gtd <= -hp["tolerance_change"][:, 0])
    t = backtracking(params, loss, grad, direction, t0, hp, oracle)
    move = torch.where(move_ok[:, None], t * direction, torch.zeros_like(direction))
    keep = active[:, None]
    eff = torch.where(grad != 0.0, -move / grad, torch.full_like(grad, float("nan")))
    return params + move, {
        "step": step,
        "dirs": dirs,
        "stps": stps,
        "ro": ro,
        "count": count,
        "h_diag": h_diag,
        "prev_grad": torch.where(keep, grad, state["prev_grad"]),
        "d": torch.where(keep, direction, state["d"]),
        "t": torch.where(keep, t, state["t"]),
        "effective_lr": eff,
    }


register(
    Optimizer(
        name="lbfgs",
        stability="quasi_newton",
        title="L-BFGS",
        init=_lbfgs_init,
        update=_lbfgs_update,
        hyperparams=(
            HyperParam("lr", 1.0, low=0.0, log=True, ui=(1e-3, 2.0), description="step length"),
            HyperParam(
                "history_size",
                10,
                low=1,
                high=100,
                kind="int",
                ui=(1, 100),
                description="number of curvature pairs kept",
            ),
            HyperParam(
                "tolerance_grad",
                1e-7,
                low=0.0,
                log=True,
                ui=(1e-12, 1e-2),
                description="no step once max |g| is at most this",
            ),
            HyperParam(
                "tolerance_change",
                1e-9,
                low=0.0,
                log=True,
                ui=(1e-14, 1e-3),
                description="no step unless g.d < -tolerance_change",
            ),
            *_line_search_params(),
        ),
        description="Limited-memory BFGS: the inverse Hessian from the last few (s, y) pairs, "
        "one iteration per step.",
        maths=r"d_k = -H_k \nabla f \text{ by the two-loop recursion over } (s_i, y_i)_{i>k-m},\ "
        r"\theta_{k+1} = \theta_k + t d_k",
        reference="Liu & Nocedal 1989, 'On the limited memory BFGS method for large scale "
        "optimization', Math. Programming 45; Nocedal & Wright 2006, algorithm 7.4",
        torch_name="LBFGS",
        needs=frozenset({"function"}),
        cost=StepCost(ops=140, per_run=25.0, line_search=True),
    )
)
