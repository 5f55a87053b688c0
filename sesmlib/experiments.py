"""The Figure-1 reproduction: SESM (alpha_s sweep), RBM and PCA codes of MNIST compared by
reconstruction error, code entropy and linear-classifier error, beside the paper's numbers.

:func:`figure1` trains (or reads from the store) the models on the first 20000 training
digits (:mod:`sesmlib.zoo`), evaluates them on the 10000 test digits with
:mod:`sesmlib.evaluate`, and returns a :class:`sesmlib.results.Figure1Result` (the
numbers by method, size and number of levels). The result itself is kept in the store,
keyed by its full configuration (:func:`figure1_config`), so a second call returns in
seconds. The pictures are drawn by :mod:`sesmlib.plotting` (``plot_panel_a/b/c``,
``plot_figure1``), the report by :mod:`sesmlib.report`, and the command line
(``python -m sesmlib reproduce figure1``) is :mod:`sesmlib.reproduce`.

Choices where the paper is silent (each measured; the numbers are in the report):

- Classifier codes: the unquantised codes (after the logistic for SESM and the RBM, the
  linear code for PCA); the paper plots the error against the 256-level entropy, at
  which quantisation changes the codes by at most 1/510.
- Classifier draws: from all 60000 training digits (a fixed seed), the same draws for
  every method; the models themselves only see the first 20000, without labels.
- Quantiser ranges: [0, 1] for SESM and RBM codes, +/- the largest |code| over the test
  codes for PCA (:func:`sesmlib.evaluate.symmetric_range`).
"""
from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Callable

import torch

from . import __version__
from . import _utils, profiles, store
from . import evaluate as ev
from . import paper as _paper
from ._device import device as _pick_device
from .results import SCHEMA, Figure1Result

__all__ = [
    "figure1",
    "figure1_config",
    "load_figure1",
    "protocol_search",
    "SEARCH_CANDIDATES",
    "PROTOCOL",
    "write_outputs",
]

#: The name of the classifier protocol every method is measured with
#: (:data:`sesmlib.evaluate.PAPER_PROTOCOL` unless another is given).
PROTOCOL = "paper"

#: Candidate classifier protocols tried on raw pixels and PCA (the "search" of the
#: report). Each is (name, what it tests, ClassifierProtocol keyword arguments).
SEARCH_CANDIDATES: list[tuple[str, str, dict]] = [
    ("linear", "linear outputs (plain least squares by on-line GD), ridge 1e-3",
     {"output": "linear", "lr": 0.0001, "ridge": 1e-3}),
    ("logistic-slow", "logistic outputs, step 2e-4 per sample",
     {"output": "logistic", "lr": 0.0002, "ridge": 1e-4}),
    ("logistic-fast", "logistic outputs, step 1e-3 per sample",
     {"output": "logistic", "lr": 0.001, "ridge": 1e-4}),
    ("logistic-ridge", "logistic outputs, stronger ridge 1e-2",
     {"output": "logistic", "lr": 0.0004, "ridge": 1e-2}),
    ("tanh", "tanh outputs, squared error to -1/+1 targets",
     {"output": "tanh", "lr": 0.0004, "ridge": 1e-4, "targets": (-1.0, 1.0)}),
]


# =============================================================================
# Configuration
# =============================================================================


