"""Projected network loss surface: landscapes.network against loss-landscapes 3.0.6 and the
dense-matmul floor, the page's CNN with batch norm, and the train -> PCA plane -> surface ->
projection pipeline.

Reference workload: MLP 64-32-10 (widths (64, 32)) on the full digits set (1797 samples),
trained briefly (adam, 60 full-batch steps), a 51 x 51 filter-normalised random plane, full-data
cross-entropy at every point.

- ours: ``loss_surface`` (batched; the first layer is evaluated at the 3 basis vectors only,
  its output being linear in its parameters; chunks of grid points spread over worker threads
  with one intra-op thread each) and ``loss_at`` on the same 2601 points (the general batched
  path without the plane trick).
- loss-landscapes: ``random_plane(model, Loss(...), distance, 51, "filter", deepcopy_model=True)``
  (one nn.Module forward per grid point, parameters moved in place).
- floor: FLOPs of 2601 plain forward passes, 2 * samples * sum(fan_in * fan_out) per point,
  divided by this machine's float32 rate on a same-shaped batched matmul.

Ours and the peer run in alternating rounds, at torch's default thread count and at 1 thread,
so that other work on a shared machine hits both alike; the ratios are taken within a round
(median over rounds), next to the best and median times.

CNN: the page's default CNN view with batch norm (digits, Conv8-BN-ReLU-Pool-Conv16-BN-ReLU-
Pool-Linear, 4 optimizers x 200 steps of batch 64 recorded every 2 steps, PCA plane, 41 x 41
training-loss surface with batch statistics, true and on-plane loss at every recorded point).

    python bench/network_surface.py [--resolution 51] [--repeat 3] [--skip-peer] [--skip-cnn]
                                    [--threads N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import landscapes.network as nw
from studies.training import train


def timed(fn) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds of the process, result) of one call."""
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t, time.process_time() - c, out


def with_threads(n: int, fn):
    """``fn`` run with torch's intra-op thread count set to ``n`` (restored afterwards)."""

    def run():
        saved = torch.get_num_threads()
        torch.set_num_threads(n)
        try:
            return fn()
        finally:
            torch.set_num_threads(saved)

    return run


def matmul_rate(
    n: int, shapes: list[tuple[int, int]], points: int = 16, repeat: int = 5
) -> tuple[float, float]:
    """float32 FLOP/s (per wall second, per CPU second) of the batched matmuls of ``points``
    networks of the given layer shapes."""
    xs = [torch.randn(points, n, fin) for fin, _ in shapes]
    ws = [torch.randn(points, fin, fout) for fin, fout in shapes]
    flops = sum(2 * points * n * fin * fout for fin, fout in shapes)
    for x, w in zip(xs, ws, strict=True):
        torch.bmm(x, w)
    best = best_cpu = float("inf")
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        for x, w in zip(xs, ws, strict=True):
            torch.bmm(x, w)
        best = min(best, time.perf_counter() - t)
        best_cpu = min(best_cpu, time.process_time() - c)
    return flops / best, flops / max(best_cpu, 1e-9)


