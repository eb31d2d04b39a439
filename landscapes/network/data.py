"""Small classification data sets shipped with scikit-learn or generated in numpy (never downloaded).

- ``digits``: scikit-learn's ``load_digits`` (1797 real 8x8 handwritten digits, 10 classes), pixels
  scaled from [0, 16] to [0, 1], inputs shaped (1, 8, 8) so that CNNs see images.
- ``moons``: scikit-learn's ``make_moons`` (two interleaving half circles), standardized.
- ``spirals``: two interleaved Archimedean spirals r = t, angle t (+ pi for the second class),
  t ~ U(0.25, 3 pi) in radians, plus Gaussian noise of std ``noise``; standardized.
- ``circles``: scikit-learn's ``make_circles`` (a circle inside a circle, radius ratio 0.5),
  standardized.
- ``xor``: points uniform on [-1, 1]^2 labelled 1 where x1 x2 > 0 (same-sign quadrants), plus
  Gaussian noise of std ``noise`` / 4 added after labelling (the rule is in the clean points;
  the noise blurs the quadrant borders); standardized. Not linearly separable.

Train/validation split: stratified, fixed by ``seed`` (scikit-learn's ``train_test_split``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

DATASETS: tuple[str, ...] = ("digits", "moons", "spirals", "circles", "xor")


@dataclass(frozen=True)
class Dataset:
    """A classification data set as torch tensors (float32 inputs, int64 labels)."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    n_classes: int
    input_shape: tuple[int, ...]
    feature_names: tuple[str, ...] | None = None
    class_names: tuple[str, ...] | None = None  # label of class index c (None: "0", "1", ...)

    @property
    def n_train(self) -> int:
        return int(self.y_train.shape[0])

    @property
    def n_val(self) -> int:
        return int(self.y_val.shape[0])

    @property
    def n_features(self) -> int:
        return int(np.prod(self.input_shape))


def _spirals(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n0 = n // 2
    labels = np.r_[np.zeros(n0, dtype=np.int64), np.ones(n - n0, dtype=np.int64)]
    t = rng.uniform(0.25, 3 * np.pi, size=n)
    angle = t + np.pi * labels
    x = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1)
    x = x + noise * rng.standard_normal(x.shape)
    return x, labels


def _xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(-1.0, 1.0, size=(n, 2))
    labels = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    return x + 0.25 * noise * rng.standard_normal(x.shape), labels


def _standardize(x_train: np.ndarray, x_val: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = x_train.mean(0), x_train.std(0) + 1e-12
    return (x_train - mean) / std, (x_val - mean) / std


def load_dataset(
    name: str,
    *,
    n_samples: int = 600,
    noise: float = 0.2,
    seed: int = 0,
    val_fraction: float = 0.25,
) -> Dataset:
    """Load or generate the data set ``name`` ("digits", "moons", "spirals", "circles", "xor").

    ``n_samples`` and ``noise`` apply to the generated sets (digits always has 1797 samples).
    The split keeps ``val_fraction`` of the samples for validation, stratified by class, seeded.
    Inputs of the 2-D sets are standardized with the training split's mean and std.
    """
    from sklearn.model_selection import train_test_split

    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)}")
    if not 0.0 < float(val_fraction) < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
    if name != "digits":
        if int(n_samples) != n_samples or n_samples < 8:
            raise ValueError(f"n_samples must be an integer >= 8, got {n_samples!r}")
        if not np.isfinite(noise) or noise < 0:
            raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    rng = np.random.default_rng(seed)
    features: tuple[str, ...] | None = ("x1", "x2")
    if name == "digits":
        from sklearn.datasets import load_digits

        bunch = load_digits()
        x, y = bunch.data.astype(np.float64) / 16.0, bunch.target.astype(np.int64)
        shape, n_classes, features = (1, 8, 8), 10, None
    elif name == "moons":
        from sklearn.datasets import make_moons

        x, y = make_moons(n_samples=int(n_samples), noise=float(noise), random_state=seed)
        shape, n_classes = (2,), 2
    elif name == "circles":
        from sklearn.datasets import make_circles

        x, y = make_circles(
            n_samples=int(n_samples), noise=float(noise), factor=0.5, random_state=seed
        )
        shape, n_classes = (2,), 2
    elif name == "xor":
        x, y = _xor(int(n_samples), float(noise), rng)
        shape, n_classes = (2,), 2
    else:
        x, y = _spirals(int(n_samples), float(noise), rng)
        shape, n_classes = (2,), 2
    x_tr, x_va, y_tr, y_va = train_test_split(
        x, y, test_size=val_fraction, random_state=seed, stratify=y
    )
    if name != "digits":
        x_tr, x_va = _standardize(x_tr, x_va)

    def inputs(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=torch.float32).reshape(-1, *shape)

    return Dataset(
        name=name,
        x_train=inputs(x_tr),
        y_train=torch.as_tensor(y_tr, dtype=torch.int64),
        x_val=inputs(x_va),
        y_val=torch.as_tensor(y_va, dtype=torch.int64),
        n_classes=n_classes,
        input_shape=shape,
        feature_names=features,
    )