def figure1_config(*, quick: bool = False, seed: int = 0, protocol: ev.ClassifierProtocol | None = None,
                   sesm_settings: dict | None = None, rbm_settings: dict | None = None) -> dict:
    """The full configuration of a Figure-1 run (what its key in the store is made from).

    Parameters
    ----------
    quick : bool
        The quick profile (:mod:`sesmlib.profiles`: 2000 training digits, 1 epoch, 2000
        test digits, sizes 10 and 100 per class, 2 draws, 3 classifier epochs).
    seed : int
        Seeds the classifier draws (the models have their own seeds in their settings).
    protocol : ClassifierProtocol, optional
        Default :data:`sesmlib.evaluate.PAPER_PROTOCOL` (quick: with 3 epochs).
    sesm_settings, rbm_settings : dict, optional
        Changes to the SESM training settings (:func:`sesmlib.zoo.sesm_config`: any
        :class:`sesmlib.sesm.FitSettings` field) and to
        :data:`sesmlib.rbm.PAPER_SETTINGS`.

    Examples
    --------
    >>> c = figure1_config(quick=True)
    >>> c["n_train"], c["sizes"], c["sesm"]["alphas"]
    (2000, [10, 100], [1.0, 0.5, 0.2, 0.1, 0.05])
    """
    from . import zoo

    prof = profiles.get(quick)
    protocol = protocol or ev.PAPER_PROTOCOL
    if not isinstance(protocol, ev.ClassifierProtocol):
        raise TypeError(f"protocol must be a ClassifierProtocol, got {type(protocol).__name__}")
    if quick and prof.classifier_epochs:
        protocol = ev.ClassifierProtocol(**{**protocol.as_dict(), "epochs": prof.classifier_epochs,
                                            "targets": tuple(protocol.targets)})
    sesm_settings = dict(sesm_settings or {})
    rbm = zoo.rbm_config(quick=quick, **(rbm_settings or {}))
    return {
        "schema": SCHEMA,
        "profile": prof.name,
        "data": "MNIST: models on the first n_train training digits; classifier draws from the first `pool` training digits; test on the first n_test test digits",
        "n_train": prof.n_train,
        "n_test": prof.n_test,
        "pool": prof.pool,
        "n_pixels": 784,
        "n_code": 200,
        "bins": list(_paper.BINS),
        "quantizer": {"mode": "levels", "sesm_rbm_range": [0.0, 1.0], "pca_range": "symmetric, +/- max |test code|"},
        "sigma": "paper",
        "sizes": list(prof.sizes),
        "n_draws": prof.n_draws,
        "draw_seed": int(seed),
        "protocols": {PROTOCOL: protocol.as_dict()},
        "sesm": {"alphas": list(_paper.ALPHAS), "settings": sesm_settings,
                 "configs": {str(a): zoo.sesm_config(a, quick=quick, **sesm_settings) for a in _paper.ALPHAS}},
        "rbm": rbm,
        "pca": zoo.pca_config(quick=quick),
    }


def load_figure1(*, quick: bool = False, **config_kwargs) -> Figure1Result | None:
    """The stored Figure-1 result for this configuration, or None when it was never run.

    Examples
    --------
    >>> r = load_figure1(quick=True)     # doctest: +SKIP
    >>> r is None or r.config["profile"] == "quick"   # doctest: +SKIP
    True
    """
    entry = store.load("figure1", figure1_config(quick=quick, **config_kwargs), check=Figure1Result.from_dict)
    return None if entry is None else Figure1Result(entry.value.to_dict(), cached=True)


# =============================================================================
# The run
# =============================================================================


def figure1(
    *,
    device: str | torch.device = "auto",
    quick: bool = False,
    progress: bool = True,
    seed: int = 0,
    protocol: ev.ClassifierProtocol | None = None,
    sesm_settings: dict | None = None,
    rbm_settings: dict | None = None,
    search: bool = False,
    use_cache: bool = True,
) -> Figure1Result:
    """Reproduce Figure 1 (panels A, B, C): train or load the models, evaluate them.

    Parameters
    ----------
    device : "auto", "cpu", "cuda" or torch.device
    quick : bool
        The small profile of :func:`figure1_config` (for tests; about a minute on a CPU).
    progress : bool
        Progress bars for every long step.
    seed : int
        Seed of the classifier draws.
    protocol : ClassifierProtocol, optional
        The classifier protocol for every method (default: the chosen one).
    sesm_settings, rbm_settings : dict, optional
        Changes to the models' training settings.
    search : bool
        Also run the classifier-protocol search (:data:`SEARCH_CANDIDATES`) on raw pixels
        and PCA, for the report (a few minutes more on a CPU; stored apart).
    use_cache : bool
        Return the stored result of the same configuration when there is one.

    Returns
    -------
    Figure1Result
        ``.methods``, ``.error(method, size)``, ``.bits(method, levels)``,
        ``.rmse(method, levels)``, the paper's numbers, timings, ``.cached``; the plain
        data with :meth:`~sesmlib.results.Figure1Result.to_dict`.

    Examples
    --------
    >>> r = figure1(quick=True, progress=False)             # doctest: +SKIP
    >>> r.bits("pca", 256)                                    # doctest: +SKIP
    1.1...
    """
    config = figure1_config(quick=quick, seed=seed, protocol=protocol, sesm_settings=sesm_settings,
                            rbm_settings=rbm_settings)
    dev = _pick_device(device)
    entry = store.fetch("figure1", config, lambda: (_compute(config, dev, quick, progress), {}),
                        retrain=not use_cache, check=Figure1Result.from_dict)
    result = Figure1Result(entry.value.to_dict() if entry.cached else entry.value, cached=entry.cached)
    if search:
        result = result.with_search(*_search(config, dev, progress))
    return result


