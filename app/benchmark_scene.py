"""The explorer scene the app's benchmarks and figure tests measure: the default scene widened to
six optimizers, every view on, at the last step (the heaviest page of the scene)."""

from __future__ import annotations

from .state import DEFAULT_OPTIMIZERS, AppState, OptimizerEntry

# Adam's learning rate is the fourth entry's
BENCHMARK_OPTIMIZERS: tuple[OptimizerEntry, ...] = (
    *DEFAULT_OPTIMIZERS[:2],
    OptimizerEntry.make("nesterov"),
    DEFAULT_OPTIMIZERS[2],
    OptimizerEntry.make("rmsprop"),
    DEFAULT_OPTIMIZERS[3],
)
BENCHMARK_STATE = AppState(
    optimizers=BENCHMARK_OPTIMIZERS, step=None, show_3d=True, show_arrows=True, show_curvature=True
)
