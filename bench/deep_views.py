"""First computation of each deep-learning view with its default settings, cold and warm.

Each view runs in a fresh Python process (imports done before the clock starts): "cold" is the
first call in that process (first-call costs of torch.func included), "warm" the median of the
next calls of the same computation. Torch keeps its default intra-op thread count (as the app);
the studies switch to one thread for their small kernels themselves.

Views and their defaults:
- gradients: 10-layer sigmoid MLP (width 32, PyTorch init) on moons (600 samples), SGD lr 0.1
  and Adam lr 0.01, 200 steps of batch 64, per-layer gradient norms every 2 steps.
- eos: tanh MLP 2-32-32-2 on 100 moons, MSE, full-batch GD lr 0.3, 600 steps, lambda_max every
  10 steps (61 batched Lanczos runs of 20 steps).
- boundary: decision regions of 4 runs at one step on a 101 x 101 grid (moons, MLP 64-32); and
  the whole timeline (101 recorded steps) at 51 x 51.
- batch: moons MLP 64-32, SGD lr 0.1, batch sizes 8, 32, 128, 5 epochs, gradient noise at the
  start and end of each run.
- digits: CNN (8, 16) on digits at one step: validation confusion matrix, misclassified
  samples, first-layer filters (the training is the network page's own, timed apart).
- upload: validate and load a 1.9 MB CSV (20 000 rows x 10 columns).

    python bench/deep_views.py [--repeat 3] [--view NAME]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

VIEWS = ("gradients", "eos", "boundary", "boundary_timeline", "batch", "digits", "upload")


def setup(view: str) -> Callable[[], object]:
    """The view's computation as a no-argument function (data and models prepared here)."""
    import numpy as np
    import torch.nn.functional as F

    import landscapes.network as nw
    from landscapes.network import predictions as pr

    if view == "gradients":
        from landscapes.network.deep import build_deep_mlp
        from studies.gradient_flow import gradient_flow

        data = nw.load_dataset("moons", n_samples=600)
        model = build_deep_mlp(data, depth=10, width=32, activation="sigmoid")
        specs = [("sgd", {"lr": 0.1}), ("adam", {"lr": 0.01})]
        return lambda: gradient_flow(
            model, F.cross_entropy, data, specs, steps=200, batch_size=64, record_every=2
        )
    if view == "eos":
        from studies.edge_of_stability import edge_of_stability, eos_model, one_hot_mse, subset

        data = subset(nw.load_dataset("moons", n_samples=400), 100)
        model = eos_model(data)
        return lambda: edge_of_stability(
            model, one_hot_mse, data, lr=0.3, steps=600, sharpness_every=10
        )
    if view in ("boundary", "boundary_timeline", "digits"):
        from studies.training import train

        name, kind = ("digits", "cnn") if view == "digits" else ("moons", "mlp")
        data = nw.load_dataset(name)
        model = nw.build_model(kind, data, seed=0)
        specs = [
            ("sgd", {"lr": 0.1}),
            ("momentum", {"lr": 0.05}),
            ("adam", {"lr": 0.01}),
            ("rmsprop", {"lr": 0.003}),
        ]
        t = time.perf_counter()
        res = train(model, F.cross_entropy, data, specs, steps=200, batch_size=64, record_every=2)
        print(f"  (the page's training for {view}: {time.perf_counter() - t:.2f} s)")
        if view == "boundary":
            return lambda: pr.decision_grid(model, res.params[:, -1], data, resolution=101)
        if view == "boundary_timeline":
            return lambda: pr.decision_grid(model, res.params, data, resolution=51)
        params = res.params[0, -1]

        def digits_view():
            return (
                pr.confusion_matrix(model, params, data.x_val, data.y_val, 10),
                pr.misclassified(model, params, data.x_val, data.y_val),
                pr.first_layer_filters(model, params),
            )

        return digits_view
    if view == "batch":
        from studies.batch_size import batch_size_study

        data = nw.load_dataset("moons", n_samples=600)
        model = nw.build_model("mlp", data, seed=0)
        return lambda: batch_size_study(model, F.cross_entropy, data, (8, 32, 128), epochs=5)
    if view == "upload":
        from landscapes.network.upload import load_csv

        rng = np.random.default_rng(0)
        x = rng.normal(size=(20_000, 9))
        lines = [",".join(f"f{i}" for i in range(9)) + ",label"]
        lines += [",".join(f"{v:.6f}" for v in row) + f",c{k % 5}" for k, row in enumerate(x)]
        blob = ("\n".join(lines) + "\n").encode()
        print(f"  (file: {len(blob) / 1e6:.2f} MB)")
        return lambda: load_csv(blob)
    raise ValueError(f"unknown view {view!r}")


def run_view(view: str, repeat: int) -> None:
    fn = setup(view)
    t = time.perf_counter()
    fn()
    cold = time.perf_counter() - t
    warm = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - t)
    print(f"RESULT {view} cold {cold:.2f} warm {statistics.median(warm):.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--view", choices=VIEWS)
    args = parser.parse_args()
    if args.view:
        run_view(args.view, args.repeat)
        return
    import os

    print(f"load average at start: {os.getloadavg()[0]:.1f} (2 cores)")
    rows = []
    for view in VIEWS:
        print(f"{view}:", flush=True)
        out = subprocess.run(
            [sys.executable, __file__, "--view", view, "--repeat", str(args.repeat)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for line in out.splitlines():
            if line.startswith("RESULT"):
                rows.append(line.split()[1:])
            else:
                print(line)
    print(f"\n{'view':<20}{'cold s':>8}{'warm s':>8}")
    for view, _, cold, _, warm in rows:
        print(f"{view:<20}{cold:>8}{warm:>8}")


if __name__ == "__main__":
    main()