def _compute(config: dict, dev: torch.device, quick: bool, progress: bool) -> dict:
    """The Figure-1 computation proper (no store lookup): models, codes, metrics,
    classifiers; returns the plain data of a :class:`Figure1Result`."""
    from . import zoo
    from .data import load_mnist
    from .rbm import RBMSettings

    t_start = time.perf_counter()
    timings: dict = {}
    t = time.perf_counter()
    X_pool, y_pool = load_mnist("train", config["pool"])
    X_test, y_test = load_mnist("test", config["n_test"])
    timings["data"] = time.perf_counter() - t

    # ---- models
    t = time.perf_counter()
    runs = zoo.trained_sweep(_paper.ALPHAS, quick=quick, device=dev, progress=progress, **config["sesm"]["settings"])
    timings["sesm_sweep"] = time.perf_counter() - t
    t = time.perf_counter()
    rbm_run = zoo.trained_rbm(quick=quick, device=dev, progress=progress, settings=RBMSettings(**config["rbm"]["fit"]))
    timings["rbm"] = time.perf_counter() - t
    t = time.perf_counter()
    pca_run = zoo.trained_pca(quick=quick, device=dev)
    timings["pca"] = time.perf_counter() - t

    # ---- the methods: (method, model run, quantiser range); raw pixels have no model
    methods, runs_of = [], {}
    for a, run in runs.items():
        methods.append({"name": f"sesm_{a:g}", "label": f"SESM alpha_s={a:g}", "kind": "sesm", "alpha_s": a})
        runs_of[methods[-1]["name"]] = (run, (0.0, 1.0))
    methods.append({"name": "rbm", "label": "RBM", "kind": "rbm"})
    runs_of["rbm"] = (rbm_run, (0.0, 1.0))
    methods.append({"name": "pca", "label": "PCA", "kind": "pca"})
    runs_of["pca"] = (pca_run, "symmetric")
    methods.append({"name": "raw", "label": "raw pixels", "kind": "raw"})

    # ---- quantisation, entropy, RMSE
    t = time.perf_counter()
    Yt, Xp = X_test.to(dev), X_pool.to(dev)
    codes_test, codes_pool, rates, models = {}, {}, [], []
    with torch.no_grad():
        for m in _utils.progress(methods, enable=progress, desc="codes + entropy/RMSE"):
            name = m["name"]
            if name not in runs_of:  # raw pixels: the pixels are the code
                codes_test[name], codes_pool[name] = Yt, Xp
                continue
            run, code_range = runs_of[name]
            model, seed = run.model, _model_seed(run)
            codes_test[name] = model.code(Yt)  # (P_test, d)
            codes_pool[name] = _encode_chunked(model.code, Xp)  # (P_pool, d)
            points = ev.rate_distortion(model, Yt, config["bins"], code_range, codes=codes_test[name])
            rates += [{"method": name, "seed": seed, **p._asdict()} for p in points.values()]
            rates.append({"method": name, "seed": seed, "levels": None,
                          **ev.rmse_readings(Yt, model.decode_code(codes_test[name]))})
            lo, hi = ev.symmetric_range(codes_test[name]) if code_range == "symmetric" else code_range
            models.append({"method": name, "seed": seed, "cached": run.cached, "quant_range": [lo, hi],
                           "active_fraction": float((codes_test[name] > 0.5).float().mean()) if m["kind"] != "pca" else None,
                           "train_history": {k: run.history[k] for k in ("loss", "active", "time") if k in run.history}})
    timings["quantization"] = time.perf_counter() - t

    # ---- linear classifier, same draws for every method
    t = time.perf_counter()
    proto = _protocol(config)
    seeds = {r["method"]: r["seed"] for r in models}
    draws = {n: ev.sample_draws(y_pool, n, config["n_draws"], seed=config["draw_seed"]) for n in config["sizes"]}
    feats = {m["name"]: (codes_pool[m["name"]], codes_test[m["name"]]) for m in methods}
    classifier = []
    for n in _utils.progress(config["sizes"], enable=progress, desc="linear classifiers (per size)"):
        for name, r in ev.linear_classifiers(feats, y_pool, y_test, draws[n], protocol=proto).items():
            classifier.append({"method": name, "seed": seeds.get(name), "protocol": PROTOCOL, "size": n, **r})
    timings["classifiers"] = time.perf_counter() - t

    # ---- sigma and the plain-data result
    Yd = Yt.double()
    sigma = {"paper": ev.sigma_of(Yt, "paper"), "std": ev.sigma_of(Yt, "std"), "var": ev.sigma_of(Yt, "var"),
             "mean_pixel_std": float(Yd.std(0).mean()), "rms_pixel_std": float(Yd.var(0).mean().sqrt()),
             "train_std": float(X_pool[: config["n_train"]].double().std())}
    pca_abs = {str(r["levels"]): r["rmse_abs"] for r in rates if r["method"] == "pca" and r["levels"] is not None}
    timings["total"] = time.perf_counter() - t_start
    result = {
        "schema": SCHEMA,
        "config": config,
        "config_hash": _utils.config_hash(config),
        "methods": methods,
        "rate_distortion": rates,
        "classifier": classifier,
        "models": models,
        "sigma": sigma,
        "sigma_identification": _sigma_identification(pca_abs, sigma),
        "pca_quantizer_modes": _pca_modes(pca_run.model, Yt, config["bins"]),
        "protocol_search": [],
        "paper": _paper.figure1(),
        "conclusions_text": dict(_paper.CONCLUSIONS),
        "timings": timings,
        "models_cached": {"sesm": all(r.cached for r in runs.values()), "rbm": rbm_run.cached, "pca": pca_run.cached},
        "versions": _versions(),
        "device": _device_info(dev),
        "created": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }
    return json.loads(json.dumps(result))  # plain data only (and a check that it is JSON-able)


