"""Trained models on MNIST, made once and kept in the store, so that notebooks 04-07 and
the Figure-1 run share them.

- :func:`trained_sesm` returns the SESM the paper describes (first 20000 MNIST training
  digits, 200 code units, g = 7, alpha_r = 0.0004), trained by
  :meth:`sesmlib.sesm.SESM.fit` the first time and read from the store
  (:mod:`sesmlib.store`) afterwards; :func:`trained_sweep` does the same for the paper's
  alpha_s sweep (1, 0.5, 0.2, 0.1, 0.05), training the missing models in one pass with
  :func:`sesmlib.sesm.fit_sweep`.
- :func:`trained_rbm` and :func:`trained_pca`: the Figure-1 baselines, the same way.

Every model is keyed by its full configuration (:func:`sesm_config`, :func:`rbm_config`,
:func:`pca_config`: the data slice, the model and every training setting with the
library's defaults written out), so a change of any setting trains a new model and
never reads a stale one. A model trained alone and the same model trained inside a sweep
share one key: on-line on the cpu the sweep trains each model alone (bit for bit the same
model); with minibatches or on the GPU it gives the one-by-one result within float rounding
(tested).

Two profiles (:mod:`sesmlib.profiles`): the full one is the paper's set-up;
``quick=True`` (what ``make test`` runs) trains on 2000 digits for one epoch, enough for
every picture to show something.

Beside the fit history, each SESM records how far the encoder's prediction is from the
optimal code over training (:func:`encoder_gap`), measured before training and after each
epoch on a fixed probe of 200 training digits: the reason the encoder alone serves at
test time.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch

from . import _utils, profiles, store
from . import sesm as _sesm
from ._device import device as _pick_device

__all__ = [
    "Trained",
    "default_settings",
    "sesm_config",
    "trained_sesm",
    "trained_sweep",
    "rbm_config",
    "trained_rbm",
    "pca_config",
    "trained_pca",
    "stored_fit",
    "encoder_gap",
    "GAP_STEPS",
    "GAP_STEP_SIZE",
    "PROBE_SIZE",
]

#: Inference used to measure the encoder's gap: many more steps than training uses, so
#: that Z* is close to the true minimiser of eq. 8 (measured: the loss changes by < 0.1 %
#: between 30 and 100 steps of size 0.2 on a trained model).
GAP_STEPS = 30
GAP_STEP_SIZE = 0.2
#: The probe: the first PROBE_SIZE training digits.
PROBE_SIZE = 200

_DATA = "mnist-train-first"  # every model here sees the first n_train training digits


@dataclass
class Trained:
    """A trained model with what was measured while training it.

    Attributes
    ----------
    model : SESM, RBM or PCA
    history : dict of lists
        The training history (for a SESM, :meth:`SESM.fit`'s: one entry per epoch:
        "loss", "energy_enc", "energy_dec", "sparsity", "l1", "active", "time", ...,
        plus the encoder's gap, one entry per epoch starting with epoch 0 = before
        training: "gap_epoch", "gap_code", "gap_units", "gap_loss", see
        :func:`encoder_gap`).
    config : dict
        The full configuration the model is stored under (:func:`sesm_config`, ...).
    path : Path or None
        The stored model file (None when the cache folder could not be written).
    cached : bool
        True when the model was read from the store, False when trained by this call.

    Examples
    --------
    >>> run = trained_sesm(0.2, quick=True)                 # doctest: +SKIP
    >>> run.n_train, run.config["fit"]["epochs"], run.cached  # doctest: +SKIP
    (2000, 1, True)
    """

    model: object
    history: dict
    config: dict
    path: Path | None
    cached: bool = field(default=False)

    @classmethod
    def _of(cls, entry: store.Entry) -> "Trained":
        return cls(entry.value, entry.history, entry.key, entry.path, entry.cached)

    @property
    def n_train(self) -> int:
        """The number of training digits the model saw."""
        return int(self.config["n_train"])

    @property
    def train_seconds(self) -> float:
        """Seconds spent in training steps (excluding the per-epoch measurements)."""
        return float(sum(self.history.get("time", [])))

    @property
    def digits_per_second(self) -> float:
        """Training throughput: digits processed per second of training (all epochs)."""
        n = self.n_train * len(self.history.get("time", []))
        return n / max(self.train_seconds, 1e-12)


def _n_train(quick: bool, n_train: int | None) -> int:
    n = profiles.get(quick).n_train if n_train is None else _utils.check_positive_int("n_train", n_train)
    if n > 60000:
        raise ValueError(f"n_train must be at most 60000 (the MNIST training set), got {n}")
    return n


def _training_data(n_train: int, device) -> torch.Tensor:
    from .data import load_mnist

    X, _ = load_mnist("train", n_train)
    return X.to(device)


# --------------------------------------------------------------------------- SESM


def default_settings(quick: bool = False) -> "_sesm.FitSettings":
    """The training settings of the zoo's SESMs: the library's defaults (on-line, see
    :meth:`SESM.fit`), the profile's epochs (:mod:`sesmlib.profiles`), seed 0.

    Examples
    --------
    >>> default_settings(quick=True).epochs, default_settings().epochs
    (1, 2)
    """
    return _sesm.FitSettings(epochs=profiles.get(quick).sesm_epochs, seed=0)


def sesm_config(
    alpha_s: float = 0.2,
    *,
    quick: bool = False,
    n_train: int | None = None,
    n_code: int = 200,
    gain: float = 7.0,
    alpha_e: float = 1.0,
    alpha_r: float = 4e-4,
    convention: str = _sesm.DEFAULT_CONVENTION,
    settings: "_sesm.FitSettings | None" = None,
    **overrides,
) -> dict:
    """The full configuration of a stored SESM: data, model and training settings.

    Defaults are the paper's MNIST set-up (Sections 4.1, 5.1) and the library's choices
    where the paper is silent (see :meth:`sesmlib.sesm.SESM.fit`). ``quick`` picks the
    quick profile's data size and epochs instead of the full profile's (both read from
    :data:`sesmlib.profiles.PROFILES`: 2000 digits for 1 epoch, 20000 digits for 2 epochs);
    ``n_train`` and ``epochs`` override either.

    ``settings`` (default :func:`default_settings`) are the training settings; keyword
    ``overrides`` change any of them (``epochs``, ``batch_size``, ``lr``, ``seed``, ...).
    They are written out resolved (``lr=None`` becomes the default learning rate for the
    batch size), so that a change of a library default changes the key. The seed draws
    the initial filters and the order of the samples.

    Examples
    --------
    >>> c = sesm_config(0.2, quick=True)
    >>> c["n_train"], c["model"]["alpha_s"], c["fit"]["epochs"], c["fit"]["batch_size"]
    (2000, 0.2, 1, 1)
    """
    settings = _sesm.FitSettings.of(settings or default_settings(quick), **overrides)
    model = _sesm.SESM(784, n_code, gain=gain, alpha_e=alpha_e, alpha_s=alpha_s, alpha_r=alpha_r,
                       convention=convention, device="cpu")
    return {
        "data": _DATA,
        "n_train": _n_train(quick, n_train),
        "model": model.config,
        "fit": settings.as_dict(model.convention),
        "encoder_gap": {"probe": PROBE_SIZE, "steps": GAP_STEPS, "step_size": GAP_STEP_SIZE},
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


def _add_gap(history: dict, epoch: int, gap: dict) -> None:
    history.setdefault("gap_epoch", []).append(epoch)
    for k, v in gap.items():
        history.setdefault(k, []).append(v)


def _new_sesm(config: dict, device) -> "_sesm.SESM":
    m = config["model"]
    return _sesm.SESM(784, m["n_code"], gain=m["gain"], alpha_e=m["alpha_e"], alpha_s=m["alpha_s"],
                      alpha_r=m["alpha_r"], convention=m["convention"], seed=config["fit"]["seed"], device=device)


def _settings(config: dict) -> "_sesm.FitSettings":
    return _sesm.FitSettings(**config["fit"])


def trained_sesm(
    alpha_s: float = 0.2,
    *,
    quick: bool = False,
    device: str | torch.device = "auto",
    progress: bool = True,
    retrain: bool = False,
    **config,
) -> Trained:
    """A SESM trained on MNIST with :meth:`SESM.fit`, read from the store when present.

    Parameters
    ----------
    alpha_s : float
        Weight of the sparsity term (the paper's filters use 0.2).
    quick : bool
        The quick profile (2000 digits, 1 epoch) instead of the paper's 20000 digits.
    device : "auto", "cpu", "cuda" or torch.device
        Where to train and where the returned model lives (not part of the key: CPU and
        GPU give the same model within float rounding).
    progress : bool
        Show the training progress bar.
    retrain : bool
        Train even when a stored model exists (and store over it).
    **config
        Any other argument of :func:`sesm_config` (``settings``, ``n_train``, ``n_code``,
        and training settings such as ``batch_size``, ``epochs``, ``lr``, ``seed``).

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
    key = sesm_config(alpha_s, quick=quick, **config)
    dev = _pick_device(device)

    def make():
        X = _training_data(key["n_train"], dev)
        probe = X[: min(PROBE_SIZE, X.shape[0])]
        model = _new_sesm(key, dev)
        gaps: dict = {}
        _add_gap(gaps, 0, encoder_gap(model, probe))

        def after_epoch(m, epoch, stats):
            _add_gap(gaps, epoch, encoder_gap(m, probe))

        history = model.fit(X, _settings(key), callback=after_epoch, progress=progress)
        return model, {**history, **gaps}

    return Trained._of(store.fetch("sesm", key, make, device=dev, retrain=retrain))


def trained_sweep(
    alphas: Sequence[float] = _sesm.PAPER_ALPHAS,
    *,
    quick: bool = False,
    device: str | torch.device = "auto",
    progress: bool = True,
    retrain: bool = False,
    **config,
) -> dict[float, Trained]:
    """The paper's alpha_s sweep: one trained SESM per alpha_s, from the store when present.

    The models not in the store are trained together by :func:`sesmlib.sesm.fit_sweep`
    (same initial filters, same sample order as :func:`trained_sesm`). On-line on the cpu
    each model has its own one-model kernel, spread over worker processes when there are
    2 or more cores (``SESMLIB_WORKERS`` sets their number): the model and its history,
    encoder gap included, are those :func:`trained_sesm` gives, bit for bit (apart from
    the wall-clock "time"). With minibatches or on the GPU the models share one stacked
    kernel: the same models within float rounding. Each is stored under the key
    :func:`trained_sesm` uses, so either function finds the other's models.

    Parameters
    ----------
    alphas : sequence of float
        Default: the paper's (1, 0.5, 0.2, 0.1, 0.05).
    quick, device, progress, retrain, **config
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
    keys = {a: sesm_config(a, quick=quick, **config) for a in alphas}
    out: dict[float, Trained] = {}
    if not retrain:
        for a, key in keys.items():
            hit = store.load("sesm", key, device=dev)
            if hit is not None:
                out[a] = Trained._of(hit)
    missing = [a for a in alphas if a not in out]
    if missing:
        writable = store.can_write("sesm sweep")
        k0 = keys[missing[0]]
        X = _training_data(k0["n_train"], dev)
        probe = X[: min(PROBE_SIZE, X.shape[0])]
        gaps: list[dict] = [{} for _ in missing]
        for a, g in zip(missing, gaps):  # epoch 0: the filters SESM(..., seed) draws, as in trained_sesm
            _add_gap(g, 0, encoder_gap(_new_sesm(keys[a], dev), probe))

        # Called in this process after each epoch, with every model at the end of it (with
        # worker processes too: they send each epoch's parameters back before the call).
        def after_epoch(models, epoch, stats):
            for g, m in zip(gaps, models):
                _add_gap(g, epoch, encoder_gap(m, probe))

        m0 = k0["model"]
        models, histories = _sesm.fit_sweep(
            X, missing, _settings(k0), n_code=m0["n_code"], gain=m0["gain"], alpha_e=m0["alpha_e"],
            alpha_r=m0["alpha_r"], convention=m0["convention"], device=dev, callback=after_epoch, progress=progress,
        )
        for a, m, h, g in zip(missing, models, histories, gaps):
            history = {**h, **g}
            entry = (store.save("sesm", keys[a], m, history) if writable
                     else store.Entry(m, history, store.key_of("sesm", keys[a]), None))
            out[a] = Trained._of(entry)
    return {a: out[a] for a in alphas}


# ------------------------------------------------------------------- RBM and PCA


def rbm_config(*, quick: bool = False, n_train: int | None = None, n_hidden: int | None = None,
               settings=None, **overrides) -> dict:
    """The full configuration of the Figure-1 RBM: :data:`sesmlib.rbm.PAPER_SETTINGS`
    (``settings`` instead when given) with the profile's epochs, then ``overrides``.

    Examples
    --------
    >>> c = rbm_config(quick=True)
    >>> c["n_train"], c["model"]["n_hidden"], c["fit"]["epochs"]
    (2000, 200, 1)
    """
    from . import rbm as _rbm

    prof = profiles.get(quick)
    if settings is None:
        settings = _rbm.PAPER_SETTINGS.replace(epochs=prof.rbm_epochs) if prof.rbm_epochs else _rbm.PAPER_SETTINGS
    settings = settings.replace(**overrides)
    n_hidden = _rbm.PAPER_N_HIDDEN if n_hidden is None else _utils.check_positive_int("n_hidden", n_hidden)
    model = {"n_visible": 784, "n_hidden": n_hidden, "dtype": "float32", "seed": settings.seed}
    return {"data": _DATA, "n_train": _n_train(quick, n_train), "model": model, "fit": settings.as_dict()}


def trained_rbm(*, quick: bool = False, device: str | torch.device = "auto", progress: bool = True,
                retrain: bool = False, **config) -> Trained:
    """The Figure-1 RBM (:func:`sesmlib.rbm.train_paper_rbm` on the first training
    digits), read from the store when trained before.

    Parameters
    ----------
    quick, device, progress, retrain
        As for :func:`trained_sesm`.
    **config
        Arguments of :func:`rbm_config` (``settings``, ``n_train``, ``n_hidden``, or
        training settings such as ``epochs``).

    Examples
    --------
    >>> run = trained_rbm(quick=True)      # doctest: +SKIP
    >>> run.model.W.shape                  # doctest: +SKIP
    torch.Size([784, 200])
    """
    from . import rbm as _rbm

    key = rbm_config(quick=quick, **config)
    dev = _pick_device(device)

    def make():
        X = _training_data(key["n_train"], dev)
        settings = _rbm.RBMSettings(**key["fit"])
        return _rbm.train_paper_rbm(X, settings, n_hidden=key["model"]["n_hidden"], device=dev, progress=progress)

    return Trained._of(store.fetch("rbm", key, make, device=dev, retrain=retrain))


def pca_config(*, quick: bool = False, n_train: int | None = None, n_components: int = 200) -> dict:
    """The full configuration of the Figure-1 PCA.

    Examples
    --------
    >>> pca_config(quick=True)["model"]
    {'n_components': 200, 'n_features': 784, 'dtype': 'float32'}
    """
    model = {"n_components": _utils.check_positive_int("n_components", n_components), "n_features": 784,
             "dtype": "float32"}
    return {"data": _DATA, "n_train": _n_train(quick, n_train), "model": model}


def trained_pca(*, quick: bool = False, device: str | torch.device = "auto", retrain: bool = False,
                **config) -> Trained:
    """The Figure-1 PCA fitted on the first training digits, read from the store when
    fitted before.

    Examples
    --------
    >>> trained_pca(quick=True).model.components_.shape      # doctest: +SKIP
    torch.Size([200, 784])
    """
    from .pca import PCA

    key = pca_config(quick=quick, **config)
    dev = _pick_device(device)

    def make():
        return PCA(key["model"]["n_components"], device=dev).fit(_training_data(key["n_train"], dev)), {}

    return Trained._of(store.fetch("pca", key, make, device=dev, retrain=retrain))


# ------------------------------------------------------------ any SESM, through the store


def stored_fit(kind: str, key: dict, make, data: torch.Tensor, settings: "_sesm.FitSettings", *, cache: bool = True,
               progress: bool = True, device="cpu") -> tuple:
    """A SESM made by ``make()`` and fitted on ``data`` with ``settings``, through the
    store: read when the same model was fitted before (``key`` names the data; the
    model's configuration and the settings are added to it), else trained and stored.
    With ``cache=False`` it is always trained and never stored. The second stage and the
    patch models (:mod:`sesmlib.stack`, :mod:`sesmlib.natural`) are made this way.

    Returns ``(model, history)``; ``history`` is None for a model read from the store.

    Examples
    --------
    >>> from sesmlib.sesm import SESM, FitSettings
    >>> X = torch.rand(32, 8)
    >>> m, h = stored_fit("sesm-patches", {"data": "rand"}, lambda: SESM(8, 3, seed=0, device="cpu"), X,
    ...                   FitSettings(epochs=1, batch_size=8, seed=0), cache=False, progress=False)
    >>> m.n_code, len(h["loss"])
    (3, 1)
    """
    def train():
        model = make()
        return model, model.fit(data, settings, progress=progress)

    if not cache:
        return train()
    model = make()
    full_key = {**key, "model": model.config, "fit": settings.as_dict(getattr(model, "convention", "half"))}
    entry = store.fetch(kind, full_key, train, device=device)
    return entry.value, (None if entry.cached else entry.history)
