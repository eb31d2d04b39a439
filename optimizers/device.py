"""Where the engine computes: CUDA when present, then MPS, then the CPU; overridable."""

from __future__ import annotations

import os

import torch

ENV_VAR = "OPTISCAPE_DEVICE"


def default_device(dtype: torch.dtype = torch.float64) -> torch.device:
    """The device to compute on.

    Order: the ``OPTISCAPE_DEVICE`` environment variable if set ("cpu", "cuda", "cuda:1", "mps"),
    else CUDA if available, else MPS (only for float32: MPS has no float64), else the CPU.
    """
    requested = os.environ.get(ENV_VAR, "").strip()
    if requested:
        return resolve_device(requested, dtype)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if dtype != torch.float64 and mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def resolve_device(
    device: str | torch.device | None, dtype: torch.dtype = torch.float64
) -> torch.device:
    """Turn an argument into a usable device, or raise ValueError saying why it cannot be used."""
    if device is None:
        return default_device(dtype)
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {device!r}; use 'cpu', 'cuda' or 'mps'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available")
    if dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(f"device {device!r} requested but MPS is not available")
        if dtype == torch.float64:
            raise ValueError("MPS has no float64; use dtype=torch.float32 or the CPU")
    return dev


def describe(device: torch.device) -> str:
    """A short human-readable name, e.g. 'CUDA (NVIDIA H100)' or 'CPU'."""
    if device.type == "cuda":
        return f"CUDA ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "Apple MPS"
    return "CPU"
