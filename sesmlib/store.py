"""The store: every trained model and computed result, kept in the user's cache folder.

One function, :func:`fetch`, serves every kind of stored object: the SESMs of notebooks
04-07 (:mod:`sesmlib.zoo`), the RBM and PCA of Figure 1, the second-stage and patch
models (:mod:`sesmlib.stack`), the Figure-1 result and the classifier-protocol search
(:mod:`sesmlib.experiments`). Apart from the MNIST files (:mod:`sesmlib.data`), nothing
else reads or writes the cache folder.

An entry is found by its *key*: the kind of object, the kind's code version
(:data:`KINDS`), the store's own version, and a JSON-able dict that names everything the
object depends on (its full settings, written out with every default, and the data slice
it was made from). Two files per entry, in ``cache_dir("store")``:

- the payload: the model file (``{kind}-{hash}.pt``, written by the model's ``save``) or
  the result (``{kind}-{hash}.json``);
- the metadata ``{kind}-{hash}.meta.json``: the full key, the payload's sha256, the
  training history, the time it was made.

Both are written atomically (payload first), readable as the umask allows. On load the
metadata's key and schema, the payload's checksum, and the model itself (its class's
``load``: kind, shapes before allocation, finite parameters, expected configuration) are
checked; *any* failure is reported by a warning naming the file, and the object is made
again and stored over the damaged copy. A cache folder that cannot be written is noticed
before anything is trained: the object is then made and kept in memory only, with a
warning that says how to keep it (``SESMLIB_CACHE_DIR``).

Besides the user's store, sesmlib ships read-only *reference* copies of two results in
the same layout (:data:`REFERENCE_KINDS`, in ``sesmlib/reference/``): the maintainers'
full-profile Figure-1 run and speed comparison, written by ``make figure1``. Only a caller
that asks reads them (:func:`load_reference`, or :func:`fetch` with ``reference=True``:
``experiments.figure1(reference=True)``, used by notebook 06), and only when the key, code versions included, is the same.

Examples
--------
>>> import os, tempfile
>>> os.environ["SESMLIB_CACHE_DIR"] = tempfile.mkdtemp()
>>> made = fetch("figure1-search", {"n": 1}, lambda: ({"rows": [1, 2]}, {}))
>>> made.cached, made.value
(False, {'rows': [1, 2]})
>>> again = fetch("figure1-search", {"n": 1}, lambda: ({"rows": []}, {}))
>>> again.cached, again.value
(True, {'rows': [1, 2]})
"""
from __future__ import annotations

import hashlib
import importlib
import json
import os
import secrets
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import _utils

__all__ = ["Kind", "KINDS", "STORE_VERSION", "Entry", "fetch", "load", "save", "can_write", "folder", "key_of", "fingerprint",
           "REFERENCE_KINDS", "reference_folder", "load_reference", "save_reference"]

#: The store's own version: bump it when the layout of the files changes (every entry of
#: an earlier version is then made again; nothing is migrated).
STORE_VERSION = 2
_SCHEMA = "sesmlib-store-meta-v1"


@dataclass(frozen=True)
class Kind:
    """A kind of stored object.

    Attributes
    ----------
    model_class : str or None
        ``"module:Class"`` of a model (saved with ``save``, read with
        ``Class.load(path, device=..., expected_config=...)``); None for a JSON result.
    version : int
        The kind's code version: bump it when the code that makes the object changes what
        it makes, so that objects made by the old code are not read.
    """

    model_class: str | None
    version: int

    @property
    def suffix(self) -> str:
        return ".pt" if self.model_class else ".json"


