"""Optimizers as pure, batched update rules, learning-rate schedules, and the batched runner.

The package imports nothing from ``landscapes``: ``simulate`` takes any object with the
attributes of ``Objective`` (a ``landscapes.Landscape`` has them). The studies built on the
runner (sweeps, basins, stability theory, tuning, network training) are in ``studies``.

>>> import landscapes, optimizers
>>> result = optimizers.simulate(landscapes.get("himmelblau"),
...                              [("adam", {"lr": 0.1}), ("momentum", {"lr": 0.01})],
...                              starts=[[0.0, 0.0]], steps=300)
>>> result.status.tolist()
[['converged'], ['converged']]
"""

from . import adam, first_order, second_order  # noqa: F401  (registers the optimizers)

# isort: split
# registered after the classic set, so that it keeps its place in every list
from . import (  # noqa: F401
    adafactor,
    adam_variants,
    averaging,
    muon,
    prodigy,
    sam,
    sign_based,
    sophia,
)

# isort: split
from .base import (
    COMMON_HYPERPARAMS,
    HyperParam,
    Optimizer,
    Spec,
    StepCost,
    available,
    get,
    register,
)
from .device import default_device, describe, resolve_device
from .diagnostics import STATUSES, Diagnosis
from .runner import (
    Evaluations,
    Objective,
    ResolvedSpec,
    RunBatch,
    SimulationResult,
    SpecLike,
    expand_specs,
    simulate,
    spec_parts,
)
from .schedules import SCHEDULES, Schedule

__all__ = [
    "COMMON_HYPERPARAMS",
    "SCHEDULES",
    "STATUSES",
    "Diagnosis",
    "Evaluations",
    "HyperParam",
    "Objective",
    "Optimizer",
    "ResolvedSpec",
    "RunBatch",
    "Schedule",
    "SimulationResult",
    "Spec",
    "SpecLike",
    "StepCost",
    "available",
    "default_device",
    "describe",
    "expand_specs",
    "get",
    "register",
    "resolve_device",
    "simulate",
    "spec_parts",
]
