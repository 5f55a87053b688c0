"""Small shared helpers: argument checks, the cache folder, atomic writes, progress bars,
and safe saving/loading of model files. Every module uses these instead of its own copy."""
from __future__ import annotations

import hashlib
import io
import json
import math
import operator
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable

import torch

# --------------------------------------------------------------------------- arguments


def check_positive_int(name: str, value: Any) -> int:
    """Return ``value`` as an int, or raise naming ``name`` when it is not a positive integer."""
    if isinstance(value, (bool, float)):
        raise TypeError(f"{name} must be a positive integer, got {value!r}")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be a positive integer, got {value!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return value


def check_nonnegative(name: str, value: Any, *, positive: bool = False) -> float:
    """Return ``value`` as a float, or raise naming ``name`` when it is negative
    (or not strictly positive when ``positive``), NaN or infinite."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not (
        isinstance(value, torch.Tensor) and value.numel() == 1
    ):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def check_matrix(
    name: str,
    x: Any,
    *,
    n_cols: int | None = None,
    device: torch.device | None = None,
    dtype: torch.dtype | None = None,
    allow_1d: bool = False,
) -> torch.Tensor:
    """Validate a batch ``x`` of shape (B, n_cols) and return it (as a 2-D tensor).

    Raises TypeError for a non-tensor or a non-floating dtype, ValueError for a wrong
    shape, NaN/Inf values or a device mismatch, each message naming ``name``.
    With ``dtype`` given the result is converted to it (a float64 batch given to a
    float32 model is converted, not refused).
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__} (use torch.as_tensor)")
    if not x.is_floating_point():
        raise TypeError(f"{name} must have a floating dtype, got {x.dtype} (use .float())")
    if allow_1d and x.dim() == 1:
        x = x.unsqueeze(0)
    if x.dim() != 2:
        raise ValueError(f"{name} must be 2-D with shape (B, {n_cols if n_cols else 'N'}), got shape {tuple(x.shape)}")
    if n_cols is not None and x.shape[1] != n_cols:
        raise ValueError(f"{name} must have {n_cols} columns, got shape {tuple(x.shape)}")
    if device is not None and x.device.type != torch.device(device).type:
        raise ValueError(f"{name} is on {x.device} but the model is on {device}; move it with .to(model.device)")
    # One pass in the common case: a float64 sum is finite exactly when no entry is NaN/Inf
    # (barring overflow, which the exact test below then settles).
    if not torch.isfinite(x.sum(dtype=torch.float64)) and not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or Inf values")
    if dtype is not None and x.dtype != dtype:
        x = x.to(dtype)
    return x


def warn_if_outside_unit_range(name: str, x: torch.Tensor, lo: float = -0.5, hi: float = 2.0) -> None:
    """Warn (once per call) when data lie far outside [0, 1], the range the paper assumes."""
    if x.numel() and (float(x.min()) < lo or float(x.max()) > hi):
        warnings.warn(
            f"{name} has values in [{float(x.min()):.3g}, {float(x.max()):.3g}], far outside [0, 1]; "
            "the paper's settings assume pixels scaled to [0, 1]",
            stacklevel=3,
        )


# ------------------------------------------------------------------------ files, cache


def cache_dir(*parts: str, create: bool = True) -> Path:
    """The user's cache folder for sesmlib (``$SESMLIB_CACHE_DIR`` or ``~/.cache/sesmlib``,
    honouring ``$XDG_CACHE_HOME``), with ``parts`` appended; created unless ``create`` is False."""
    root = os.environ.get("SESMLIB_CACHE_DIR")
    base = Path(root).expanduser() if root else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sesmlib"
    path = base.joinpath(*parts)
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename,
    so a reader never sees a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def config_hash(config: dict) -> str:
    """A short stable hash of a JSON-able configuration, for cache file names."""
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def cached_model(kind: str, config: dict, load: Callable[[Path], Any], train: Callable[[], Any]) -> tuple[Any, bool]:
    """The model that ``config`` names, from ``cache_dir("models")`` or freshly trained.

    The file is ``{kind}-{config_hash(config)}.pt``. When it exists, ``load(path)`` reads it;
    a damaged file (ValueError or OSError) is deleted and the model retrained, not fatal.
    Otherwise ``train()`` makes the model, which is saved with its ``save(path)`` (atomic).
    Returns ``(model, from_cache)``.
    """
    path = cache_dir("models") / f"{kind}-{config_hash(config)}.pt"
    if path.is_file():
        try:
            return load(path), True
        except (ValueError, OSError):
            path.unlink(missing_ok=True)
    model = train()
    model.save(path)
    return model, False


# --------------------------------------------------------------------------- progress


def progress(iterable: Iterable | None = None, *, enable: bool = True, **kwargs):
    """A tqdm progress bar (the notebook widget inside Jupyter, text elsewhere),
    or the bare iterable when ``enable`` is False."""
    if not enable:
        return iterable if iterable is not None else _NullBar()
    from tqdm.auto import tqdm

    return tqdm(iterable, **kwargs)


class _NullBar:
    """Stands in for a tqdm bar when progress is off."""

    def update(self, n=1):
        pass

    def set_postfix(self, *a, **k):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# ------------------------------------------------------------------------ model files

_FORMAT = "sesmlib-model-v1"


def save_model(path: str | os.PathLike, kind: str, config: dict, tensors: dict[str, torch.Tensor]) -> Path:
    """Save a model as plain tensors plus a JSON configuration (atomically).

    The file holds only tensors, strings and numbers, so :func:`load_model` reads it with
    ``torch.load(weights_only=True)``: loading never unpickles arbitrary objects.
    """
    payload = {
        "format": _FORMAT,
        "kind": kind,
        "config": json.dumps(config, sort_keys=True),
        "tensors": {k: v.detach().cpu().clone() for k, v in tensors.items()},
    }
    buf = io.BytesIO()
    torch.save(payload, buf)
    return atomic_write_bytes(path, buf.getvalue())


def load_model(path: str | os.PathLike, kind: str) -> tuple[dict, dict[str, torch.Tensor]]:
    """Read a file written by :func:`save_model`; return ``(config, tensors)``.

    Raises FileNotFoundError naming the file when it is missing, and ValueError naming
    the file when it is corrupt, not a sesmlib model, or a model of another kind.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a damaged zip/pickle
        raise ValueError(f"model file {path} is corrupt or not a sesmlib model file ({type(exc).__name__}: {exc})") from None
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise ValueError(f"model file {path} is not a sesmlib model file (format marker missing)")
    if payload.get("kind") != kind:
        raise ValueError(f"model file {path} holds a {payload.get('kind')!r} model, not a {kind!r} model")
    try:
        config = json.loads(payload["config"])
        tensors = dict(payload["tensors"])
    except Exception as exc:
        raise ValueError(f"model file {path} is corrupt: {exc}") from None
    return config, tensors
