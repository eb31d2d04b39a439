"""Hyperparameter-search workload: searchers x 50 trials x 300 steps on a 2-D surface.

Adam on Rosenbrock from (-1.5, 2), 300 steps; space lr in [1e-4, 1] (log) x beta1 in [0, 0.99].
Target (issue 7): the four searchers grid, random, TPE and CMA-ES, 50 trials each, <= 5 s.

    python bench/search.py [--budget 50] [--steps 300] [--batch 1] [--resolution 41] [--threads N]

``--threads N`` sets torch's intra-op threads first (default: torch's own choice). On a loaded
2-core machine 1 thread was ~4x faster for the dense map (1712 runs) than torch's default 2.

Prints, side by side:
- the cold start (first search in the process: imports, torch and the GP's first fit);
- the dense map (resolution^2 runs in one simulate call);
- each searcher alone (``run_search``): wall time, simulate calls, time inside simulate;
- the lockstep runs (``run_searches``): the issue's four (TPE sequential, then batched 5 at a
  time), all six, and all six with TPE/GP batched 5 at a time; and the per-trial baseline (one simulate call per trial, estimated from
  the mean time of a one-run call), with the ratio;
- the default network problem (``tuning.NetworkProblem()``): its 15 x 15 dense map and the four
  searchers x 20 trials in lockstep.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from studies import tuning

FOUR = ("grid", "random", "tpe", "cmaes")


class Meter:
    """Counts the batched evaluations (simulate calls) and the time spent in them."""

    def __init__(self) -> None:
        self.calls, self.seconds = 0, 0.0
        self._evaluate = tuning.Problem.evaluate
        meter = self

        def evaluate(problem, space, lrs, values):
            t = time.perf_counter()
            try:
                return meter._evaluate(problem, space, lrs, values)
            finally:
                meter.calls += 1
                meter.seconds += time.perf_counter() - t

        tuning.Problem.evaluate = evaluate

    def reset(self) -> None:
        self.calls, self.seconds = 0, 0.0


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=50)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--resolution", type=int, default=41)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    problem = tuning.Problem("rosenbrock", (), "adam", (), None, args.steps, 0)
    space = tuning.SearchSpace((1e-4, 1.0), "beta1", (0.0, 0.99))
    meter = Meter()
    print(f"problem: {problem.objective_text()}")
    print(f"torch threads: {torch.get_num_threads()}")
    print(f"space: lr {space.lr} (log) x {space.param} {space.param_range}; budget {args.budget}")

    cold, _ = timed(tuning.run_searches, problem, space, ["tpe", "gp"], 12, 99)
    print(f"\ncold start (imports, first GP fit; 12 TPE + 12 GP trials): {cold:6.2f} s")

    meter.reset()
    t_dense, dense = timed(tuning.dense_objective, problem, space, args.resolution)
    print(
        f"dense map {args.resolution} x {args.resolution} = {args.resolution**2} runs, "
        f"{meter.calls} simulate call: {t_dense:6.2f} s"
    )
    top5 = float(np.percentile(dense.values, 5))

    print(f"\neach searcher alone (batch {args.batch} for TPE and GP):")
    print(f"{'searcher':8} {'wall s':>7} {'calls':>6} {'in sim s':>9} {'best':>7} {'top 5 %':>8}")
    alone = {}
    for s in tuning.SEARCHERS:
        meter.reset()
        t, r = timed(tuning.run_search, problem, space, s, args.budget, args.seed, args.batch)
        alone[s] = t
        print(
            f"{s:8} {t:7.2f} {meter.calls:6d} {meter.seconds:9.2f} {r.best_value:7.2f} "
            f"{'yes' if r.best_value <= top5 else 'no':>8}"
        )

    print("\nlockstep (one simulate call per round for all searchers):")
    rows = [
        ("the four: " + ", ".join(FOUR), FOUR, args.batch),
        ("the four, TPE batch 5", FOUR, 5),
        ("all six", tuning.SEARCHERS, args.batch),
        ("all six, TPE/GP batch 5", tuning.SEARCHERS, 5),
    ]
    for label, searchers, batch in rows:
        meter.reset()
        t, _ = timed(tuning.run_searches, problem, space, searchers, args.budget, args.seed, batch)
        summed = sum(alone[s] for s in searchers)
        print(
            f"{label:44} {t:6.2f} s  ({meter.calls} simulate calls, {meter.seconds:5.2f} s in "
            f"them; searchers alone, summed: {summed:6.2f} s, ratio {summed / t:4.1f}x)"
        )

    meter.reset()
    one = [timed(problem.evaluate, space, np.array([1e-2]), np.array([0.9]))[0] for _ in range(5)]
    per_trial = float(np.median(one))
    n_trials = sum(min(args.budget, 49 if s == "grid" else args.budget) for s in FOUR)
    meter.reset()
    t_four, _ = timed(tuning.run_searches, problem, space, FOUR, args.budget, args.seed, args.batch)
    baseline = n_trials * per_trial
    print(
        f"\nper-trial baseline for the four ({n_trials} trials x {per_trial * 1000:.0f} ms per "
        f"one-run simulate call, samplers excluded): {baseline:6.2f} s vs lockstep {t_four:6.2f} s "
        f"-> {baseline / t_four:4.1f}x"
    )
    print(f"target: the four <= 5 s: {'met' if t_four <= 5 else 'NOT met'} ({t_four:.2f} s)")

    # the network problem: MLP 2-16-16-2 on moons (300 samples), 100 full-batch steps of Adam
    net = tuning.NetworkProblem()
    net_space = tuning.SearchSpace.default_for(net.optimizer)
    net.setup()  # data set and model built once (cached), not timed
    t_nd, _ = timed(tuning.dense_objective, net, net_space, 15)
    t_ns, _ = timed(tuning.run_searches, net, net_space, FOUR, 20, args.seed, args.batch)
    print(
        f"\nnetwork problem ({net.describe()}, {net.steps} steps): dense map 15 x 15 = 225 "
        f"trainings in one call {t_nd:6.2f} s; the four x 20 trials, lockstep {t_ns:6.2f} s"
    )


if __name__ == "__main__":
    main()
