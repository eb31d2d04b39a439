"""Projected neural-network loss landscapes (Li et al. 2018), done with batched evaluation.

>>> import torch.nn.functional as F
>>> from landscapes import network as nw
>>> data = nw.load_dataset("moons", n_samples=200)
>>> model = nw.build_model("mlp", data, widths=(16,))
>>> d1, d2 = nw.random_directions(model, seed=0)
>>> z = nw.loss_surface(model, F.cross_entropy, data.x_train, data.y_train, (d1, d2),
...                     resolution=11)
>>> z.shape
(11, 11)

Training (``train``, batched over optimizers) is a study built on the optimizers' runner:
``studies.training``.
"""

from .curvature import critical_learning_rate, hessian_directions, hessian_eigenpairs, hessian_trace
from .data import DATASETS, Dataset, load_dataset
from .directions import NORMALIZATIONS, orthogonalize_direction, random_directions
from .evaluator import NetworkEvaluator
from .models import MODEL_KINDS, SmallResNet, build_model, small_resnet
from .params import (
    Direction,
    ParamSpec,
    as_flat,
    direction_to_flat,
    flatten,
    param_spec,
    unflatten,
    with_params,
)
from .plane import plane_landscape
from .projection import PcaPlane, pca_directions, plane_points, project
from .surface import grid_axis, interpolate, loss_at, loss_surface

__all__ = [
    "DATASETS",
    "MODEL_KINDS",
    "NORMALIZATIONS",
    "Dataset",
    "Direction",
    "NetworkEvaluator",
    "ParamSpec",
    "PcaPlane",
    "SmallResNet",
    "as_flat",
    "build_model",
    "critical_learning_rate",
    "direction_to_flat",
    "flatten",
    "grid_axis",
    "hessian_directions",
    "hessian_eigenpairs",
    "hessian_trace",
    "interpolate",
    "load_dataset",
    "loss_at",
    "loss_surface",
    "orthogonalize_direction",
    "param_spec",
    "pca_directions",
    "plane_landscape",
    "plane_points",
    "project",
    "random_directions",
    "small_resnet",
    "unflatten",
    "with_params",
]
