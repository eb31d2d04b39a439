"""The network page's training: the engine objects behind every view, cached, keyed by the fields
of ``NetworkState`` it depends on (``app.network_compute.train_key``).

One entry holds the data set, the model at its initialization, the loss function and the
engine's ``TrainingResult`` (every recorded parameter vector): read-only, shared by sessions,
never copied. A built-in data set's training is shared with the server's other replicas too
(``app.replica_share``, through files); an uploaded CSV's (``upload:<digest>``) stays in this
process's memory, since its value holds the uploaded data (``app.network_upload``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from .network_state import UPLOAD, NetOptimizer
from .shared_work import heavy, replica_shared


@dataclass(frozen=True)
class Trained:
    dataset: Any
    model: Any  # the model at its initialization (the engine never mutates it)
    loss_fn: Any
    result: Any  # the engine's TrainingResult (numpy arrays)
    optimizers: tuple[NetOptimizer, ...]


def network_api() -> Any:
    """``landscapes.network``, imported lazily: the explorer never pays for it."""
    import landscapes.network as network

    return network


def load_data(data: str, noise: float, samples: int, seed: int) -> Any:
    """A built-in data set, or (``upload:<digest>``) the uploaded CSV registered under it."""
    if data.startswith(f"{UPLOAD}:"):
        from . import network_upload

        return network_upload.dataset(data.partition(":")[2], seed)
    return network_api().load_dataset(data, n_samples=samples or 600, noise=noise, seed=seed)


def trained(key: tuple) -> Trained:
    """The cached training of ``key`` (an upload's kept in this process only)."""
    return _trained_here(key) if key[0].startswith(f"{UPLOAD}:") else _trained_shared(key)


def engine_objects(key: tuple) -> tuple[Any, Any, Any]:
    """(model at its initialization, data set, recorded parameters (R, T, P)) of the cached
    training ``key``: what ``app.network_predictions`` hands to the engine's predictions."""
    t = trained(key)
    return t.model, t.dataset, t.result.params


@st.cache_resource(show_spinner=False, max_entries=8)
@replica_shared("network_compute._trained")
def _trained_shared(key: tuple) -> Trained:
    return _train(key)


@st.cache_resource(show_spinner=False, max_entries=4)
def _trained_here(key: tuple) -> Trained:
    return _train(key)


def _train(key: tuple) -> Trained:
    (data, noise, samples, model, widths, bn, dropout, seed, opts, steps, bs, rec, wd) = key
    net = network_api()
    dataset = load_data(data, noise, samples, seed)
    kwargs: dict[str, Any] = {"batch_norm": bn, "dropout": dropout, "seed": seed}
    if model == "mlp":
        kwargs["widths"] = widths
    module = net.build_model(model, dataset, **kwargs)
    import torch

    loss_fn = torch.nn.CrossEntropyLoss()
    from studies.training import train  # lazily, as the network engine

    result = heavy(
        train,
        module,
        loss_fn,
        dataset,
        [o.spec() for o in opts],
        steps=steps,
        batch_size=bs or None,
        seed=seed,
        record_every=rec,
        weight_decay=wd,
    )
    return Trained(dataset, module, loss_fn, result, opts)
