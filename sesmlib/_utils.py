"""Small shared helpers: argument checks, the cache folder, atomic writes, progress bars,
and safe saving/loading of model files. Every module uses these instead of its own copy."""
from __future__ import annotations

import hashlib
import io
import json
import math
import operator
import os
import secrets
import warnings
from pathlib import Path
from typing import Any, Iterable

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
    so a reader never sees a half-written file.

    The file gets the permissions the umask allows (0644 under the usual umask 022), like a
    file written with ``open``, so a shared folder stays readable to others.

    Examples
    --------
    >>> import os, tempfile
    >>> p = atomic_write_bytes(os.path.join(tempfile.mkdtemp(), "x.bin"), b"abc")
    >>> p.read_bytes()
    b'abc'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # mode filtered by the umask
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def config_hash(config: dict) -> str:
    """A short stable hash of a JSON-able configuration, for cache file names."""
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


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

_FORMAT = "sesmlib-model-v2"


def _tensor_digest(kind: str, config_json: str, tensors: dict[str, torch.Tensor]) -> str:
    """sha256 of a model's kind, configuration and tensors (names, dtypes, shapes, bytes)."""
    h = hashlib.sha256()
    h.update(kind.encode())
    h.update(config_json.encode())
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def save_model(path: str | os.PathLike, kind: str, config: dict, tensors: dict[str, torch.Tensor]) -> Path:
    """Save a model as plain tensors plus a JSON configuration and a checksum (atomically).

    The file holds only tensors, strings and numbers, so :func:`load_model` reads it with
    ``torch.load(weights_only=True)``: loading never unpickles arbitrary objects. The
    checksum (sha256 of the kind, the configuration and every tensor's bytes) lets
    :func:`load_model` notice a damaged file.

    Examples
    --------
    >>> import os, tempfile, torch
    >>> p = save_model(os.path.join(tempfile.mkdtemp(), "m.pt"), "toy", {"n": 2}, {"w": torch.ones(2)})
    >>> load_model(p, "toy")
    ({'n': 2}, {'w': tensor([1., 1.])})
    """
    config_json = json.dumps(config, sort_keys=True)
    tensors = {k: v.detach().cpu().clone() for k, v in tensors.items()}
    payload = {
        "format": _FORMAT,
        "kind": kind,
        "config": config_json,
        "tensors": tensors,
        "checksum": _tensor_digest(kind, config_json, tensors),
    }
    buf = io.BytesIO()
    torch.save(payload, buf)
    return atomic_write_bytes(path, buf.getvalue())


def load_model(path: str | os.PathLike, kind: str) -> tuple[dict, dict[str, torch.Tensor]]:
    """Read a file written by :func:`save_model`; return ``(config, tensors)``.

    Raises FileNotFoundError naming the file when it is missing, and ValueError naming
    the file when it is corrupt (its checksum does not match), not a sesmlib model, or a
    model of another kind. The caller checks the tensors' shapes against the
    configuration (:func:`check_tensors`) before it allocates anything from it.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a damaged zip/pickle
        raise ValueError(f"model file {path} is corrupt or not a sesmlib model file ({type(exc).__name__}: {exc})") from None
    if not isinstance(payload, dict) or not str(payload.get("format", "")).startswith("sesmlib-model-"):
        raise ValueError(f"model file {path} is not a sesmlib model file (format marker missing)")
    if payload["format"] != _FORMAT:
        raise ValueError(f"model file {path} was written by another version of sesmlib ({payload['format']}, "
                         f"this one reads {_FORMAT}); train and save the model again")
    if payload.get("kind") != kind:
        raise ValueError(f"model file {path} holds a {payload.get('kind')!r} model, not a {kind!r} model")
    try:
        config_json, tensors = payload["config"], dict(payload["tensors"])
        if not all(isinstance(t, torch.Tensor) for t in tensors.values()):
            raise TypeError("an entry of 'tensors' is not a tensor")
        ok = payload.get("checksum") == _tensor_digest(kind, config_json, tensors)
        config = json.loads(config_json)
        if not isinstance(config, dict):
            raise TypeError("the configuration is not a dict")
    except Exception as exc:
        raise ValueError(f"model file {path} is corrupt: {exc}") from None
    if not ok:
        raise ValueError(f"model file {path} is corrupt: its checksum does not match its contents")
    return config, tensors


def check_tensors(path, tensors: dict[str, torch.Tensor], shapes: dict[str, tuple[int, ...]]) -> None:
    """Check that a loaded model file holds exactly the tensors ``shapes`` names, each
    floating, of that shape and finite; ValueError naming the file otherwise.

    Examples
    --------
    >>> import torch
    >>> check_tensors("m.pt", {"W": torch.zeros(2, 3)}, {"W": (2, 3)})
    >>> check_tensors("m.pt", {"W": torch.zeros(2, 2)}, {"W": (2, 3)})
    Traceback (most recent call last):
    ...
    ValueError: model file m.pt is corrupt: W has shape (2, 2), its configuration says (2, 3)
    """
    if set(tensors) != set(shapes):
        raise ValueError(f"model file {path} is corrupt: it holds tensors {sorted(tensors)}, expected {sorted(shapes)}")
    for name, shape in shapes.items():
        t = tensors[name]
        if tuple(t.shape) != tuple(shape):
            raise ValueError(f"model file {path} is corrupt: {name} has shape {tuple(t.shape)}, its configuration says {tuple(shape)}")
        if not t.is_floating_point():
            raise ValueError(f"model file {path} is corrupt: {name} has dtype {t.dtype}, not a floating dtype")
        if not torch.isfinite(t).all():
            raise ValueError(f"model file {path} is corrupt: {name} contains NaN or Inf")


def config_int(path, config: dict, name: str) -> int:
    """``config[name]`` as a positive int, or ValueError naming the file.

    Examples
    --------
    >>> config_int("m.pt", {"n": 3}, "n")
    3
    """
    try:
        return check_positive_int(name, config[name])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"model file {path} is corrupt: bad or missing {name!r} in its configuration ({exc})") from None


def check_expected_config(path, config: dict, expected: dict | None) -> None:
    """ValueError naming the file when ``config`` differs from ``expected`` on any of
    ``expected``'s entries (a file from another configuration).

    Examples
    --------
    >>> check_expected_config("m.pt", {"n": 3, "a": 1}, {"n": 3})
    >>> check_expected_config("m.pt", {"n": 3}, {"n": 4})
    Traceback (most recent call last):
    ...
    ValueError: model file m.pt has a different configuration (n: file has 3, expected 4)
    """
    if not expected:
        return
    bad = {k: (config.get(k), v) for k, v in expected.items() if config.get(k) != v}
    if bad:
        detail = ", ".join(f"{k}: file has {a!r}, expected {b!r}" for k, (a, b) in bad.items())
        raise ValueError(f"model file {path} has a different configuration ({detail})")
