"""Each optimizer's cost per step on the basin workload, side by side with Adam.

The basin map's computation: 100 x 100 start points on Himmelblau, 300 steps, one batched
``optimizers.simulate`` call per optimizer (record="final", as ``analysis.basins`` runs it).
For every registered optimizer (or those named) it prints the wall time, the time per step
(all 10 000 runs together), Adam's time measured alternately with it (so that both see the same
load on a shared machine) and the ratio, the cost model's
estimate (``optimizers.cost``) and the evaluations per run (SAM's second gradient, Sophia's
Hessian estimates).

    python bench/optimizer_cost.py [--grid 100] [--steps 300] [--repeat 3] [--device cpu]
                                   [names ...]

Times are the best of ``--repeat`` runs; on a shared machine run it when the load is low.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import landscapes
import optimizers
from optimizers import cost

# settings that keep each optimizer on the surface (the defaults where they do)
SETTINGS: dict[str, dict] = {
    "gd": {"lr": 0.01},
    "sgd": {"lr": 0.01, "noise": 0.0},
    "momentum": {"lr": 0.005},
    "nesterov": {"lr": 0.005},
    "adam": {"lr": 0.05},
    "asgd": {"lr": 0.01},
    "sam": {"lr": 0.01},
    "schedulefree_sgd": {"lr": 0.01},
    "rprop": {"lr": 0.01},
    "lion": {"lr": 0.01},
    "muon": {"lr": 0.05},
}


def timed(land, spec, starts: np.ndarray, steps: int, repeat: int, device: str):
    """Best of ``repeat`` runs of ``spec`` and of Adam, interleaved (Adam, spec, Adam, ...) so
    that both see the same load: (seconds, Adam's seconds, the spec's result)."""
    best, adam, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        for which in ("adam", "spec"):
            t0 = time.perf_counter()
            r = optimizers.simulate(
                land,
                [("adam", SETTINGS["adam"]) if which == "adam" else spec],
                starts=starts,
                steps=steps,
                record="final",
                device=device,
            )
            seconds = time.perf_counter() - t0
            if which == "adam":
                adam = min(adam, seconds)
            else:
                best, result = min(best, seconds), r
    return best, adam, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="optimizers (default: all registered)")
    parser.add_argument("--grid", type=int, default=100)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    land = landscapes.get("himmelblau")
    (x0, x1), (y0, y1) = land.domain
    xs, ys = np.linspace(x0, x1, args.grid), np.linspace(y0, y1, args.grid)
    starts = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)
    names = args.names or optimizers.available()
    print(
        f"basin workload: {len(starts)} starts x {args.steps} steps on {land.name}, "
        f"device {args.device}, best of {args.repeat}"
    )
    header = (
        f"{'optimizer':<20}{'seconds':>9}{'ms/step':>9}{'Adam s':>8}{'x Adam':>8}{'model s':>9}"
        f"{'grads/run':>10}{'hess/run':>9}"
    )
    print(header)
    print("-" * len(header))
    for name in names:
        spec = (name, SETTINGS.get(name, {}))
        seconds, adam_s, r = timed(land, spec, starts, args.steps, args.repeat, args.device)
        model = cost.simulate_seconds(land, [spec], len(starts), args.steps, record="final")
        grads = float(r.evaluations["gradient"].mean())
        hess = float(r.evaluations["hessian"].mean())
        print(
            f"{name:<20}{seconds:>9.2f}{1e3 * seconds / args.steps:>9.2f}{adam_s:>8.2f}"
            f"{seconds / adam_s:>8.2f}{model:>9.2f}{grads:>10.0f}{hess:>9.1f}"
        )


if __name__ == "__main__":
    main()
