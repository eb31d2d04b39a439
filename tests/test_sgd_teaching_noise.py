"""SGD has torch's defaults (no gradient noise) in the engine; the explorer's teaching noise is an
explicit setting, and a v=1 link written when SGD's noise defaulted to 1 means what it meant."""

from __future__ import annotations

import numpy as np

import landscapes
import optimizers
from app import explorer_link
from app.state import AppState, OptimizerEntry

OLD_LINK = {"v": "1", "ls": "himmelblau", "o": ["sgd,lr=0.003", "gd,lr=0.003"], "seed": "5"}


def positions(state: AppState) -> np.ndarray:
    result = optimizers.simulate(
        state.surface(),
        [e.spec() for e in state.optimizers],
        [state.start_point()],
        steps=40,
        seed=state.seed,
    )
    return result.positions[:, 0]


def test_an_old_sgd_link_keeps_its_noise():
    state, warnings = explorer_link.from_query(OLD_LINK)
    assert warnings == []
    land = landscapes.get("himmelblau")
    # what the link meant when it was written: SGD with gradient noise of std 1, seeded by seed
    meant = optimizers.simulate(
        land,
        [("sgd", {"lr": 0.003, "noise": 1.0}), ("gd", {"lr": 0.003})],
        [land.start],
        steps=40,
        seed=5,
    ).positions[:, 0]
    np.testing.assert_array_equal(positions(state), meant)
    # and the noise matters: today's engine default (none) is another run
    plain = optimizers.simulate(land, [("sgd", {"lr": 0.003})], [land.start], steps=40, seed=5)
    assert np.abs(plain.positions[0, 0] - meant[0]).max() > 1e-3


def test_the_link_stays_short_and_turning_the_noise_off_is_written():
    state, _ = explorer_link.from_query(OLD_LINK)
    assert state.to_query()["o"] == ["sgd,lr=0.003", "gd,lr=0.003"]
    quiet = AppState(
        landscape="himmelblau", optimizers=(OptimizerEntry.make("sgd", lr=0.003, noise=0.0),)
    )
    assert quiet.to_query()["o"] == ["sgd,lr=0.003,noise=0"]
    back, warnings = explorer_link.from_query(quiet.to_query())
    assert warnings == [] and back.optimizers == quiet.optimizers
    assert dict(back.optimizers[0].spec()[1]).get("noise", 0.0) == 0.0


def test_the_teaching_noise_is_declared_with_sgd_and_not_applied_by_the_engine():
    sgd = optimizers.get("sgd")
    assert dict(sgd.surface_settings) == {"noise": 1.0}
    assert sgd.defaults["noise"] == 0.0  # torch.optim.SGD has no noise
    entry = OptimizerEntry.make("sgd", **dict(sgd.surface_settings))  # what the explorer adds
    assert entry.values["noise"] == 1.0
