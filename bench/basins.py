"""Basin-of-attraction workload: batched engine against the usual torch.optim loop, side by side.

100 x 100 start points x 6 optimizers (sgd, momentum, nesterov, rmsprop, adam, adagrad) x 300 steps
on Himmelblau. The batched run is one ``optimizers.simulate`` call (record="final"). The baseline
is what a script would do: for each start, a 2-element tensor and a torch.optim optimizer, stepped
300 times; a random sample of starts is timed per optimizer and scaled to the full grid.

    python bench/basins.py [--grid 100] [--steps 300] [--sample 40] [--device cpu] [--repeat 3]

Prints wall times, the ratio, and the largest difference between the batched and the looped
final points of the sampled runs (they must agree: same algorithm, same float64 arithmetic).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import landscapes
import optimizers

SPECS = [
    ("sgd", {"lr": 0.01, "noise": 0.0}),
    ("momentum", {"lr": 0.005, "momentum": 0.9}),
    ("nesterov", {"lr": 0.005, "momentum": 0.9}),
    ("rmsprop", {"lr": 0.01}),
    ("adam", {"lr": 0.05}),
    ("adagrad", {"lr": 0.5}),
]


def torch_optim(name: str, hp: dict, x: torch.Tensor) -> torch.optim.Optimizer:
    """The torch.optim optimizer that reproduces the engine's ``name`` (gd is SGD, momentum 0)."""
    lr = hp["lr"]
    if name in ("gd", "sgd", "momentum", "nesterov"):
        return torch.optim.SGD(
            [x], lr=lr, momentum=hp.get("momentum", 0.0), nesterov=name == "nesterov"
        )
    return {
        "rmsprop": torch.optim.RMSprop,
        "adam": torch.optim.Adam,
        "adagrad": torch.optim.Adagrad,
    }[name]([x], lr=lr)


def loop_run(fn, name: str, hp: dict, start: np.ndarray, steps: int) -> np.ndarray:
    x = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = torch_optim(name, hp, x)
    for _ in range(steps):
        opt.zero_grad()
        fn(x).backward()
        opt.step()
    return x.detach().numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=100)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--sample", type=int, default=40, help="looped starts per optimizer")
    parser.add_argument("--device", default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    land = landscapes.get("himmelblau")
    (x0, x1), (y0, y1) = land.domain
    xs, ys = np.linspace(x0, x1, args.grid), np.linspace(y0, y1, args.grid)
    starts = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)
    n_runs = len(SPECS) * len(starts)
    device = optimizers.resolve_device(args.device)
    print(
        f"workload: {args.grid}x{args.grid} starts x {len(SPECS)} optimizers x {args.steps} steps "
        f"on {land.name} = {n_runs} runs; torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, device {optimizers.describe(device)}"
    )

    optimizers.simulate(land, SPECS, starts[:16], steps=5, device=device, record="final")  # warm-up
    times = []
    for _ in range(args.repeat):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        result = optimizers.simulate(
            land, SPECS, starts, steps=args.steps, device=device, record="final"
        )
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    batched = min(times)
    print(
        f"batched simulate:  {batched:8.3f} s  (best of {args.repeat}: "
        f"{', '.join(f'{t:.3f}' for t in times)})"
    )

    rng = np.random.default_rng(0)
    loop_total, diffs = 0.0, []
    for i, (name, hp) in enumerate(SPECS):
        picks = rng.choice(len(starts), size=args.sample, replace=False)
        t = time.perf_counter()
        finals = [loop_run(land.fn, name, hp, starts[j], args.steps) for j in picks]
        elapsed = time.perf_counter() - t
        loop_total += elapsed * len(starts) / args.sample
        with np.errstate(invalid="ignore"):
            diff = np.abs(np.array(finals) - result.final_positions[i, picks]).max(-1)
        diffs.extend(diff[np.isfinite(diff)])
        print(
            f"  loop {name:9s} {args.sample} starts in {elapsed:6.3f} s "
            f"-> {elapsed * len(starts) / args.sample:8.1f} s for {len(starts)}"
        )
    print(
        f"torch.optim loop:  {loop_total:8.1f} s  (sampled {args.sample * len(SPECS)} runs, scaled)"
    )
    print(f"speed-up:          {loop_total / batched:8.0f}x")
    diffs = np.array(diffs)
    print(
        f"|batched - loop| over the sampled final points: median {np.median(diffs):.1e}, "
        f"max {diffs.max():.1e}, {(diffs < 1e-9).sum()}/{diffs.size} below 1e-9 "
        "(runs that ride a ridge amplify rounding)"
    )
    counts = {s: int((result.status == s).sum()) for s in optimizers.STATUSES}
    print(f"statuses: {counts}")


if __name__ == "__main__":
    main()