#: Every kind the store knows, with its code version.
KINDS: dict[str, Kind] = {
    "sesm": Kind("sesmlib.sesm:SESM", 3),  # zoo: SESM on MNIST
    "sesm-stage2": Kind("sesmlib.sesm:SESM", 3),  # stack: second stage on first-stage codes
    "sesm-patches": Kind("sesmlib.sesm:SESM", 3),  # stack: SESM on natural image patches
    "rbm": Kind("sesmlib.rbm:RBM", 1),  # zoo: the Figure-1 RBM
    "pca": Kind("sesmlib.pca:PCA", 1),  # zoo: the Figure-1 PCA
    "figure1": Kind(None, 3),  # experiments: the Figure-1 result
    "figure1-search": Kind(None, 2),  # experiments: the classifier-protocol search
    "speed": Kind(None, 2),  # speed: SESM against the RBM, training time
}


@dataclass
class Entry:
    """What :func:`fetch` returns.

    Attributes
    ----------
    value : the model or the result
    history : dict
        The training history stored with it ({} when there is none).
    key : dict
        The full key (kind, versions and the caller's key).
    path : Path or None
        The payload file; None when the object is kept in memory only (unwritable cache).
    cached : bool
        True when read from the store (or the shipped references), False when made by
        this call.
    reference : bool
        True when read from the reference results shipped with sesmlib
        (:func:`load_reference`).
    """

    value: Any
    history: dict = field(default_factory=dict)
    key: dict = field(default_factory=dict)
    path: Path | None = None
    cached: bool = False
    reference: bool = False


def folder(*, create: bool = False) -> Path:
    """The store's folder, ``cache_dir("store")`` (``$SESMLIB_CACHE_DIR/store``)."""
    return _utils.cache_dir("store", create=create)