def cnn_view(repeat: int) -> None:
    """The page's default CNN + batch norm view, stage by stage (engine calls only)."""
    data = nw.load_dataset("digits", seed=0)
    model = nw.build_model("cnn", data, batch_norm=True, seed=0)
    loss_fn = nn.CrossEntropyLoss()
    specs = [
        ("sgd", {"lr": 0.1}),
        ("momentum", {"lr": 0.05, "momentum": 0.9}),
        ("adam", {"lr": 0.01}),
        ("rmsprop", {"lr": 0.01}),
    ]
    x, y = data.x_train, data.y_train
    rows: dict[str, list[float]] = {}

    def stage(name, fn):
        wall, _, out = timed(fn)
        rows.setdefault(name, []).append(wall)
        return out

    for _ in range(repeat):
        load = os.getloadavg()[0]
        r = stage(
            "train 4 x 200 steps (batch 64) + record curves",
            lambda: train(
                model, loss_fn, data, specs, steps=200, batch_size=64, seed=0, record_every=2
            ),
        )
        plane = stage("PCA plane + projections", lambda r=r: nw.pca_directions(r))
        a, b, _ = nw.project(r.params, plane.center, plane.d1, plane.d2)
        span = 1.25 * float(max(np.abs(a).max(), np.abs(b).max()))
        z = stage(
            "41x41 surface (1681 points, batch statistics)",
            lambda plane=plane, span=span, r=r: nw.loss_surface(
                model,
                loss_fn,
                x,
                y,
                (plane.d1, plane.d2),
                center=plane.center,
                span=span,
                resolution=41,
                batch_norm=r.batch_norm,
            ),
        )
        feet = nw.plane_points(plane.center, plane.d1, plane.d2, a, b)
        stage(
            f"loss on plane + true loss ({2 * a.size} points)",
            lambda feet=feet, r=r: (
                nw.loss_at(
                    model, loss_fn, x, y, feet.reshape(-1, feet.shape[-1]), batch_norm="batch"
                ),
                nw.loss_at(
                    model,
                    loss_fn,
                    x,
                    y,
                    r.params.reshape(-1, r.params.shape[-1]),
                    batch_norm="batch",
                ),
            ),
        )
    total = [sum(v[k] for v in rows.values()) for k in range(repeat)]
    print(
        f"\nCNN + batch norm, the page's default view ({data.n_train} training samples, "
        f"P = {nw.param_spec(model).size}; load average {load:.1f} at the last round):"
    )
    for name, v in rows.items():
        print(f"  {name:<52}{min(v):7.2f} s (median {statistics.median(v):.2f})")
    print(f"  {'total':<52}{min(total):7.2f} s (median {statistics.median(total):.2f})")
    print(f"  surface centre {z[20, 20]:.4f}, min {np.nanmin(z):.4f}, max {np.nanmax(z):.4f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resolution", type=int, default=51)
    ap.add_argument("--repeat", type=int, default=3, help="rounds (each runs every method once)")
    ap.add_argument("--skip-peer", action="store_true", help="skip loss-landscapes")
    ap.add_argument("--skip-cnn", action="store_true", help="skip the CNN view")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    res = args.resolution
    print(
        f"torch {torch.__version__}, default threads {threads}, "
        f"load average {os.getloadavg()[0]:.1f} (other work on the machine slows every figure)"
    )

    data = nw.load_dataset("digits")
    x = torch.cat([data.x_train, data.x_val])
    y = torch.cat([data.y_train, data.y_val])
    init = nw.build_model("mlp", data, widths=(64, 32), seed=0)
    brief = train(init, F.cross_entropy, data, [("adam", {"lr": 0.01})], steps=60)
    model = nw.with_params(init, brief.final_params[0]).eval()
    d1, d2 = nw.random_directions(model, seed=0)
    shapes = [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, nn.Linear)]
    n = len(y)
    points = res * res
    print(
        f"\nworkload: MLP {'-'.join(str(o) for _, o in shapes)}, {n} samples, "
        f"{res}x{res} = {points} points, P = {nw.param_spec(model).size} parameters; "
        f"model loss {nw.loss_at(model, F.cross_entropy, x, y, nw.flatten(model)[0]):.4f}"
    )

    theta, spec = nw.flatten(model)
    f1, f2 = nw.direction_to_flat(d1, spec), nw.direction_to_flat(d2, spec)
    axis = nw.grid_axis(1.0, res)
    bb, aa = np.meshgrid(axis, axis, indexing="ij")
    flat = theta + torch.as_tensor(aa.reshape(-1, 1), dtype=torch.float32) * f1
    flat = flat + torch.as_tensor(bb.reshape(-1, 1), dtype=torch.float32) * f2

    def ours():
        return nw.loss_surface(model, F.cross_entropy, x, y, (d1, d2), resolution=res)

    def general():
        return nw.loss_at(model, F.cross_entropy, x, y, flat)

    methods = {
        f"ours: loss_surface, {threads} threads": with_threads(threads, ours),
        "ours: loss_surface, 1 thread": with_threads(1, ours),
        f"ours: loss_at, same points, {threads} threads": with_threads(threads, general),
    }
    if not args.skip_peer:
        import loss_landscapes
        from loss_landscapes.metrics import Loss

        metric = Loss(F.cross_entropy, x, y)

        def peer():
            torch.manual_seed(0)
            return loss_landscapes.random_plane(
                model, metric, distance=1, steps=res, normalization="filter", deepcopy_model=True
            )

        methods[f"loss-landscapes 3.0.6, {threads} threads"] = with_threads(threads, peer)
        methods["loss-landscapes 3.0.6, 1 thread"] = with_threads(1, peer)
    ours(), general()  # warm-up (allocator, kernels)
    walls: dict[str, list[float]] = {k: [] for k in methods}
    cpus: dict[str, list[float]] = {k: [] for k in methods}
    outs: dict[str, object] = {}
    loads = []
    for _ in range(args.repeat):
        loads.append(os.getloadavg()[0])
        for name, fn in methods.items():
            wall, cpu, outs[name] = timed(fn)
            walls[name].append(wall)
            cpus[name].append(cpu)
    z = outs[f"ours: loss_surface, {threads} threads"]
    z_general = outs[f"ours: loss_at, same points, {threads} threads"]
    z_one = outs["ours: loss_surface, 1 thread"]

    # correctness: a few grid points against plain module calls
    rng = np.random.default_rng(0)
    worst = 0.0
    with torch.no_grad():
        for k in rng.choice(points, 8, replace=False):
            ref = float(F.cross_entropy(nw.with_params(model, flat[k])(x), y))
            worst = max(worst, abs(ref - float(z.reshape(-1)[k])) / ref)
    worst_general = float(np.max(np.abs(z_general - z.reshape(-1)) / np.abs(z.reshape(-1))))
    worst_threads = float(np.max(np.abs(z_one - z) / np.abs(z)))

    flops = 2 * n * sum(a * b for a, b in shapes) * points
    rate, rate_cpu = matmul_rate(n, shapes)
    floor, floor_cpu = flops / rate, flops / rate_cpu
    ref_name = f"ours: loss_surface, {threads} threads"
    ref_one = "ours: loss_surface, 1 thread"

    def per_round(name: str, base: str) -> float:
        return statistics.median(p / q for p, q in zip(walls[name], walls[base], strict=True))

    print(
        f"\n{args.repeat} alternating rounds, load average at their starts "
        f"{', '.join(f'{v:.1f}' for v in loads)}\n"
        f"{'method':<46}{'best s':>8}{'median':>8}{'CPU s':>8}{'x ours':>8}{'x ours 1t':>10}"
        f"{'/floor':>8}"
    )
    for name in methods:
        best, med = min(walls[name]), statistics.median(walls[name])
        print(
            f"{name:<46}{best:>8.3f}{med:>8.3f}{min(cpus[name]):>8.3f}"
            f"{per_round(name, ref_name):>8.2f}{per_round(name, ref_one):>10.2f}"
            f"{best / floor:>8.2f}"
        )
    print(
        f"{'floor: dense matmul FLOPs / measured rate':<46}{floor:>8.3f}{'':>8}{floor_cpu:>8.3f}"
        f"{'':>18}{1:>8.2f}"
    )
    print("(x ours, x ours 1t: median over rounds of time / ours' time in the same round)")
    if not args.skip_peer:
        peer_default = per_round(f"loss-landscapes 3.0.6, {threads} threads", ref_name)
        peer_one = per_round("loss-landscapes 3.0.6, 1 thread", ref_one)
        print(
            f"ours vs loss-landscapes: {peer_default:.2f}x faster at {threads} threads, "
            f"{peer_one:.2f}x at 1 thread (target >= 2x); ours / floor "
            f"{min(walls[ref_name]) / floor:.2f} (target <= 2)"
        )
    print(
        f"floor: {flops / 1e9:.1f} GFLOP at {rate / 1e9:.1f} GFLOP/s per wall second, "
        f"{rate_cpu / 1e9:.1f} per CPU second (float32 bmm of the layer shapes, 16 networks "
        f"at a time)"
    )
    print(
        f"ours beats the floor by skipping the first layer's per-point products "
        f"({shapes[0][0]}x{shapes[0][1]} of {sum(a * b for a, b in shapes)} MACs per sample); "
        f"the general path does all of them"
    )
    print(
        f"agreement: max relative difference to plain module calls {worst:.1e}, "
        f"plane trick vs general path {worst_general:.1e}, {threads} threads vs 1 "
        f"{worst_threads:.1e}"
    )
    print(f"our surface: centre {z[res // 2, res // 2]:.4f}, min {z.min():.4f}, max {z.max():.4f}")
    if not args.skip_peer:
        peer = outs[f"loss-landscapes 3.0.6, {threads} threads"]
        print(
            f"loss-landscapes surface: min {peer.min():.4f}, max {peer.max():.4f}, "
            f"value nearest the centre {peer[res // 2, res // 2]:.4f}\n"
            "  it differs from Li et al.: uniform U[0,1) directions (not Gaussian), d2 made "
            "orthogonal before normalising; after filter normalisation each direction is "
            "rescaled to the model's global norm ||theta|| / distance (larger distance = "
            "smaller plane); the grid runs from theta - d/2 in steps of d/steps, so theta is "
            "not a grid point; biases are normalised rather than ignored; the model is "
            "evaluated in whatever train/eval mode it is in."
        )

    # --- pipeline: 4 optimizers x 200 steps, PCA plane, 41x41 surface, projections ---------------
    specs = [
        ("sgd", {"lr": 0.1}),
        ("momentum", {"lr": 0.05, "momentum": 0.9}),
        ("adam", {"lr": 0.003}),
        ("rmsprop", {"lr": 0.001}),
    ]
    c0 = time.process_time()
    t0 = time.perf_counter()
    result = train(init, F.cross_entropy, data, specs, steps=200)
    t1 = time.perf_counter()
    plane = nw.pca_directions(result)
    t2 = time.perf_counter()
    a, b, resid = nw.project(result.params, plane.center, plane.d1, plane.d2, relative=True)
    span = 1.1 * float(max(np.abs(a).max(), np.abs(b).max()))
    t3 = time.perf_counter()
    surf = nw.loss_surface(
        init,
        F.cross_entropy,
        data.x_train,
        data.y_train,
        (plane.d1, plane.d2),
        center=plane.center,
        span=span,
        resolution=41,
    )
    t4 = time.perf_counter()
    total = t4 - t0
    total_cpu = time.process_time() - c0
    print(
        f"\npipeline (4 optimizers x 200 full-batch steps, {data.n_train} training samples):\n"
        f"  train (incl. recording train/val loss and accuracy at every step) {t1 - t0:7.3f} s\n"
        f"  PCA plane ({result.params.shape[0] * result.params.shape[1]} points)"
        f"{'':<28}{t2 - t1:7.3f} s\n"
        f"  projections{'':<52}{t3 - t2:7.3f} s\n"
        f"  41x41 surface{'':<50}{t4 - t3:7.3f} s\n"
        f"  total{'':<58}{total:7.3f} s   (target <= 5 s); CPU time {total_cpu:.3f} s"
    )
    print(
        f"  final train loss {np.round(result.train_loss[:, -1], 4).tolist()}, PCA explained "
        f"{np.round(plane.explained_variance_ratio, 3).tolist()}, median relative residual "
        f"{float(np.median(resid)):.3f}, surface min {surf.min():.4f}"
    )

    if not args.skip_cnn:
        cnn_view(max(1, min(args.repeat, 2)))


if __name__ == "__main__":
    main()
