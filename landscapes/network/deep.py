"""Deep multilayer perceptrons for the study of vanishing and exploding gradients.

``build_deep_mlp`` makes an MLP of ``depth`` linear layers (up to ``MAX_DEPTH``): depth - 1 hidden
layers of ``width`` units with a sigmoid, tanh or ReLU activation, then a linear read-out. The
choices that decide whether gradients reach the first layers are all explicit:

- initialization (``INITS``), each weight matrix W (fan_in -> fan_out) drawn as
  - "default": PyTorch's ``nn.Linear`` default, U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
    Var W = 1 / (3 fan_in);
  - "xavier": Glorot & Bengio 2010, "Understanding the difficulty of training deep feedforward
    neural networks" (AISTATS), U(-a, a) with a = sqrt(6 / (fan_in + fan_out)),
    Var W = 2 / (fan_in + fan_out);
  - "he": He et al. 2015, "Delving deep into rectifiers" (ICCV), N(0, 2 / fan_in), which keeps
    the second moment of ReLU activations constant with depth;
  then multiplied by ``init_scale`` (> 1 makes gradients explode, < 1 vanish). Biases are drawn
  by PyTorch's default and multiplied by the same scale.
- ``batch_norm``: BatchNorm1d after every hidden linear layer, before the activation (Ioffe &
  Szegedy 2015, "Batch normalization", ICML).
- ``residual``: after a linear stem h = W_1 x + b_1, every hidden layer becomes a
  pre-activation residual block h <- h + W_l act(BN(h)) + b_l and the read-out is
  W_L act(BN(h)) + b_L (He, Zhang, Ren & Sun 2016, "Deep residual learning for image
  recognition", CVPR, and "Identity mappings in deep residual networks", ECCV): the identity
  path carries the gradient back unattenuated, and the residual stream keeps a zero-mean
  update even with the sigmoid (whose outputs all are positive: a post-activation block
  h + sigmoid(...) would add about 1/2 per layer to every unit).

Why gradients vanish: back-propagation multiplies the gradient by W_l^T diag(act'(z_l)) once per
layer; with sigmoid (act' <= 1/4) and Var W ~ 1/fan_in the product shrinks geometrically with
depth (Hochreiter 1991; Glorot & Bengio 2010). ``linear_layers`` names the layers whose gradient
norms ``studies.gradient_flow`` records.

Without residual connections the model is an ``nn.Sequential`` (the fast batched kernels of
``batched.py`` apply); with them it is a ``ResidualMLP`` (evaluated with ``torch.func.vmap``).
Both take any flat parameter vector the rest of the network engine produces.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .data import Dataset

ACTIVATIONS: tuple[str, ...] = ("sigmoid", "tanh", "relu")
INITS: tuple[str, ...] = ("default", "xavier", "he")
MAX_DEPTH = 12
_ACTIVATION_MODULES = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


class ResidualMLP(nn.Module):
    """Flatten -> Linear(in, w) -> (depth - 2) x [h + Linear(act([BN](h)))]
    -> Linear(w, classes)(act([BN](h))): a pre-activation residual MLP.

    Submodules: ``stem`` (the first linear layer), ``blocks`` (a ModuleList of Sequentials
    [BN] -> act -> Linear, each added to its input), ``head`` ([BN] -> act -> the read-out).
    """

    def __init__(self, stem: nn.Linear, blocks: list[nn.Sequential], head: nn.Sequential):
        super().__init__()
        self.stem = stem
        self.blocks = nn.ModuleList(blocks)
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x.flatten(1))
        for block in self.blocks:
            h = h + block(h)
        return self.head(h)


def _pre_activation(width: int, fan_out: int, activation: str, batch_norm: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.BatchNorm1d(width)] if batch_norm else []
    return nn.Sequential(*layers, _ACTIVATION_MODULES[activation](), nn.Linear(width, fan_out))


def _hidden(fan_in: int, width: int, activation: str, batch_norm: bool) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Linear(fan_in, width)]
    if batch_norm:
        layers.append(nn.BatchNorm1d(width))
    layers.append(_ACTIVATION_MODULES[activation]())
    return layers


def _initialize(layer: nn.Linear, init: str, scale: float) -> None:
    with torch.no_grad():
        fan_in = layer.weight.shape[1]
        if init == "xavier":
            nn.init.xavier_uniform_(layer.weight)
        elif init == "he":
            nn.init.normal_(layer.weight, 0.0, math.sqrt(2.0 / fan_in))
        layer.weight.mul_(scale)
        if layer.bias is not None:
            layer.bias.mul_(scale)


def build_deep_mlp(
    dataset: Dataset,
    *,
    depth: int = 10,
    width: int = 32,
    activation: str = "sigmoid",
    init: str = "default",
    init_scale: float = 1.0,
    batch_norm: bool = False,
    residual: bool = False,
    seed: int = 0,
) -> nn.Module:
    """A deep MLP classifier for ``dataset`` (see the module docstring for the maths).

    Args:
        dataset: gives the input size and the number of classes.
        depth: number of linear layers, 2 to ``MAX_DEPTH`` (depth - 1 hidden layers).
        width: units per hidden layer.
        activation: "sigmoid", "tanh" or "relu".
        init: "default", "xavier" or "he"; ``init_scale`` multiplies every weight and bias.
        batch_norm: BatchNorm1d before each hidden activation.
        residual: a pre-activation residual network (skip connections around layers
            2 .. depth - 1).
        seed: the initialization's seed (the global RNG is not touched).

    Returns an ``nn.Sequential`` (no residual connections) or a ``ResidualMLP``, float32, CPU,
    training mode.
    """
    if int(depth) != depth or not 2 <= depth <= MAX_DEPTH:
        raise ValueError(f"depth must be an integer in [2, {MAX_DEPTH}], got {depth!r}")
    if int(width) != width or width < 1:
        raise ValueError(f"width must be a positive integer, got {width!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; available: {', '.join(ACTIVATIONS)}")
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; available: {', '.join(INITS)}")
    if not (math.isfinite(init_scale) and init_scale > 0):
        raise ValueError(f"init_scale must be a finite number > 0, got {init_scale!r}")
    depth, width = int(depth), int(width)
    fan_in = math.prod(dataset.input_shape)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        if residual:
            blocks = [
                _pre_activation(width, width, activation, batch_norm) for _ in range(depth - 2)
            ]
            head = _pre_activation(width, dataset.n_classes, activation, batch_norm)
            model: nn.Module = ResidualMLP(nn.Linear(fan_in, width), blocks, head)
        else:
            layers: list[nn.Module] = [nn.Flatten()]
            for _ in range(depth - 1):
                layers += _hidden(fan_in, width, activation, batch_norm)
                fan_in = width
            layers.append(nn.Linear(fan_in, dataset.n_classes))
            model = nn.Sequential(*layers)
        for module in model.modules():
            if isinstance(module, nn.Linear):
                _initialize(module, init, float(init_scale))
    return model


def linear_layers(model: nn.Module) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The model's linear and convolutional layers in forward order (module registration
    order): ``(module name, (parameter names))`` with the weight and bias of each, as they
    appear in ``named_parameters`` (the keys of a flat vector's ``ParamSpec``)."""
    out = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear | nn.Conv2d):
            prefix = f"{name}." if name else ""
            params = tuple(prefix + n for n, _ in module.named_parameters(recurse=False))
            out.append((name, params))
    if not out:
        raise ValueError("the model has no linear or convolutional layer")
    return tuple(out)
