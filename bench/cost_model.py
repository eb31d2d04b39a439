"""The cost model against the clock: predicted and measured seconds of representative workloads,
side by side with their ratio, then the two costly links of issue 13 before and after the budget.

    python bench/cost_model.py [--limit 110] [--skip-links] [--skip-workloads]

Workloads go through the engine directly (``optimizers.simulate``, ``analysis.basins``,
``lr_sweep``, ``studies.training.train``, ``loss_surface``, ``hessian_eigenpairs``); predictions
come from ``optimizers.cost`` and ``landscapes.network.cost``. A ratio above 1 means the model
over-estimates (the safe side). The links are opened as pages (AppTest, in a child process so a
run over ``--limit`` seconds can be stopped): "before" with an unlimited budget, "after" with the
default one (``OPTISCAPE_BUDGET_S`` unset: 10 s). Times include the page's first run (imports).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

import landscapes
import landscapes.network as nw
import optimizers
from app import search_compute
from app.search_state import SearchState
from landscapes.network import cost as ncost
from optimizers import cost
from studies import analysis, tuning
from studies.training import train

ROOT = Path(__file__).resolve().parent.parent
LINKS = {
    "basins": (
        "views/basins.py",
        "v=1&grid=200&steps=5000&o=newton&o=bfgs&o=lbfgs&o=adam&o=nadam&o=radam&o=adamw&o=rmsprop",
    ),
    "network": (
        "views/network.py",
        "v=1&data=digits&model=cnn&steps=2000&bs=0&rec=1&res=51&plane=hessian&n=2000"
        "&o=adam&o=nadam&o=radam&o=rmsprop",
    ),
}
PAGE = """
import sys, time
from urllib.parse import parse_qs
sys.path.insert(0, {root!r})
from tests.apptest_helpers import open_page
query = {{k: v if len(v) > 1 else v[0] for k, v in parse_qs({query!r}).items()}}
t0 = time.perf_counter()
open_page({page!r}, query)
print(f"{{time.perf_counter() - t0:.1f}}")
"""


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def workloads() -> list[tuple[str, float, object]]:
    """(name, predicted seconds, the work) for each representative workload."""
    rosen, himmel = landscapes.get("rosenbrock"), landscapes.get("himmelblau")
    race = ["gd", "momentum", "adam", "newton"]
    eight = ["newton", "bfgs", "lbfgs", "adam", "nadam", "radam", "adamw", "rmsprop"]
    out = [
        (
            "explorer: 4 optimizers x 500 steps",
            cost.simulate_seconds(rosen, race, 1, 500),
            lambda: optimizers.simulate(rosen, race, None, 500),
        ),
        (
            "explorer: 8 optimizers x 2000 steps",
            cost.simulate_seconds(rosen, eight, 1, 2000),
            lambda: optimizers.simulate(rosen, eight, None, 2000),
        ),
        (
            "sweep: 4 optimizers x 80 lrs x 500 steps",
            cost.sweep_seconds(rosen, race, 80, 500),
            lambda: analysis.lr_sweep(rosen, race, None, analysis.log_lrs(1e-4, 1, 80), 500),
        ),
        (
            "basins: adam 100x100 x 300 steps",
            cost.basins_seconds(himmel, ["adam"], 100, 300),
            lambda: analysis.basins(himmel, ["adam"], (100, 100), 300),
        ),
        (
            "basins: newton 100x100 x 200 steps",
            cost.basins_seconds(rosen, ["newton"], 100, 200),
            lambda: analysis.basins(rosen, ["newton"], (100, 100), 200),
        ),
        (
            "basins: 8 optimizers 20x20 x 300 steps",
            cost.basins_seconds(rosen, eight, 20, 300),
            lambda: analysis.basins(rosen, eight, (20, 20), 300),
        ),
    ]
    ackley = landscapes.get("ackley")  # no closed-form derivatives: autograd
    out += [
        (
            "explorer: 8 optimizers x 500 steps, autograd",
            cost.simulate_seconds(ackley, eight, 1, 500),
            lambda: optimizers.simulate(ackley, eight, None, 500),
        ),
        (
            "basins: adam, newton 40x40 x 200 steps, autograd",
            cost.basins_seconds(ackley, ["adam", "newton"], 40, 200),
            lambda: analysis.basins(ackley, ["adam", "newton"], (40, 40), 200),
        ),
    ]
    search = SearchState()  # the search page's default: six searchers x 50 trials, 41x41 map
    out.append(
        (
            "search: default, 6 searchers x 50 trials",
            search_compute.seconds(search, search_compute.RESOLUTION),
            lambda: (
                tuning.dense_objective(search.problem(), search.space(), search_compute.RESOLUTION),
                tuning.run_searches(
                    search.problem(), search.space(), search.searchers, search.budget, 0, 1
                ),
            ),
        )
    )
    loss = torch.nn.CrossEntropyLoss()
    specs = [("adam", {"lr": 0.01}), ("sgd", {"lr": 0.1}), ("rmsprop", {"lr": 0.01})]
    for data, kind, bs, steps in (("moons", "mlp", 64, 200), ("digits", "cnn", None, 20)):
        ds = nw.load_dataset(data, n_samples=600, seed=0)
        model = nw.build_model(kind, ds, seed=0)
        macs = ncost.forward_macs(model, ds.input_shape)
        n_params = sum(p.numel() for p in model.parameters())
        n_train, n_val = int(ds.y_train.shape[0]), int(ds.y_val.shape[0])
        d1, d2 = nw.random_directions(model, seed=0)
        out += [
            (
                f"network: {data} {kind} 3 optimizers x {steps} steps",
                ncost.training_seconds(
                    macs,
                    n_params,
                    runs=3,
                    steps=steps,
                    batch=bs or n_train,
                    n_train=n_train,
                    n_val=n_val,
                ),
                lambda m=model, d=ds, b=bs, s=steps: train(
                    m, loss, d, specs, steps=s, batch_size=b
                ),
            ),
            (
                f"network: {data} {kind} surface 31x31",
                ncost.evaluation_seconds(macs, 31 * 31, n_train),
                lambda m=model, d=ds, a=d1, b=d2: nw.loss_surface(
                    m, loss, d.x_train, d.y_train, (a, b), resolution=31
                ),
            ),
            (
                f"network: {data} {kind} Lanczos 30",
                ncost.lanczos_seconds(macs, n_train, 30),
                lambda m=model, d=ds: nw.hessian_eigenpairs(
                    m, loss, d.x_train, d.y_train, k=2, iters=30, tol=0.0
                ),
            ),
        ]
    return out


def page_time(page: str, query: str, budget: str | None, limit: float) -> str:
    """Wall seconds of opening ``page`` on ``query`` (a child process), or why not."""
    env = {k: v for k, v in os.environ.items() if k != "OPTISCAPE_BUDGET_S"}
    if budget is not None:
        env["OPTISCAPE_BUDGET_S"] = budget
    code = PAGE.format(root=str(ROOT), page=page, query=query)
    t0 = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            capture_output=True,
            text=True,
            timeout=limit,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        return f"> {limit:.0f} s"
    if done.returncode:
        return f"failed: {done.stderr.strip().splitlines()[-1:]}"
    return f"{time.perf_counter() - t0:.1f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, default=110.0, help="seconds before stopping")
    parser.add_argument("--skip-links", action="store_true")
    parser.add_argument("--skip-workloads", action="store_true")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cores")
    print("load average at the start: " + ", ".join(f"{v:.2f}" for v in os.getloadavg()))
    if not args.skip_workloads:
        print(f"\n{'workload':48s} {'predicted':>10s} {'measured':>10s} {'ratio':>7s}")
        for name, predicted, work in workloads():
            measured = timed(work)
            print(f"{name:48s} {predicted:9.2f}s {measured:9.2f}s {predicted / measured:7.2f}")
    if not args.skip_links:
        print(f"\n{'link':10s} {'before (no budget)':>22s} {'after (10 s budget)':>22s}")
        for name, (page, query) in LINKS.items():
            before = page_time(page, query, "1e9", args.limit)
            after = page_time(page, query, None, args.limit)
            print(f"{name:10s} {before:>22s} {after:>22s}")
    print("load average at the end: " + ", ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
