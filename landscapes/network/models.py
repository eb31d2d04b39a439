"""Small classifiers for the built-in data sets, initialised deterministically from a seed."""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
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


class BasicBlock(nn.Module):
    """He et al. 2016's basic residual block: y = relu(x_s + BN(conv3x3(relu(BN(conv3x3(x)))))).

    The first convolution has stride ``stride``; when the block halves the image and widens
    the channels, the shortcut x_s is option A of the paper (section 4.2): the input subsampled
    by 2 and zero-padded to the new width (no parameters).
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.stride = int(stride)
        self.extra = int(c_out - c_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        short = x[..., :: self.stride, :: self.stride] if self.stride > 1 else x
        if self.extra:
            pad = (self.extra // 2, self.extra - self.extra // 2)
            short = F.pad(short, (0, 0, 0, 0, *pad))
        return F.relu(out + short)


class SmallResNet(nn.Module):
    """The CIFAR ResNet of He, Zhang, Ren & Sun 2016 ("Deep Residual Learning for Image
    Recognition", CVPR, section 4.2), narrow and shallow.

    conv3x3(w_1) -> BN -> ReLU -> three stages of ``blocks`` basic blocks with widths
    (w_1, w_2, w_3), the 2nd and 3rd stages starting with stride 2 -> global average pooling ->
    Linear(n_classes). With ``blocks`` = n it has 6n + 2 weighted layers (n = 1: ResNet-8;
    n = 3 with widths (16, 32, 64): the paper's ResNet-20).
    """

    def __init__(
        self,
        in_channels: int = 3,
        n_classes: int = 10,
        widths: tuple[int, int, int] = (16, 32, 64),
        blocks: int = 1,
    ):
        super().__init__()
        w1, w2, w3 = widths
        self.conv = nn.Conv2d(in_channels, w1, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(w1)
        layers: list[nn.Module] = []
        c = w1
        for stage, w in enumerate((w1, w2, w3)):
            for b in range(blocks):
                layers.append(BasicBlock(c, w, stride=2 if stage > 0 and b == 0 else 1))
                c = w
        self.blocks = nn.Sequential(*layers)
        self.fc = nn.Linear(c, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(F.relu(self.bn(self.conv(x))))
        return self.fc(h.mean((-2, -1)))


def small_resnet(
    in_channels: int = 3,
    n_classes: int = 10,
    *,
    widths: tuple[int, int, int] = (16, 32, 64),
    blocks: int = 1,
    seed: int = 0,
) -> nn.Module:
    """A ``SmallResNet`` (He et al. 2016) with PyTorch's default initialisation drawn from
    ``seed`` (the global RNG is not touched); training mode, float32, on the CPU.

    Not one of ``build_model``'s kinds (the page's data sets are too small for it): a model for
    research-scale surfaces such as ``bench/executor_surface.py``'s.
    """
    widths = tuple(int(w) for w in widths)
    if len(widths) != 3 or any(w < 1 for w in widths):
        raise ValueError(f"widths must be three positive integers, got {widths}")
    if any(b < a for a, b in itertools.pairwise(widths)):
        raise ValueError(f"widths must not decrease (zero-padded shortcuts), got {widths}")
    if isinstance(blocks, bool) or int(blocks) != blocks or blocks < 1:
        raise ValueError(f"blocks must be a positive integer, got {blocks!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return SmallResNet(int(in_channels), int(n_classes), widths, int(blocks))
