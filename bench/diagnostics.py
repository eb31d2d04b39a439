"""Teaching diagnostics workloads: batched engine against a loop of single torch.optim runs.

1. Basin map: 200 x 200 start points x 6 optimizers x 300 steps on Himmelblau
   (``studies.analysis.basins``: one ``simulate`` call per optimizer, record="final").
2. Learning-rate sweep: 200 log-spaced learning rates x 6 optimizers x 300 steps on the
   ill-conditioned quadratic (``studies.analysis.lr_sweep``: one ``simulate`` call).

The baseline is what a script would do: one 2-element tensor and one torch.optim optimizer per
run, stepped ``steps`` times; ``--sample`` runs per optimizer are timed and scaled to the full
workload. Targets on a 2-core CPU: basin map <= 3 s, sweep <= 0.5 s, speed-up >= 100x.

    python bench/diagnostics.py [--grid 200] [--lrs 200] [--steps 300] [--sample 20]
                                [--dtype float64|float32] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from basins import loop_run  # bench/basins.py: one torch.optim run, the loop reference

import landscapes
import optimizers
from studies import analysis

SPECS = [
    ("gd", {"lr": 0.01}),
    ("momentum", {"lr": 0.005, "momentum": 0.9}),
    ("nesterov", {"lr": 0.005, "momentum": 0.9}),
    ("rmsprop", {"lr": 0.01}),
    ("adam", {"lr": 0.05}),
    ("adagrad", {"lr": 0.5}),
]


def best_of(repeat: int, fn) -> tuple[float, list[float], object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), times, out


def loop_time(fn, runs: list[tuple[str, dict, tuple]], steps: int) -> tuple[float, list]:
    t = time.perf_counter()
    finals = [loop_run(fn, name, hp, start, steps) for name, hp, start in runs]
    return time.perf_counter() - t, finals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=200)
    parser.add_argument("--lrs", type=int, default=200)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--sample", type=int, default=20, help="looped runs per optimizer")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    dtype = getattr(torch, args.dtype)
    rng = np.random.default_rng(0)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"device {optimizers.describe(optimizers.default_device())}, {args.dtype}, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )

    # 1. basin map
    land = landscapes.get("himmelblau")
    grid = (args.grid, args.grid)
    analysis.basins(land, SPECS, (4, 4), 5, dtype=dtype)  # warm-up
    batched, times, res = best_of(
        args.repeat, lambda: analysis.basins(land, SPECS, grid, args.steps, dtype=dtype)
    )
    n_runs = len(SPECS) * args.grid**2
    starts = analysis.start_grid(land.domain, grid)[2]
    loop_total, diffs = 0.0, []
    for i, (name, hp) in enumerate(SPECS):
        picks = rng.choice(len(starts), size=args.sample, replace=False)
        elapsed, finals = loop_time(land.fn, [(name, hp, starts[j]) for j in picks], args.steps)
        loop_total += elapsed * len(starts) / args.sample
        ends = res.end[i].reshape(-1, 2)[picks]
        with np.errstate(invalid="ignore"):
            diffs.extend(np.abs(np.array(finals) - ends).max(-1))
    print(
        f"basin map {args.grid}x{args.grid} x {len(SPECS)} optimizers x {args.steps} steps "
        f"({n_runs} runs):"
    )
    print(
        f"  batched  {batched:8.3f} s (best of {args.repeat}: "
        f"{', '.join(f'{t:.3f}' for t in times)})   target <= 3 s"
    )
    print(
        f"  loop     {loop_total:8.1f} s (torch.optim, {args.sample * len(SPECS)} runs sampled, "
        "scaled)"
    )
    print(f"  speed-up {loop_total / batched:8.0f}x   target >= 100x")
    d = np.array(diffs)
    d = d[np.isfinite(d)]
    print(f"  |batched - loop| final points: max {d.max():.1e} over {d.size} sampled runs")
    labels, counts = np.unique(res.label, return_counts=True)
    print(f"  labels: {dict(zip(labels.tolist(), counts.tolist(), strict=True))}")

    # 2. learning-rate sweep
    quad = landscapes.get("quadratic")
    lrs = analysis.log_lrs(1e-4, 1.0, args.lrs)
    specs = [(n, {k: v for k, v in hp.items() if k != "lr"}) for n, hp in SPECS]
    analysis.lr_sweep(quad, specs, None, lrs[:4], 5, dtype=dtype)  # warm-up
    batched, times, sweep = best_of(
        args.repeat, lambda: analysis.lr_sweep(quad, specs, None, lrs, args.steps, dtype=dtype)
    )
    loop_total, diffs = 0.0, {}
    for i, (name, hp) in enumerate(specs):
        picks = rng.choice(lrs.size, size=min(args.sample, lrs.size), replace=False)
        runs = [(name, {**hp, "lr": float(lrs[j])}, quad.start) for j in picks]
        elapsed, finals = loop_time(quad.fn, runs, args.steps)
        loop_total += elapsed * lrs.size / len(picks)
        ok = ~sweep.diverged[i, picks]  # diverged runs differ only in how far they blew up
        with np.errstate(invalid="ignore", over="ignore"):
            diffs[name] = np.abs(np.array(finals) - sweep.final_position[i, picks]).max(-1)[ok]
    print(
        f"lr sweep {args.lrs} lrs x {len(SPECS)} optimizers x {args.steps} steps "
        f"({args.lrs * len(SPECS)} runs):"
    )
    print(
        f"  batched  {batched:8.3f} s (best of {args.repeat}: "
        f"{', '.join(f'{t:.3f}' for t in times)})   target <= 0.5 s"
    )
    print(f"  loop     {loop_total:8.1f} s (torch.optim, sampled and scaled)")
    print(f"  speed-up {loop_total / batched:8.0f}x   target >= 100x")
    print(
        "  |batched - loop| final points, max per optimizer over its sampled stable runs: "
        + ", ".join(f"{n} {d.max():.1e} ({d.size})" for n, d in diffs.items() if d.size)
    )
    print(
        "  (a run that keeps bouncing, as RMSprop does at large learning rates here, amplifies "
        "rounding step by step: torch.optim's fused addcdiv rounds unlike our separate operations)"
    )
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
