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


def test_conv_weights_go_to_adamw_and_runs_batch_with_their_own_lr():
    """A conv weight (4-D) is not a matrix for torch's Muon: AdamW takes it. Two runs with
    different Muon learning rates step together, each as torch steps alone."""
    from optimizers import Evaluations, RunBatch, expand_specs
    from optimizers.muon import for_network

    shapes = [(3, 1, 2, 2), (3,), (2, 5), (4, 2)]
    gen = torch.Generator().manual_seed(5)
    theta0 = torch.randn(sum(int(np.prod(s)) for s in shapes), generator=gen, dtype=torch.float64)
    target = torch.randn(theta0.shape, generator=gen, dtype=torch.float64)
    lrs = [0.02, 0.05]

    def gradient(flat: torch.Tensor) -> torch.Tensor:  # of sum(cosh(theta - target))
        return torch.sinh(flat - target)

    specs = expand_specs([("muon", {"lr": np.array(lrs)})])
    batch = RunBatch(
        specs, 1, STEPS, dtype=torch.float64, device="cpu", rules={"muon": for_network(shapes)}
    )
    params = batch.start(theta0[None])
    unused = Evaluations(None, None, None)
    for t in range(STEPS):
        params = batch.step(t, params, torch.zeros(2), gradient(params), unused)

    for r, lr in enumerate(lrs):
        tensors = [
            torch.nn.Parameter(part.reshape(s).clone())
            for part, s in zip(theta0.split([int(np.prod(s)) for s in shapes]), shapes, strict=True)
        ]
        muon = torch.optim.Muon([p for p in tensors if p.ndim == 2], lr=lr)
        adam = torch.optim.AdamW([p for p in tensors if p.ndim != 2])
        for _ in range(STEPS):
            flat = torch.cat([p.detach().reshape(-1) for p in tensors])
            for p, g in zip(
                tensors, gradient(flat).split([p.numel() for p in tensors]), strict=True
            ):
                p.grad = g.reshape(p.shape).clone()
            muon.step()
            adam.step()
        want = torch.cat([p.detach().reshape(-1) for p in tensors]).numpy()
        np.testing.assert_allclose(
            params[r].numpy(), want, rtol=1e-9, atol=1e-9 + STEPS * 2**-8 * lr
        )
        assert np.abs(want - theta0.numpy()).min() > 1e-4  # every parameter moved
