"""Muon in network training is torch's advice: torch.optim.Muon on the 2-D weight matrices,
torch.optim.AdamW (its defaults) on the other parameters, step for step.

torch's Muon runs its Newton-Schulz iteration in bfloat16 whatever the parameters' dtype (the
parameters here are float64). The engine batches the same bfloat16 operations over runs
(``bmm`` instead of ``mm``), whose roundings may differ in the last bfloat16 bit, so the
comparison allows one bfloat16 ulp of an update (2^-8 relative, times lr) per step.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import landscapes.network as nw
from studies import training

STEPS = 20
LR = 0.02


def mlp(classes: int) -> nn.Module:
    torch.manual_seed(0)
    # (8, 2) is tall (torch transposes it and scales its step by sqrt(8/2)), (8, 8) square,
    # (classes, 8) wide; the biases go to AdamW
    return nn.Sequential(
        nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, classes)
    ).double()


def torch_trajectory(model: nn.Module, x, y, adamw: dict) -> list[np.ndarray]:
    model = copy.deepcopy(model).train()
    matrices = [p for p in model.parameters() if p.ndim == 2]
    others = [p for p in model.parameters() if p.ndim != 2]
    muon = torch.optim.Muon(matrices, lr=LR)
    adam = torch.optim.AdamW(others, **adamw)
    flat = [torch.cat([p.detach().reshape(-1) for p in model.parameters()]).numpy().copy()]
    for _ in range(STEPS):
        muon.zero_grad()
        adam.zero_grad()
        F.cross_entropy(model(x), y).backward()
        muon.step()
        adam.step()
        flat.append(torch.cat([p.detach().reshape(-1) for p in model.parameters()]).numpy().copy())
    return flat


def check_against_torch(adamw_engine: dict | None, adamw_torch: dict) -> None:
    data = nw.load_dataset("spirals", n_samples=90, seed=2)
    model = mlp(data.n_classes)
    result = training.train(
        model,
        F.cross_entropy,
        data,
        [("muon", {"lr": LR})],
        steps=STEPS,
        muon_adamw=adamw_engine,
    )
    ref = torch_trajectory(model, data.x_train.double(), data.y_train, adamw_torch)
    got = result.params[0]  # (T, P), float32
    matrix_part = np.concatenate(
        [np.full(int(np.prod(s)), len(s) == 2) for s in result.param_shapes]
    )
    assert matrix_part.any() and (~matrix_part).any()
    for t in range(STEPS + 1):
        # float32 storage, plus one bfloat16 ulp of an lr-sized update per step (on CPU the
        # batched bfloat16 iteration gave torch's numbers: differences of 3e-8, float32's)
        np.testing.assert_allclose(got[t], ref[t], rtol=1e-6, atol=1e-6 + t * 2**-8 * LR)
    # the runs went somewhere: the agreement is far tighter than the distance travelled
    moved = np.abs(ref[-1] - ref[0])
    assert moved[matrix_part].mean() > 1e-2 and moved[~matrix_part].mean() > 1e-3


def test_network_muon_matches_torch_muon_plus_adamw():
    check_against_torch(None, {})


def test_network_muon_takes_the_users_adamw_settings():
    settings = {"lr": 0.01, "weight_decay": 0.0, "betas": (0.8, 0.99)}
    check_against_torch(settings, settings)