def _model_seed(run) -> int | None:
    return run.config.get("fit", {}).get("seed")


def _protocol(config: dict) -> ev.ClassifierProtocol:
    p = config["protocols"][PROTOCOL]
    return ev.ClassifierProtocol(**{**p, "targets": tuple(p["targets"])})


def _encode_chunked(code: Callable, X: torch.Tensor, chunk: int = 10000) -> torch.Tensor:
    return torch.cat([code(X[s:s + chunk]) for s in range(0, X.shape[0], chunk)])


def _pca_modes(pca, Y: torch.Tensor, bins) -> dict:
    """PCA's entropy and RMSE under both quantiser modes (for the sigma identification)."""
    C = pca.code(Y)
    lo, hi = ev.symmetric_range(C)
    out = {}
    for mode in ("levels", "bins"):
        for Q in bins:
            q = ev.quantize(C, Q, lo, hi, mode=mode)
            out[f"{mode}-{Q}"] = {"bits_per_pixel": ev.bits_per_pixel(q.index, Q, Y.shape[1]),
                                  "rmse_abs": ev.rmse(Y, pca.decode_code(q.value), sigma=1.0)}
    return out


def _sigma_identification(pca_abs: dict, sigma: dict) -> dict:
    """What sigma the paper's PCA points imply (from PCA's absolute RMSE at 5 and 256
    levels), against the candidate readings."""
    paper_c = _paper.FIGURE1["panel_c"]["pca"]
    implied = {Q: pca_abs[Q] / paper_c[Q]["rmse"] for Q in ("5", "256")}
    cands = {
        "sqrt(std) [chosen: 'paper']": sigma["paper"],
        "std of test pixels": sigma["std"],
        "variance of test pixels": sigma["var"],
        "mean per-pixel std": sigma["mean_pixel_std"],
        "rms per-pixel std": sigma["rms_pixel_std"],
    }
    rows = []
    for name, val in cands.items():
        rows.append({"candidate": name, "sigma": val,
                     "rmse_5": pca_abs["5"] / val, "rmse_256": pca_abs["256"] / val,
                     "ratio_5": (pca_abs["5"] / val) / paper_c["5"]["rmse"],
                     "ratio_256": (pca_abs["256"] / val) / paper_c["256"]["rmse"]})
    return {"implied_sigma": implied, "candidates": rows}


def _versions() -> dict:
    import numpy

    out = {"python": platform.python_version(), "sesmlib": __version__, "torch": torch.__version__,
           "numpy": numpy.__version__, "platform": platform.platform()}
    try:
        import matplotlib

        out["matplotlib"] = matplotlib.__version__
    except ImportError:  # pragma: no cover
        pass
    return out


def _device_info(dev: torch.device) -> dict:
    info = {"device": str(dev), "cpu_threads": torch.get_num_threads(), "cpu_count": os.cpu_count()}
    if hasattr(os, "getloadavg"):  # other work on the machine, for reading the timings
        info["load_average_1_5_15min"] = [round(v, 2) for v in os.getloadavg()]
    if dev.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(dev)
    return info


