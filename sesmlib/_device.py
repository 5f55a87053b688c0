"""Choosing the compute device once: cuda if present, else mps, else cpu."""
from __future__ import annotations

import torch

_CHOICES = ("auto", "cpu", "cuda", "mps")


def device(pref: str | torch.device = "auto") -> torch.device:
    """Return the torch device to compute on.

    Parameters
    ----------
    pref : {"auto", "cpu", "cuda", "mps"} or torch.device, or "cuda:N"
        "auto" picks cuda when available, else Apple's mps, else the cpu.
        Asking for a device this machine does not have raises a clear error.

    Examples
    --------
    >>> import sesmlib
    >>> sesmlib.device("cpu")
    device(type='cpu')
    """
    if isinstance(pref, torch.device):
        pref = str(pref)
    if not isinstance(pref, str):
        raise TypeError(f"device: expected one of {_CHOICES} or a torch.device, got {type(pref).__name__}")
    kind = pref.split(":")[0].lower()
    if kind not in _CHOICES:
        raise ValueError(f"device: unknown device {pref!r}; use one of {', '.join(_CHOICES)}")
    if kind == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if kind == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            "device: 'cuda' was requested but no CUDA device is available on this machine "
            "(torch.cuda.is_available() is False); use device='auto' or 'cpu'"
        )
    if kind == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise RuntimeError("device: 'mps' was requested but Apple's MPS backend is not available; use 'auto' or 'cpu'")
    return torch.device(pref)
