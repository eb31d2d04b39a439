"""Research scale: a 51 x 51 loss surface of a small ResNet, in one process and on a local Dask
cluster, in one run.

Workload: ``small_resnet`` (He et al. 2016's CIFAR ResNet, 3 stages of ``--blocks`` basic blocks,
widths ``--widths``; the default is a narrow ResNet-8) on ``--samples`` synthetic 32 x 32 RGB
images of 10 classes (a fixed random template per class plus Gaussian noise, seeded), batch-norm
running statistics from a few forward passes over the data, a filter-normalised random plane
(Li et al. 2018), full-data cross-entropy at every grid point (batch_norm="eval").

- one process: ``loss_surface(...)`` with torch set to ``--threads`` intra-op threads (default 1:
  on a shared machine torch's OpenMP threads lose badly to other processes on the vmap path
  this model takes; ``--threads 1,2`` times both);
- cluster: ``distributed.LocalCluster(n_workers=--workers, threads_per_worker=1,
  processes=True)`` and ``loss_surface(..., executor=client.get_executor())``: the grid is cut
  into pieces (default 4 per worker), each task receives the pickled job (model, plane basis,
  data, loss) and its plane coordinates. The workers start without Dask's
  ``MALLOC_TRIM_THRESHOLD_=65536`` (glibc then hands every freed block back to the system and
  torch's temporaries page-fault afresh); ``--dask-malloc-trim`` also times a cluster with it.
  The cluster's start and a 3 x 3 warm-up (the workers import torch and the engine) are timed
  apart from the surface; so is a 3 x 3 warm-up of the single process.

It prints the timings, the ratios and the largest absolute difference between the surfaces.
On a machine with few cores a cluster of processes on the same cores cannot be faster than one
process using them well: there the figures that count are the difference (float rounding) and
the overhead; the speed-up is for clusters with more cores or more machines.

    python bench/executor_surface.py [--resolution 51] [--samples 16] [--widths 8,16,32]
                                     [--blocks 1] [--workers 2] [--pieces N] [--threads 1,2]
                                     [--dask-malloc-trim]
"""

from __future__ import annotations

import argparse
import logging
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

import landscapes.network as nw


def synthetic_images(n: int, n_classes: int = 10, seed: int = 0):
    """``n`` images (3, 32, 32): a per-class random template plus unit Gaussian noise."""
    gen = torch.Generator().manual_seed(seed)
    templates = torch.randn(n_classes, 3, 32, 32, generator=gen)
    y = torch.arange(n) % n_classes
    x = templates[y] + torch.randn(n, 3, 32, 32, generator=gen)
    return x, y


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def with_threads(n: int, fn):
    saved = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        return fn()
    finally:
        torch.set_num_threads(saved)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resolution", type=int, default=51)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--widths", default="8,16,32")
    parser.add_argument("--blocks", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pieces", type=int, default=None)
    parser.add_argument(
        "--threads",
        default="1",
        help="torch thread counts of the one-process runs, e.g. 1,2 (the first is the baseline)",
    )
    parser.add_argument(
        "--dask-malloc-trim",
        action="store_true",
        help="also run the cluster with Dask's default MALLOC_TRIM_THRESHOLD_=65536",
    )
    args = parser.parse_args()

    widths = tuple(int(w) for w in args.widths.split(","))
    x, y = synthetic_images(args.samples)
    model = nw.small_resnet(3, 10, widths=widths, blocks=args.blocks, seed=0)
    with torch.no_grad():  # running statistics of the data for batch_norm="eval"
        model.train()
        for _ in range(5):
            model(x)
    model.eval()
    d1, d2 = nw.random_directions(model, seed=0)
    n_params = nw.param_spec(model).size
    r = args.resolution

    def surface_at(resolution: int, **kw):
        return nw.loss_surface(model, F.cross_entropy, x, y, (d1, d2), resolution=resolution, **kw)

    print(
        f"small ResNet (widths {widths}, {args.blocks} block(s) per stage, {n_params} "
        f"parameters), {args.samples} synthetic 32x32 images, {r}x{r} grid = {r * r} points; "
        f"{os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    one: dict[int, tuple[float, np.ndarray]] = {}
    for n in (int(t) for t in args.threads.split(",")):
        warm, _ = timed(lambda n=n: with_threads(n, lambda: surface_at(3)))
        one[n] = timed(lambda n=n: with_threads(n, lambda: surface_at(r)))
        print(
            f"one process, {n} torch thread(s): {one[n][0]:8.2f} s (3x3 warm-up {warm:.1f} s "
            "not included)",
            flush=True,
        )
    trims = ["unset", "dask"] if args.dask_malloc_trim else ["unset"]
    cluster = {}
    for trim in trims:
        cluster[trim] = cluster_surface(args, surface_at, trim)
        t, _, pieces, t_start, t_warm = cluster[trim]
        what = "unset" if trim == "unset" else "as Dask sets it (65536)"
        print(
            f"local Dask cluster, {args.workers} workers x 1 thread, MALLOC_TRIM_THRESHOLD_ "
            f"{what}: {t:8.2f} s ({pieces} pieces; cluster start {t_start:.1f} s and 3x3 "
            f"warm-up {t_warm:.1f} s not included)",
            flush=True,
        )
    base_threads = next(iter(one))
    z_base = one[base_threads][1]
    t_cluster, z_cluster = cluster["unset"][:2]
    ratios = [
        f"one process ({n} thread(s)) / cluster: {t / t_cluster:.2f}x" for n, (t, _) in one.items()
    ]
    if "dask" in cluster:
        ratios.append(
            f"cluster with Dask's MALLOC_TRIM_THRESHOLD_ / without: {cluster['dask'][0] / t_cluster:.2f}x"
        )
    print("ratios: " + "; ".join(ratios))
    diffs = [
        f"{name} {float(np.abs(z - z_base).max()):.3g}"
        for name, z in [("cluster", z_cluster)]
        + [("cluster, Dask's trim", cluster["dask"][1])] * ("dask" in cluster)
        + [(f"one process, {n} threads", z) for n, (_, z) in one.items() if n != base_threads]
    ]
    print(
        f"max |Z - Z_one process, {base_threads} thread(s)|: " + ", ".join(diffs) + f" (surface "
        f"values {z_base.min():.3g} to {z_base.max():.3g}, float32); load average now "
        f"{os.getloadavg()[0]:.1f}"
    )


def cluster_surface(args, surface_at, trim: str):
    """(seconds, Z, pieces, cluster start seconds, warm-up seconds) on a fresh local cluster;
    ``trim`` "unset" removes Dask's MALLOC_TRIM_THRESHOLD_ from the workers' environment."""
    import dask
    from distributed import Client, LocalCluster

    key = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"
    config = {key: None} if trim == "unset" else {}
    t0 = time.perf_counter()
    with (
        dask.config.set(config),
        LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        t_start = time.perf_counter() - t0
        executor = client.get_executor()
        t_warm, _ = timed(lambda: surface_at(3, executor=executor))
        done: list[float] = []
        t, z = timed(
            lambda: surface_at(
                args.resolution, executor=executor, pieces=args.pieces, progress=done.append
            )
        )
    return t, z, len(done), t_start, t_warm


if __name__ == "__main__":
    main()