# =============================================================================
# The classifier-protocol search
# =============================================================================


def protocol_search(feats: dict, labels_pool, labels_test, sizes, n_draws: int, seed: int,
                    candidates=None, progress: bool = True, chosen: ev.ClassifierProtocol | None = None) -> list[dict]:
    """Run candidate classifier protocols on the given features (raw pixels and PCA).

    Parameters
    ----------
    feats : dict name -> (pool features (P, d), test features (P_test, d))
    labels_pool, labels_test : Tensor of int
    sizes : list of int, samples per class
    candidates : list of (name, description, protocol kwargs); default
        :data:`SEARCH_CANDIDATES` plus the chosen protocol.

    Returns
    -------
    list of rows {"name", "description", "protocol", "results": {feat: {size: stats}}}.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> X = torch.randn(200, 2, generator=g); y = (X[:, 0] > 0).long()
    >>> rows = protocol_search({"raw": (X, X)}, y, y, [5], 2, 0, progress=False,
    ...                        candidates=[("a", "a test", {"lr": 0.1, "epochs": 5})])
    >>> rows[0]["name"], sorted(rows[0]["results"]["raw"]["5"])
    ('a', ['seconds', 'test_error', 'train_error'])
    """
    candidates = list(SEARCH_CANDIDATES if candidates is None else candidates)
    if chosen is not None:
        candidates.append(("chosen", "the protocol used for every method", chosen.as_dict()))
    rows = []
    jobs = [(c, n) for c in candidates for n in sizes]
    bar = _utils.progress(total=len(jobs), enable=progress, desc="protocol search")
    draws = {n: ev.sample_draws(labels_pool, n, n_draws, seed=seed) for n in sizes}
    for name, desc, kw in candidates:
        kw = dict(kw)
        if "targets" in kw:
            kw["targets"] = tuple(kw["targets"])
        proto = ev.ClassifierProtocol(**kw)
        res: dict = {f: {} for f in feats}
        for n in sizes:
            try:
                rs = ev.linear_classifiers(feats, labels_pool, labels_test, draws[n], protocol=proto)
            except FloatingPointError:  # a candidate whose step is too large for this size
                rs = {f: None for f in feats}
            for f, r in rs.items():
                res[f][str(n)] = ({"diverged": True} if r is None else
                                  {"train_error": r["train_error"], "test_error": r["test_error"], "seconds": r["seconds"]})
            bar.update(1)
        rows.append({"name": name, "description": desc, "protocol": proto.as_dict(), "results": res})
    bar.close()
    return rows


def _search(config: dict, dev: torch.device, progress: bool) -> tuple[list[dict], float]:
    """The protocol search on raw pixels and PCA codes, stored under its own key; returns
    the rows and the seconds the search took when it was computed."""

    def make():
        from . import zoo
        from .data import load_mnist

        t0 = time.perf_counter()
        X_pool, y_pool = load_mnist("train", config["pool"])
        X_test, y_test = load_mnist("test", config["n_test"])
        pca = zoo.trained_pca(device=dev, n_train=config["pca"]["n_train"]).model
        Xp, Xt = X_pool.to(dev), X_test.to(dev)
        feats = {"raw": (Xp, Xt), "pca": (_encode_chunked(pca.code, Xp), pca.code(Xt))}
        rows = protocol_search(feats, y_pool, y_test, config["sizes"], config["n_draws"], config["draw_seed"],
                               progress=progress, chosen=_protocol(config))
        return {"rows": rows, "seconds": time.perf_counter() - t0}, {}

    def check(value):
        if not isinstance(value["rows"], list) or not isinstance(value["seconds"], float):
            raise ValueError("not a protocol search")
        return value

    found = store.fetch("figure1-search", {"config": config, "candidates": SEARCH_CANDIDATES}, make, check=check)
    return found.value["rows"], found.value["seconds"]


def write_outputs(result: Figure1Result, out: str | Path) -> list[Path]:
    """Write ``figure1.json`` and the panels (PNG and SVG) into the folder ``out``;
    returns the paths written.

    Examples
    --------
    >>> write_outputs(figure1(quick=True), "figure1-out")     # doctest: +SKIP
    """
    from .plotting import plot_figure1

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = _utils.atomic_write_bytes(out / "figure1.json", json.dumps(result.to_dict(), indent=1, sort_keys=True).encode())
    return [path, *plot_figure1(result, out)]
