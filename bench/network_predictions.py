"""The network page's prediction views with the page's default settings: seconds and bytes.

For each view, the training the page runs first (timed apart), then the view's own computation
cold (first call in this process) and warm (median of the next calls), and the bytes of the
figure the browser receives:

- regions: the default moons view (MLP 64-32, four optimizers, 200 steps, every 2nd step
  recorded): every run's decision regions at the plane's animation frames (80 recorded points)
  on the page's 41 x 41 grid, in one batched engine call; the figure with its frames;
- digits: the digits view (MLP 64-32 and the CNN, four optimizers, the budget's 100 steps) at its
  last recorded point: confusion matrix, misclassified images, first-layer filters; the figures;
- upload: the example CSV (circles, 600 rows) read by ``csv_columns`` and ``load_csv``.

    python bench/network_predictions.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float, object]:
    t = time.perf_counter()
    out = fn()
    cold = time.perf_counter() - t
    warm = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - t)
    return cold, statistics.median(warm), out


def trained(state):
    import torch.nn.functional as F

    import landscapes.network as nw
    from studies.training import train

    data = nw.load_dataset(state.dataset, n_samples=state.samples, noise=state.noise, seed=0)
    model = nw.build_model(state.model, data, widths=state.widths, seed=0)
    t = time.perf_counter()
    res = train(
        model,
        F.cross_entropy,
        data,
        [o.spec() for o in state.optimizers],
        steps=state.steps,
        batch_size=state.batch_size or None,
        seed=0,
        record_every=state.record_every,
    )
    print(f"  (training: {time.perf_counter() - t:.2f} s)")
    return model, data, res


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    import numpy as np

    from app.charts import network_predictions as pfig
    from app.network_compute import REGION_GRID
    from app.network_predictions import DigitsView, Regions, frame_indices
    from app.network_state import NetworkState
    from app.plotly_view import figure_bytes
    from landscapes.network import predictions as pr
    from landscapes.network.upload import csv_columns, dataset_csv, load_csv

    state = NetworkState()
    print(f"regions: {state.dataset}, {len(state.optimizers)} runs, {state.steps} steps")
    model, data, res = trained(state)
    frames = frame_indices(res.params.shape[1])
    cold, warm, grid = timed(
        lambda: pr.decision_grid(model, res.params[:, list(frames)], data, resolution=REGION_GRID),
        args.repeat,
    )
    regions = Regions(
        xs=grid.xs, ys=grid.ys, frames=frames,
        values=grid.probabilities[..., 1].swapaxes(0, 1), n_classes=2, class_names=("0", "1"),
        points=data.x_train.numpy(), classes=data.y_train.numpy(), feature_names=("x1", "x2"),
    )  # fmt: skip
    labels = [o.label for o in state.optimizers]
    t = time.perf_counter()
    spec = figure_bytes(pfig.regions_figure(regions, labels, [-1] * len(labels)))
    build = time.perf_counter() - t
    print(
        f"RESULT regions cold {cold:.2f} warm {warm:.2f} s ({len(frames)} frames x "
        f"{len(labels)} runs x {REGION_GRID}x{REGION_GRID}); figure {build:.2f} s, "
        f"{len(spec) / 1e3:.0f} kB"
    )

    for model_kind in ("mlp", "cnn"):
        state = NetworkState(dataset="digits", model=model_kind, steps=100)
        print(f"digits: {model_kind}, {len(state.optimizers)} runs, {state.steps} steps")
        model, data, res = trained(state)
        theta = res.params[0, -1]

        def view(model=model, data=data, theta=theta):
            return (
                pr.confusion_matrix(model, theta, data.x_val, data.y_val, 10),
                pr.misclassified(model, theta, data.x_val, data.y_val),
                pr.first_layer_filters(model, theta, tuple(data.input_shape)),
            )

        cold, warm, (conf, wrong, filters) = timed(view, args.repeat)
        images = data.x_val[wrong.indices[:24]].numpy().reshape(-1, 8, 8)
        shown = DigitsView(
            confusion=conf, n_wrong=len(wrong.indices), n_val=data.n_val, images=images,
            true=wrong.true[:24], predicted=wrong.predicted[:24],
            confidence=wrong.confidence[:24],
            filters=filters[:16].reshape(-1, *filters.shape[-2:]), conv=model_kind == "cnn",
        )  # fmt: skip
        names = [str(c) for c in range(10)]
        size = sum(
            len(figure_bytes(f))
            for f in (
                pfig.confusion_figure(shown, names),
                pfig.mistakes_figure(shown, names),
                pfig.filters_figure(shown),
            )
        )
        print(
            f"RESULT digits-{model_kind} cold {cold:.2f} warm {warm:.2f} s; figures {size / 1e3:.0f} kB"
        )

    import landscapes.network as nw

    blob = dataset_csv(nw.load_dataset("circles"))
    cold, warm, _ = timed(
        lambda: (csv_columns(blob), load_csv(blob, label_column="label")), args.repeat
    )
    print(f"RESULT upload cold {cold:.3f} warm {warm:.3f} s ({len(blob) / 1e3:.0f} kB example CSV)")
    assert np.isfinite(cold)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
