"""Small classifiers for the built-in data sets, initialised deterministically from a seed."""

from __future__ import annotations

import math

import torch
from torch import nn

from .data import Dataset

MODEL_KINDS: tuple[str, ...] = ("mlp", "cnn")


def _mlp(dataset: Dataset, widths: tuple[int, ...], batch_norm: bool, dropout: float) -> nn.Module:
    layers: list[nn.Module] = [nn.Flatten()]
    fan_in = math.prod(dataset.input_shape)
    for w in widths:
        layers.append(nn.Linear(fan_in, w))
        if batch_norm:
            layers.append(nn.BatchNorm1d(w))
        layers.append(nn.ReLU())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        fan_in = w
    layers.append(nn.Linear(fan_in, dataset.n_classes))
    return nn.Sequential(*layers)


def _cnn(
    dataset: Dataset, channels: tuple[int, ...], batch_norm: bool, dropout: float
) -> nn.Module:
    if len(dataset.input_shape) != 3:
        raise ValueError(
            f"a cnn needs image inputs (channels, height, width); {dataset.name!r} has "
            f"input shape {dataset.input_shape}: use kind='mlp'"
        )
    in_channels, h, w = dataset.input_shape
    c1, c2 = channels
    layers: list[nn.Module] = []
    for c_in, c_out in ((in_channels, c1), (c1, c2)):
        layers.append(nn.Conv2d(c_in, c_out, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(c_out))
        layers.append(nn.ReLU())
        layers.append(nn.MaxPool2d(2))
        h, w = h // 2, w // 2
    layers.append(nn.Flatten())
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(c2 * h * w, dataset.n_classes))
    return nn.Sequential(*layers)


def build_model(
    kind: str,
    dataset: Dataset,
    *,
    widths: tuple[int, ...] = (64, 32),
    batch_norm: bool = False,
    dropout: float = 0.0,
    seed: int = 0,
    channels: tuple[int, int] = (8, 16),
) -> nn.Module:
    """A classifier for ``dataset`` with PyTorch's default initialisation drawn from ``seed``.

    - "mlp": Flatten -> [Linear(w) -> (BatchNorm1d) -> ReLU -> (Dropout)] for w in ``widths``
      -> Linear(n_classes).
    - "cnn": [Conv3x3(c) -> (BatchNorm2d) -> ReLU -> MaxPool2] for c in ``channels`` (8, 16)
      -> Flatten -> (Dropout) -> Linear(n_classes); ``widths`` is ignored. Needs image inputs
      (the digits set).

    The model is returned in training mode, float32, on the CPU. The global RNG is not touched.
    """
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model kind {kind!r}; available: {', '.join(MODEL_KINDS)}")
    widths = tuple(int(w) for w in widths)
    if any(w < 1 for w in widths):
        raise ValueError(f"widths must be positive integers, got {widths}")
    if not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        if kind == "mlp":
            return _mlp(dataset, widths, bool(batch_norm), float(dropout))
        channels = tuple(int(c) for c in channels)
        if len(channels) != 2 or any(c < 1 for c in channels):
            raise ValueError(f"channels must be two positive integers, got {channels}")
        return _cnn(dataset, channels, bool(batch_norm), float(dropout))