def key_of(kind: str, key: dict) -> dict:
    """The full key of an entry: the caller's ``key`` with the kind and both versions,
    as plain JSON data (tuples become lists).

    Examples
    --------
    >>> key_of("pca", {"n_components": 3})["kind_version"]
    1
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; the store knows {', '.join(KINDS)}")
    if not isinstance(key, dict):
        raise TypeError(f"key must be a dict, got {type(key).__name__}")
    full = {"kind": kind, "kind_version": KINDS[kind].version, "store_version": STORE_VERSION, **key}
    return json.loads(json.dumps(full, sort_keys=True, default=str))


def fingerprint(*tensors) -> str:
    """A short hash of tensors' values (training data, a model's parameters), for keys.

    Examples
    --------
    >>> import torch
    >>> fingerprint(torch.zeros(2, 3)) == fingerprint(torch.zeros(2, 3)) != fingerprint(torch.ones(2, 3))
    True
    """
    import torch

    h = hashlib.sha256()
    for t in tensors:
        t = t.detach().to("cpu", torch.float32).contiguous()
        h.update(str(tuple(t.shape)).encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()[:16]


def _paths(kind: str, full_key: dict, base: Path | None = None) -> tuple[Path, Path]:
    stem = f"{kind}-{_utils.config_hash(full_key)}"
    base = folder() if base is None else base
    return base / f"{stem}{KINDS[kind].suffix}", base / f"{stem}.meta.json"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _model_class(kind: str):
    module, name = KINDS[kind].model_class.split(":")
    return getattr(importlib.import_module(module), name)


def _read(kind: str, full_key: dict, payload: Path, meta_path: Path, device, check) -> Entry:
    """Read and check one entry; any problem raises (the caller reports and remakes it)."""
    meta = json.loads(meta_path.read_text())
    if not isinstance(meta, dict) or meta.get("schema") != _SCHEMA:
        raise ValueError("its metadata has an unknown layout")
    if meta.get("key") != full_key:
        raise ValueError("its metadata names another key")
    history = meta.get("history", {})
    if not isinstance(history, dict) or not all(isinstance(v, list) for v in history.values()):
        raise ValueError("its history is not a dict of lists")
    if meta.get("sha256") != _sha256(payload):
        raise ValueError("its checksum does not match its contents")
    if KINDS[kind].model_class:
        value = _model_class(kind).load(payload, device=device, expected_config=full_key.get("model"))
    else:
        value = json.loads(payload.read_text())
    if check is not None:
        value = check(value)
    return Entry(value, history, full_key, payload, cached=True)


def _unwritable(base: Path) -> str | None:
    """Why nothing can be written into ``base`` (None when it can)."""
    try:
        base.mkdir(parents=True, exist_ok=True)
        probe = base / f".probe-{secrets.token_hex(6)}"
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        os.close(fd)
        probe.unlink()
    except OSError as exc:
        return f"{type(exc).__name__}: {exc.strerror or exc}"
    return None


def _write(kind: str, full_key: dict, value, history: dict, payload: Path, meta_path: Path) -> None:
    if KINDS[kind].model_class:
        value.save(payload)
    else:
        _utils.atomic_write_bytes(payload, json.dumps(value, indent=1, sort_keys=True).encode())
    meta = {"schema": _SCHEMA, "key": full_key, "sha256": _sha256(payload), "history": history,
            "created": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    _utils.atomic_write_bytes(meta_path, json.dumps(meta, indent=1, sort_keys=True).encode())


def load(kind: str, key: dict, *, device="cpu", check: Callable[[Any], Any] | None = None) -> Entry | None:
    """The stored entry for ``(kind, key)``, or None when there is none or it is damaged
    (a damaged entry is reported by a warning naming its file). See :func:`fetch`."""
    full = key_of(kind, key)
    payload, meta_path = _paths(kind, full)
    if not meta_path.is_file():
        return None
    try:
        return _read(kind, full, payload, meta_path, device, check)
    except Exception as exc:  # whatever the damage, the caller makes the object again
        warnings.warn(f"the stored {kind} in {payload} is damaged or unreadable "
                      f"({type(exc).__name__}: {exc}); making it again", stacklevel=3)
    return None


def can_write(kind: str) -> bool:
    """Whether new entries can be stored; when not, warn (before anything is trained)
    that the ``kind`` will be kept in memory only, and how to keep it."""
    base = folder()
    why = _unwritable(base)
    if why:
        warnings.warn(f"the cache folder {base} cannot be written ({why}): the {kind} will be made "
                      "and kept in memory only. Set SESMLIB_CACHE_DIR to a writable folder to keep it.", stacklevel=3)
    return why is None


def save(kind: str, key: dict, value, history: dict | None = None) -> Entry:
    """Store ``value`` (a model, or JSON-able result) and its history under
    ``(kind, key)``, payload first, both atomically. When writing fails the entry is
    returned all the same, kept in memory only (``path`` None), with a warning."""
    full = key_of(kind, key)
    payload, meta_path = _paths(kind, full)
    history = dict(history or {})
    try:
        _write(kind, full, value, history, payload, meta_path)
    except OSError as exc:
        warnings.warn(f"could not store the {kind} in {payload} ({type(exc).__name__}: {exc}); it is kept in "
                      "memory only", stacklevel=3)
        return Entry(value, history, full, None, cached=False)
    return Entry(value, history, full, payload, cached=False)


def fetch(
    kind: str,
    key: dict,
    make: Callable[[], tuple[Any, dict | None]],
    *,
    device="cpu",
    retrain: bool = False,
    check: Callable[[Any], Any] | None = None,
    reference: bool = False,
) -> Entry:
    """The object that ``(kind, key)`` names: read from the store when a sound copy is
    there, else made by ``make()`` and stored.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    key : dict
        Everything the object depends on, JSON-able: its full settings (defaults written
        out) and the data slice. For a model, ``key["model"]`` is its expected
        ``config`` (checked on load).
    make : callable
        ``make() -> (object, history)``: trains the model (or computes the result). A
        model has ``save(path)``; a result is JSON-able data.
    device : where a model is loaded
    retrain : bool
        Make the object even when a stored copy exists (and store it over the copy).
    reference : bool
        When the store has no sound copy, return the reference copy shipped with
        sesmlib (:func:`load_reference`) when there is one for the key, before making
        the object (never with ``retrain``).
    check : callable, optional
        Applied to an object read from the store; what it returns is returned, and if
        it raises, the copy counts as damaged.

    Returns
    -------
    :class:`Entry`

    Warns
    -----
    UserWarning
        When a stored copy is damaged (naming its file; it is made again), and when the
        cache folder cannot be written (noticed before ``make`` runs; the object is then
        kept in memory only).

    Examples
    --------
    >>> import os, tempfile
    >>> from sesmlib.pca import PCA
    >>> os.environ["SESMLIB_CACHE_DIR"] = tempfile.mkdtemp()
    >>> key = {"model": {"n_components": 2, "n_features": 4, "dtype": "float32"}, "data": "rand(30, 4)"}
    >>> import torch
    >>> make = lambda: (PCA(2, device="cpu").fit(torch.rand(30, 4)), {})
    >>> fetch("pca", key, make).cached, fetch("pca", key, make).cached
    (False, True)
    """
    hit = None if retrain else load(kind, key, device=device, check=check)
    if hit is None and reference and not retrain:
        hit = load_reference(kind, key, check=check)
    if hit is not None:
        return hit
    writable = can_write(kind)
    value, history = make()
    if not writable:
        return Entry(value, dict(history or {}), key_of(kind, key), None, cached=False)
    return save(kind, key, value, history)


# =============================================================================
# Reference results shipped with sesmlib
# =============================================================================

#: The kinds of result sesmlib ships a reference copy of: the maintainers' full-profile
#: run (``make figure1``), so that notebook 06 can show it without a 12-minute computation.
REFERENCE_KINDS = ("figure1", "speed")


def _check_reference_kind(kind: str) -> None:
    if kind not in REFERENCE_KINDS:
        raise ValueError(f"sesmlib ships no reference {kind!r} results; it ships {', '.join(REFERENCE_KINDS)}")


def reference_folder() -> Path:
    """The folder of the shipped reference results, ``sesmlib/reference`` (read-only
    for users; written by the maintainers' ``make figure1``)."""
    return Path(__file__).resolve().parent / "reference"


def load_reference(kind: str, key: dict, *, check: Callable[[Any], Any] | None = None) -> Entry | None:
    """The reference result shipped with sesmlib for ``(kind, key)``, or None when none
    matches: the same files and checks as a store entry (:func:`fetch`), read from
    :func:`reference_folder`. The key holds the kind's code version, so a reference made
    by older code never matches (a test fails until the maintainers regenerate it).

    Examples
    --------
    >>> load_reference("figure1", {"no": "such run"}) is None
    True
    """
    _check_reference_kind(kind)
    full = key_of(kind, key)
    payload, meta_path = _paths(kind, full, reference_folder())
    if not meta_path.is_file():
        return None
    try:
        entry = _read(kind, full, payload, meta_path, "cpu", check)
        entry.reference = True
        return entry
    except Exception as exc:  # a damaged reference: compute instead, and say so
        warnings.warn(f"the reference {kind} result {payload} is damaged or unreadable ({type(exc).__name__}: {exc}); "
                      "it is not used", stacklevel=2)
    return None


def save_reference(kind: str, key: dict, value, *, base: str | Path | None = None) -> Path:
    """Write ``value`` as the reference ``kind`` result for ``key`` (payload and metadata,
    atomically, in the store's layout) into ``base`` (default :func:`reference_folder`),
    and remove every other reference of that kind there; returns the payload's path.

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> save_reference("speed", {"n": 1}, {"verdict": "x"}, base=d).name.startswith("speed-")
    True
    >>> p = save_reference("speed", {"n": 2}, {"verdict": "y"}, base=d)
    >>> sorted(f.name for f in Path(d).iterdir()) == sorted([p.name, p.name.replace(".json", ".meta.json")])
    True
    """
    _check_reference_kind(kind)
    base = reference_folder() if base is None else Path(base)
    base.mkdir(parents=True, exist_ok=True)
    full = key_of(kind, key)
    payload, meta_path = _paths(kind, full, base)
    _write(kind, full, value, {}, payload, meta_path)
    for old in base.glob(f"{kind}-[0-9a-f]*.json"):
        if old not in (payload, meta_path):
            old.unlink()
    return payload
