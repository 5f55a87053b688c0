"""Trained SESMs on MNIST, trained once and cached, so that notebooks 04-07 share them.

``trained_sesm(alpha_s)`` returns the model the paper describes (first 20000 MNIST
training digits, 200 code units, g = 7, alpha_r = 0.0004), trained by
:meth:`sesmlib.sesm.SESM.fit` the first time and loaded from ``cache_dir("models")``
afterwards; ``trained_sweep()`` does the same for the paper's alpha_s sweep
(1, 0.5, 0.2, 0.1, 0.05), training the missing models in one pass with
:func:`sesmlib.sesm.fit_sweep`.

The cache key is :func:`sesmlib._utils.config_hash` of the full training configuration
(:func:`sesm_config`: data, model and every training setting, the library's defaults
written out), so a change of any setting trains a new model and never loads a stale one.
A model trained alone and the same model trained inside a sweep share one key: the sweep
gives the one-by-one result within float rounding (tested in tests/test_sesm.py).

Two profiles: the full one is the paper's set-up; ``quick=True`` (what ``make test``
runs) trains on 2000 digits for one epoch, enough for every picture to show something.

Beside the fit history, each cached model records how far the encoder's prediction is
from the optimal code over training (:func:`encoder_gap`), measured before training and
after each epoch on a fixed probe of 200 training digits: the reason the encoder alone
serves at test time.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch

from . import _utils
from . import sesm as _sesm
from ._device import device as _pick_device

__all__ = [
    "Trained",
    "sesm_config",
    "trained_sesm",
    "trained_sweep",
    "encoder_gap",
    "GAP_STEPS",
    "GAP_STEP_SIZE",
    "PROBE_SIZE",
]

# Bump when the meaning of a cached file changes (its contents or the training code).
_ZOO_VERSION = 1

#: Inference used to measure the encoder's gap: many more steps than training uses, so
#: that Z* is close to the true minimiser of eq. 8 (measured: the loss changes by < 0.1 %
#: between 30 and 100 steps of size 0.2 on a trained model).
GAP_STEPS = 30
GAP_STEP_SIZE = 0.2
#: The probe: the first PROBE_SIZE training digits.
PROBE_SIZE = 200

_PROFILES = {"full": {"n_train": 20000, "epochs": 5}, "quick": {"n_train": 2000, "epochs": 1}}


@dataclass
class Trained:
    """A trained SESM with what was measured while training it.

    Attributes
    ----------
    model : SESM
    history : dict of lists
        :meth:`SESM.fit`'s history (one entry per epoch: "loss", "energy_enc",
        "energy_dec", "sparsity", "l1", "active", "time", ...) plus the encoder's gap
        (one entry per epoch, starting with epoch 0 = before training): "gap_epoch",
        "gap_code", "gap_units", "gap_loss" (see :func:`encoder_gap`).
    config : dict
        The training configuration (:func:`sesm_config`).
    path : Path
        The cached model file.
    cached : bool
        True when the model was loaded from the cache, False when trained by this call.
    """

    model: "_sesm.SESM"
    history: dict
    config: dict
    path: Path
    cached: bool = field(default=False)

    @property
    def train_seconds(self) -> float:
        """Seconds spent in training steps (excluding the per-epoch measurements)."""
        return float(sum(self.history.get("time", [])))

    @property
    def digits_per_second(self) -> float:
        """Training throughput: digits processed per second of training (all epochs)."""
        n = self.config["n_train"] * len(self.history.get("time", []))
        return n / max(self.train_seconds, 1e-12)


def sesm_config(
    alpha_s: float = 0.2,
    *,
    quick: bool = False,
    n_train: int | None = None,
    n_code: int = 200,
    gain: float = 7.0,
    alpha_e: float = 1.0,
    alpha_r: float = 4e-4,
    seed: int = 0,
    **fit_settings,
) -> dict:
    """The full configuration of a cached SESM: data, model and training settings.

    Defaults are the paper's MNIST set-up (Sections 4.1, 5.1) and the library's choices
    where the paper is silent (see :meth:`sesmlib.sesm.SESM.fit`). ``quick`` picks the
    quick profile's data size and epochs (2000 digits, 1 epoch) instead of the paper's
    (20000 digits, 5 epochs); ``n_train`` and ``epochs`` override either.

    Every keyword argument of :meth:`SESM.fit` (``epochs``, ``batch_size``, ``lr``,
    ``momentum``, ...) is accepted, and every one is written into the configuration with
    its value (defaults resolved: ``lr=None`` becomes the library's default learning rate
    for the batch size), so that a change of a library default changes the cache key.

    Examples
    --------
    >>> c = sesm_config(0.2, quick=True)
    >>> c["n_train"], c["alpha_s"], c["fit"]["epochs"], c["fit"]["batch_size"]
    (2000, 0.2, 1, 1)
    """
    prof = _PROFILES["quick" if quick else "full"]
    n_train = prof["n_train"] if n_train is None else _utils.check_positive_int("n_train", n_train)
    if n_train > 60000:
        raise ValueError(f"n_train must be at most 60000 (the MNIST training set), got {n_train}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {seed!r}")
    fit = _sesm.fit_settings(**{"epochs": prof["epochs"], **fit_settings, "seed": seed})
    fit["epochs"] = _utils.check_positive_int("epochs", fit["epochs"])
    fit["lr"] = _utils.check_nonnegative("lr", fit["lr"], positive=True)
    return {
        "zoo_version": _ZOO_VERSION,
        "data": "mnist-train-first",
        "n_train": n_train,
        "n_code": _utils.check_positive_int("n_code", n_code),
        "gain": _utils.check_nonnegative("gain", gain, positive=True),
        "alpha_e": _utils.check_nonnegative("alpha_e", alpha_e),
        "alpha_s": _utils.check_nonnegative("alpha_s", alpha_s),
        "alpha_r": _utils.check_nonnegative("alpha_r", alpha_r),
        "fit": fit,
    }


def encoder_gap(model: "_sesm.SESM", Y: torch.Tensor, *, steps: int = GAP_STEPS, step_size: float = GAP_STEP_SIZE) -> dict:
    """How far the encoder's prediction ``f_enc(Y)`` is from the optimal code Z*.

    Z* is found by :meth:`SESM.infer_code` (``steps`` steps from ``f_enc(Y)``). Returns
    plain floats, averaged over the samples:

    - "gap_code": mean |l(Z*) - l(f_enc(Y))| per code unit (0 = the encoder is optimal);
    - "gap_units": fraction of units whose state (l > 0.5) differs between the two;
    - "gap_loss": relative loss excess of the encoder's code,
      (L(Y, f_enc(Y)) - L(Y, Z*)) / L(Y, Z*)  (eq. 8).

    Examples
    --------
    >>> from sesmlib.sesm import SESM
    >>> m = SESM(784, 20, seed=0, device="cpu")
    >>> g = encoder_gap(m, torch.rand(8, 784), steps=5)
    >>> sorted(g), g["gap_loss"] >= 0
    (['gap_code', 'gap_loss', 'gap_units'], True)
    """
    with torch.no_grad():
        U = model.encode(Y)  # (B, M)
        Z = model.infer_code(Y, steps=steps, step_size=step_size)  # (B, M)
        s_u, s_z = _sesm.logistic(U, model.gain), _sesm.logistic(Z, model.gain)
        L_u, L_z = model.loss(Y, U).mean(), model.loss(Y, Z).mean()
        return {
            "gap_code": float((s_z - s_u).abs().mean()),
            "gap_units": float(((s_z > 0.5) != (s_u > 0.5)).to(Y.dtype).mean()),
            "gap_loss": float((L_u - L_z) / L_z.abs().clamp_min(1e-12)),
        }


# --------------------------------------------------------------------------- the cache


def _paths(config: dict) -> tuple[Path, Path]:
    key = _utils.config_hash(config)
    folder = _utils.cache_dir("models")
    return folder / f"sesm-{key}.pt", folder / f"sesm-{key}.json"


def _load(config: dict, device) -> Trained | None:
    """The cached model for ``config``, or None when absent or unreadable."""
    model_path, meta_path = _paths(config)
    if not (model_path.is_file() and meta_path.is_file()):
        return None
    try:
        meta = json.loads(meta_path.read_text())
        if meta.get("config") != config:
            return None
        expected = {k: config[k] for k in ("n_code", "gain", "alpha_e", "alpha_s", "alpha_r")}
        model = _sesm.SESM.load(model_path, device=device, expected_config=expected)
    except (ValueError, OSError, json.JSONDecodeError):
        return None  # a damaged cache entry is retrained (and overwritten)
    return Trained(model, meta["history"], config, model_path, cached=True)


def _store(model: "_sesm.SESM", history: dict, config: dict) -> Trained:
    model_path, meta_path = _paths(config)
    model.save(model_path)
    blob = json.dumps({"config": config, "history": history}, sort_keys=True, indent=1)
    _utils.atomic_write_bytes(meta_path, blob.encode())
    return Trained(model, history, config, model_path, cached=False)


def _training_data(config: dict, device) -> tuple[torch.Tensor, torch.Tensor]:
    from .data import load_mnist

    X, _ = load_mnist("train", config["n_train"])
    X = X.to(device)
    return X, X[: min(PROBE_SIZE, X.shape[0])]


def _fit_kwargs(config: dict, progress: bool) -> dict:
    return {**config["fit"], "progress": progress}


def _add_gap(history: dict, epoch: int, gap: dict) -> None:
    history.setdefault("gap_epoch", []).append(epoch)
    for k, v in gap.items():
        history.setdefault(k, []).append(v)


def trained_sesm(
    alpha_s: float = 0.2,
    *,
    quick: bool = False,
    device: str | torch.device = "auto",
    progress: bool = True,
    retrain: bool = False,
    **settings,
) -> Trained:
    """A SESM trained on MNIST with :meth:`SESM.fit`, loaded from the cache when present.

    Parameters
    ----------
    alpha_s : float
        Weight of the sparsity term (the paper's filters use 0.2).
    quick : bool
        The quick profile (2000 digits, 1 epoch) instead of the paper's 20000 digits.
    device : "auto", "cpu", "cuda" or torch.device
        Where to train and where the returned model lives (not part of the cache key:
        CPU and GPU give the same model within float rounding).
    progress : bool
        Show the training progress bar.
    retrain : bool
        Train even when a cached model exists (and overwrite it).
    **settings
        Any other argument of :func:`sesm_config` (``batch_size``, ``epochs``,
        ``n_train``, ``lr``, ``seed``, ...).

    Returns
    -------
    Trained
        ``.model``, ``.history`` (with the encoder's gap per epoch), ``.config``,
        ``.cached``.

    Examples
    --------
    >>> run = trained_sesm(0.2, quick=True)          # doctest: +SKIP
    >>> run.model.W.shape, run.history["active"][-1]  # doctest: +SKIP
    (torch.Size([784, 200]), 0.21...)
    """
    config = sesm_config(alpha_s, quick=quick, **settings)
    dev = _pick_device(device)
    if not retrain:
        hit = _load(config, dev)
        if hit is not None:
            return hit
    X, probe = _training_data(config, dev)
    model = _sesm.SESM(
        784, config["n_code"], gain=config["gain"], alpha_e=config["alpha_e"], alpha_s=config["alpha_s"],
        alpha_r=config["alpha_r"], seed=config["fit"]["seed"], device=dev,
    )
    gaps: dict = {}
    _add_gap(gaps, 0, encoder_gap(model, probe))

    def after_epoch(m, epoch, stats):
        _add_gap(gaps, epoch, encoder_gap(m, probe))

    history = model.fit(X, callback=after_epoch, **_fit_kwargs(config, progress))
    history = {**history, **gaps}
    return _store(model, history, config)


def trained_sweep(
    alphas: Sequence[float] = _sesm.PAPER_ALPHAS,
    *,
    quick: bool = False,
    device: str | torch.device = "auto",
    progress: bool = True,
    retrain: bool = False,
    **settings,
) -> dict[float, Trained]:
    """The paper's alpha_s sweep: one trained SESM per alpha_s, from the cache when present.

    The models not in the cache are trained together in one pass over the data with
    :func:`sesmlib.sesm.fit_sweep` (same initial filters, same sample order); each is then
    cached under the same key as :func:`trained_sesm` would use, so either function finds
    the other's models.

    Parameters
    ----------
    alphas : sequence of float
        Default: the paper's (1, 0.5, 0.2, 0.1, 0.05).
    quick, device, progress, retrain, **settings
        As for :func:`trained_sesm`.

    Returns
    -------
    dict
        alpha_s -> :class:`Trained`, in the order of ``alphas``.

    Examples
    --------
    >>> runs = trained_sweep(quick=True)                         # doctest: +SKIP
    >>> [round(r.history["active"][-1], 2) for r in runs.values()]  # doctest: +SKIP
    """
    alphas = [_utils.check_nonnegative("alphas", a) for a in alphas]
    if not alphas:
        raise ValueError("alphas must hold at least one value")
    if len(set(alphas)) != len(alphas):
        raise ValueError(f"alphas must be distinct, got {alphas}")
    dev = _pick_device(device)
    configs = {a: sesm_config(a, quick=quick, **settings) for a in alphas}
    out: dict[float, Trained] = {}
    if not retrain:
        for a, c in configs.items():
            hit = _load(c, dev)
            if hit is not None:
                out[a] = hit
    missing = [a for a in alphas if a not in out]
    if missing:
        c0 = configs[missing[0]]
        X, probe = _training_data(c0, dev)
        gaps: list[dict] = [{} for _ in missing]

        def after_epoch(models, epoch, stats):
            for g, m in zip(gaps, models):
                _add_gap(g, epoch, encoder_gap(m, probe))

        models, histories = _sesm.fit_sweep(
            X, missing, n_code=c0["n_code"], gain=c0["gain"], alpha_e=c0["alpha_e"], alpha_r=c0["alpha_r"],
            device=dev, callback=after_epoch, **_fit_kwargs(c0, progress),
        )
        # Epoch 0: every model starts from the filters SESM(..., seed) draws; rebuild them.
        for a, m, h, g in zip(missing, models, histories, gaps):
            init = _sesm.SESM(784, c0["n_code"], gain=c0["gain"], alpha_e=c0["alpha_e"], alpha_s=a,
                              alpha_r=c0["alpha_r"], seed=c0["fit"]["seed"], device=dev)
            g0: dict = {}
            _add_gap(g0, 0, encoder_gap(init, probe))
            merged = {k: g0[k] + g.get(k, []) for k in g0}
            out[a] = _store(m, {**h, **merged}, configs[a])
    return {a: out[a] for a in alphas}
