"""What a classifier predicts at a parameter vector: decision regions, confusion matrix, errors.

Every function takes the model (its architecture), a flat parameter vector (a row of
``TrainingResult.params``: the network at a recorded step) and inputs; the model is never
modified. Predictions are arg-max classes of the logits, in eval mode (dropout off).

Batch norm: a network trained by ``studies.training.train`` has no running statistics; its
recorded losses normalise each evaluated data set with its own statistics ("batch" mode). Here
``reference`` says whose statistics to use: None, the inputs' own (as the recorded losses and
accuracies); or a reference set such as the training inputs, which a decision-region grid needs
(the grid's own statistics describe the grid, not the data). The statistics are the biased
batch mean and variance of each batch-norm layer's input on ``reference`` (Ioffe & Szegedy
2015), computed with the parameters given.

- ``decision_grid``: the predicted class and class probabilities on a regular grid over the
  range of a 2-D data set (the decision regions of TensorFlow Playground).
- ``confusion_matrix``: counts C[i, j] of samples of true class i predicted as j (the
  convention of ``sklearn.metrics.confusion_matrix``).
- ``misclassified``: indices, true and predicted classes and the predicted probability of the
  wrongly chosen class, most confident mistakes first.
- ``first_layer_filters``: the first convolution's kernels (C_out, C_in, kh, kw), or the first
  linear layer's weight rows reshaped to the input's shape (what each unit looks for).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from .data import Dataset
from .params import as_flat, param_spec

_BN = nn.modules.batchnorm._BatchNorm


def recorded_index(steps_recorded: Any, step: int) -> int:
    """Index of the last recorded step <= ``step`` (the shown step of a timeline; 0 if before
    the first)."""
    steps = np.asarray(steps_recorded)
    return max(int(np.searchsorted(steps, step, side="right")) - 1, 0)


def network_at(model: nn.Module, params: Any, reference: Any = None) -> nn.Module:
    """An eval-mode copy of ``model`` holding ``params``; batch-norm layers normalise with the
    batch statistics of ``reference`` (None: every call's own input, as in training)."""
    spec = param_spec(model)
    values = spec.unflatten(as_flat(params, spec))
    net = copy.deepcopy(model)
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(values[name])
            p.requires_grad_(False)
    net.eval()
    bns = [m for m in net.modules() if isinstance(m, _BN)]
    if not bns:
        return net
    if reference is None:
        for m in bns:  # normalise with the batch's own statistics
            m.track_running_stats = False
            m.running_mean = m.running_var = None
        return net
    stats: dict[nn.Module, tuple[torch.Tensor, torch.Tensor]] = {}

    def capture(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        x = inputs[0]
        dims = [0, *range(2, x.ndim)]
        stats[module] = (x.mean(dims), x.var(dims, unbiased=False))

    hooks = [m.register_forward_pre_hook(capture) for m in bns]
    saved = [(m.running_mean, m.running_var) for m in bns]
    for m in bns:  # the reference pass normalises with the reference's own statistics
        m.track_running_stats, m.running_mean, m.running_var = False, None, None
    try:
        with torch.no_grad():
            net(torch.as_tensor(reference).to(spec.device, spec.dtype))
    finally:
        for h in hooks:
            h.remove()
    for m, (mean, var) in zip(bns, saved, strict=True):
        m.track_running_stats = True
        m.running_mean = stats[m][0].clone() if mean is None else mean.copy_(stats[m][0])
        m.running_var = stats[m][1].clone() if var is None else var.copy_(stats[m][1])
    return net


def predict_logits(
    model: nn.Module, params: Any, inputs: Any, *, reference: Any = None, chunk: int = 8192
) -> torch.Tensor:
    """(N, C) logits of the network at ``params`` (see ``network_at`` for ``reference``)."""
    net = network_at(model, params, reference)
    spec = param_spec(model)
    x = torch.as_tensor(inputs).to(spec.device, spec.dtype)
    if reference is None and any(isinstance(m, _BN) for m in net.modules()):
        chunk = max(int(x.shape[0]), 1)  # own statistics: the whole set in one batch
    with torch.no_grad():
        return torch.cat([net(x[i : i + chunk]) for i in range(0, x.shape[0], chunk)])


@dataclass(frozen=True)
class DecisionGrid:
    """Predicted classes on a grid: ``xs`` (nx,), ``ys`` (ny,); ``classes`` (R, ny, nx) int64
    (row i is y = ys[i], column j is x = xs[j]); ``probabilities`` (R, ny, nx, C) float32."""

    xs: np.ndarray
    ys: np.ndarray
    classes: np.ndarray
    probabilities: np.ndarray


def data_range(dataset: Dataset, margin: float = 0.1) -> tuple[float, float, float, float]:
    """(x_min, x_max, y_min, y_max) of a 2-D data set's training and validation inputs, widened
    by ``margin`` x the span on each side."""
    if dataset.input_shape != (2,):
        raise ValueError(
            f"decision regions need 2-D inputs; {dataset.name!r} has shape {dataset.input_shape}"
        )
    x = torch.cat([dataset.x_train, dataset.x_val]).double().numpy()
    lo, hi = x.min(0), x.max(0)
    pad = margin * (hi - lo)
    return (
        float(lo[0] - pad[0]),
        float(hi[0] + pad[0]),
        float(lo[1] - pad[1]),
        float(hi[1] + pad[1]),
    )


def decision_grid(
    model: nn.Module,
    params: Any,
    dataset: Dataset,
    *,
    resolution: int = 101,
    margin: float = 0.1,
) -> DecisionGrid:
    """Decision regions of the network at ``params`` on a ``resolution`` x ``resolution`` grid
    over ``data_range(dataset, margin)``.

    ``params``: (P,) one network (the result has a leading axis of 1), (R, P) one grid per run,
    or (R, T, P) a grid per run and recorded step (a whole timeline at once: the networks are
    evaluated together by the batched kernels). Batch norm uses the training inputs' statistics.
    """
    if int(resolution) != resolution or resolution < 2:
        raise ValueError(f"resolution must be an integer >= 2, got {resolution!r}")
    x0, x1, y0, y1 = data_range(dataset, margin)
    xs, ys = np.linspace(x0, x1, int(resolution)), np.linspace(y0, y1, int(resolution))
    gx, gy = np.meshgrid(xs, ys)  # (ny, nx), row i at ys[i]
    points = torch.as_tensor(np.stack([gx.ravel(), gy.ravel()], 1), dtype=torch.float32)
    flat = np.asarray(params, dtype=np.float32)
    lead = (1,) if flat.ndim == 1 else flat.shape[:-1]
    rows = flat.reshape(-1, flat.shape[-1])
    if any(isinstance(m, _BN) for m in model.modules()):
        prob = np.stack(
            [
                torch.softmax(
                    predict_logits(model, p, points, reference=dataset.x_train).double(), -1
                )
                .float()
                .numpy()
                for p in rows
            ]
        )
    else:
        prob = batched_probabilities(model, rows, points)
    prob = prob.reshape(*lead, len(ys), len(xs), -1)
    return DecisionGrid(xs=xs, ys=ys, classes=prob.argmax(-1), probabilities=prob)


def batched_probabilities(
    model: nn.Module, params: Any, inputs: Any, *, chunk_bytes: int = 2**25
) -> np.ndarray:
    """(M, N, C) float32 softmax outputs of a model without batch norm at the M rows of
    ``params`` (eval mode): the networks evaluated together (``NetworkEvaluator``'s batched
    kernels, or vmap), in chunks of networks whose widest activations fit ``chunk_bytes``."""
    from .evaluator import NetworkEvaluator, intra_op_threads

    evaluator = NetworkEvaluator(model, torch.nn.functional.cross_entropy, batch_norm="eval")
    spec = evaluator.spec
    flat = as_flat(params, spec, batched=True)
    x = torch.as_tensor(inputs).to(spec.device, spec.dtype)
    per_net = max(evaluator.widest_activation(x[:1]), 1) * x.shape[0] * 4
    step = max(1, int(chunk_bytes) // per_net)
    out = []
    with torch.no_grad(), intra_op_threads(1):
        for lo in range(0, flat.shape[0], step):
            part = flat[lo : lo + step]
            if evaluator.plan is not None:
                logits = evaluator.plan.forward(spec.unflatten(part), x)
            else:
                logits = torch.func.vmap(evaluator.forward_one, in_dims=(0, None))(part, x)
            out.append(torch.softmax(logits.double(), -1).float().cpu().numpy())
    return np.concatenate(out)


def predict_classes(
    model: nn.Module, params: Any, inputs: Any, *, reference: Any = None
) -> np.ndarray:
    """(N,) arg-max classes of the network at ``params``."""
    return predict_logits(model, params, inputs, reference=reference).argmax(-1).cpu().numpy()


def confusion_matrix(
    model: nn.Module,
    params: Any,
    inputs: Any,
    targets: Any,
    n_classes: int,
    *,
    reference: Any = None,
) -> np.ndarray:
    """(C, C) int64 counts: entry [i, j] = samples of true class i predicted as class j."""
    pred = predict_classes(model, params, inputs, reference=reference)
    true = np.asarray(torch.as_tensor(targets).cpu(), dtype=np.int64)
    out = np.zeros((int(n_classes), int(n_classes)), dtype=np.int64)
    np.add.at(out, (true, pred), 1)
    return out


@dataclass(frozen=True)
class Misclassified:
    """Wrongly classified samples, most confident mistakes first: ``indices`` into the inputs,
    ``true`` and ``predicted`` classes, ``confidence`` the softmax probability of the predicted
    class."""

    indices: np.ndarray
    true: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray


def misclassified(
    model: nn.Module, params: Any, inputs: Any, targets: Any, *, reference: Any = None
) -> Misclassified:
    """The samples the network at ``params`` gets wrong (see ``Misclassified``)."""
    logits = predict_logits(model, params, inputs, reference=reference).double()
    prob = torch.softmax(logits, -1).cpu().numpy()
    pred = prob.argmax(-1)
    true = np.asarray(torch.as_tensor(targets).cpu(), dtype=np.int64)
    wrong = np.flatnonzero(pred != true)
    conf = prob[wrong, pred[wrong]]
    order = np.argsort(-conf, kind="stable")
    return Misclassified(
        indices=wrong[order],
        true=true[wrong][order],
        predicted=pred[wrong][order],
        confidence=conf[order],
    )


def first_layer_filters(
    model: nn.Module, params: Any, input_shape: tuple[int, ...] | None = None
) -> np.ndarray:
    """The first parametrised layer's weights at ``params`` as images: a Conv2d's kernels
    (C_out, C_in, kh, kw); a Linear layer's rows reshaped to (out, *input_shape) (default: the
    flat (out, in) matrix)."""
    spec = param_spec(model)
    values = spec.unflatten(as_flat(params, spec))
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            w = values[f"{name}.weight" if name else "weight"].detach().cpu().numpy()
            if isinstance(module, nn.Linear) and input_shape is not None:
                w = w.reshape(w.shape[0], *input_shape)
            return w.copy()
    raise ValueError("the model has no convolutional or linear layer")
