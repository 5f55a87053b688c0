"""The Figure-1 reproduction: SESM (alpha_s sweep), RBM and PCA codes of MNIST compared by
reconstruction error, code entropy and linear-classifier error, beside the paper's numbers.

    python -m sesmlib reproduce figure1 --out DIR [--device D] [--quick]

:func:`figure1` trains (or loads from the cache) the models on the first 20000 training
digits, evaluates them on the 10000 test digits with :mod:`sesmlib.evaluate`, and
returns plain data (a JSON-able dict); with ``out`` it also writes ``figure1.json`` and
the three panels (PNG and SVG). The whole result is cached by the hash of its full
configuration, so a second call returns in seconds. :func:`plot_panel_a`,
:func:`plot_panel_b` and :func:`plot_panel_c` draw the panels from the returned dict
(notebook 06 calls them), and :func:`sesmlib.report.write_report` turns it into
``docs/reproduction.md``.

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

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path
from typing import Callable

import torch

from . import __version__
from . import _utils, profiles, store
from . import evaluate as ev
from . import paper as _paper
from ._device import device as _pick_device

__all__ = [
    "figure1",
    "figure1_config",
    "load_figure1",
    "plot_panel_a",
    "plot_panel_b",
    "plot_panel_c",
    "plot_figure1",
    "protocol_search",
    "SEARCH_CANDIDATES",
    "main_figure1",
]

SCHEMA = "sesmlib-figure1-v1"
# Bump when the meaning of a cached result changes (evaluation code, JSON layout).
_RESULT_VERSION = 1

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
# Configuration and cache
# =============================================================================


def figure1_config(*, quick: bool = False, seed: int = 0, protocol: ev.ClassifierProtocol | None = None,
                   sesm_settings: dict | None = None, rbm_settings: dict | None = None) -> dict:
    """The full configuration of a Figure-1 run (what its cache key is made from).

    Parameters
    ----------
    quick : bool
        The quick profile (2000 training digits, 1 epoch, 2000 test digits, sizes 10 and
        100 per class, 2 draws, 3 classifier epochs) used by the tests.
    seed : int
        Seeds the classifier draws (the models have their own seeds in their settings).
    protocol : ClassifierProtocol, optional
        Default :data:`sesmlib.evaluate.PAPER_PROTOCOL` (quick: with 10 epochs).
    sesm_settings, rbm_settings : dict, optional
        Overrides of the SESM training settings (:func:`sesmlib.zoo.sesm_config`) and of
        :data:`sesmlib.rbm.PAPER_SETTINGS`.

    Examples
    --------
    >>> c = figure1_config(quick=True)
    >>> c["n_train"], c["sizes"], c["sesm"]["alphas"]
    (2000, [10, 100], [1.0, 0.5, 0.2, 0.1, 0.05])
    """
    from . import zoo as _zoo

    prof = profiles.get(quick)
    protocol = protocol or ev.PAPER_PROTOCOL
    if not isinstance(protocol, ev.ClassifierProtocol):
        raise TypeError(f"protocol must be a ClassifierProtocol, got {type(protocol).__name__}")
    if quick and prof.classifier_epochs:
        protocol = ev.ClassifierProtocol(**{**protocol.as_dict(), "epochs": prof.classifier_epochs,
                                            "targets": tuple(protocol.targets)})
    sesm_settings = dict(sesm_settings or {})
    sesm_cfgs = {str(a): _zoo.sesm_config(a, quick=quick, **sesm_settings) for a in _paper.ALPHAS}
    rbm_cfg = _zoo.rbm_config(quick=quick, **(rbm_settings or {}))
    rbm = {"n_hidden": rbm_cfg["model"]["n_hidden"], **rbm_cfg["fit"]}
    return {
        "schema": SCHEMA,
        "result_version": _RESULT_VERSION,
        "profile": "quick" if quick else "full",
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
        "protocol": protocol.as_dict(),
        "sesm": {"alphas": list(_paper.ALPHAS), "settings": sesm_settings, "configs": sesm_cfgs},
        "rbm": rbm,
        "rbm_config": rbm_cfg,
        "pca": {"n_components": 200},
        "pca_config": _zoo.pca_config(quick=quick),
    }


def _check_result(result) -> dict:
    """A stored result, checked for the layout this code writes (any problem raises)."""
    if not isinstance(result, dict) or result.get("schema") != SCHEMA:
        raise ValueError("not a Figure-1 result of this version")
    for key in ("config", "method_order", "methods", "sigma", "paper", "timings"):
        result[key]  # noqa: B018 (a KeyError marks a damaged result)
    for name in result["method_order"]:
        result["methods"][name]["classifier"]
    return result


def load_figure1(*, quick: bool = False, **config_kwargs) -> dict | None:
    """The stored Figure-1 result for this configuration, or None when it was never run.

    Examples
    --------
    >>> r = load_figure1(quick=True)     # doctest: +SKIP
    >>> r is None or r["schema"] == "sesmlib-figure1-v1"   # doctest: +SKIP
    True
    """
    entry = store.load("figure1", figure1_config(quick=quick, **config_kwargs), check=_check_result)
    return None if entry is None else {**entry.value, "cached": True}


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
    import os

    info = {"device": str(dev), "cpu_threads": torch.get_num_threads(), "cpu_count": os.cpu_count()}
    if hasattr(os, "getloadavg"):  # other work on the machine, for reading the timings
        info["load_average_1_5_15min"] = [round(v, 2) for v in os.getloadavg()]
    if dev.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(dev)
    return info


# =============================================================================
# Evaluation
# =============================================================================


def _quant_metrics(model, Y: torch.Tensor, codes: torch.Tensor, code_range, bins) -> dict:
    """Bits per pixel and RMSE (both sigma readings) from the quantised test codes, and
    the RMSE of the unquantised reconstruction."""
    rd = ev.rate_distortion(model, Y, bins, code_range, codes=codes)
    out = {str(Q): {k: v for k, v in p._asdict().items() if k != "levels"} for Q, p in rd.items()}
    out["unquantized"] = ev.rmse_readings(Y, model.decode_code(codes))
    return out


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


def _sigma_identification(result: dict) -> dict:
    """What sigma the paper's PCA points imply, against the candidate readings."""
    pca = result["methods"]["pca"]["quant"]
    paper_c = _paper.FIGURE1["panel_c"]["pca"]
    implied = {Q: pca[Q]["rmse_abs"] / paper_c[Q]["rmse"] for Q in ("5", "256")}
    s = result["sigma"]
    cands = {
        "sqrt(std) [chosen: 'paper']": s["paper"],
        "std of test pixels": s["std"],
        "variance of test pixels": s["var"],
        "mean per-pixel std": s["mean_pixel_std"],
        "rms per-pixel std": s["rms_pixel_std"],
    }
    rows = []
    for name, val in cands.items():
        rows.append({"candidate": name, "sigma": val,
                     "rmse_5": pca["5"]["rmse_abs"] / val, "rmse_256": pca["256"]["rmse_abs"] / val,
                     "ratio_5": (pca["5"]["rmse_abs"] / val) / paper_c["5"]["rmse"],
                     "ratio_256": (pca["256"]["rmse_abs"] / val) / paper_c["256"]["rmse"]})
    return {"implied_sigma": implied, "candidates": rows}


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


# =============================================================================
# The run
# =============================================================================


def figure1(
    *,
    out: str | Path | None = None,
    device: str | torch.device = "auto",
    quick: bool = False,
    progress: bool = True,
    seed: int = 0,
    protocol: ev.ClassifierProtocol | None = None,
    sesm_settings: dict | None = None,
    rbm_settings: dict | None = None,
    search: bool = False,
    use_cache: bool = True,
) -> dict:
    """Reproduce Figure 1 (panels A, B, C): train or load the models, evaluate, plot.

    Parameters
    ----------
    out : path, optional
        Folder for ``figure1.json`` and the panels ``figure1_{a,b,c}.{png,svg}``.
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
        Overrides of the models' training settings.
    search : bool
        Also run the classifier-protocol search (:data:`SEARCH_CANDIDATES`) on raw pixels
        and PCA, for the report (a few minutes more on a CPU).
    use_cache : bool
        Return the cached result of the same configuration when there is one.

    Returns
    -------
    dict (JSON-able): "config", "config_hash", "method_order", "methods" (per method:
    "label", "kind", "quant" with bits per pixel and RMSE at 5 and 256 levels and
    unquantised, "classifier" per size), "sigma", "sigma_identification",
    "pca_quantizer_modes", "protocol_search", "paper", "timings", "versions", "device",
    "cached".

    Examples
    --------
    >>> r = figure1(quick=True, progress=False)             # doctest: +SKIP
    >>> r["methods"]["pca"]["quant"]["256"]["bits_per_pixel"]  # doctest: +SKIP
    1.1...
    """
    config = figure1_config(quick=quick, seed=seed, protocol=protocol, sesm_settings=sesm_settings,
                            rbm_settings=rbm_settings)
    dev = _pick_device(device)
    entry = store.fetch("figure1", config, lambda: (_compute(config, dev, quick, progress, sesm_settings), {}),
                        retrain=not use_cache, check=_check_result)
    result = {**entry.value, "cached": entry.cached}
    if search:
        rows, seconds = _search(config, dev, progress)
        result["protocol_search"] = rows
        result["timings"] = {**result["timings"], "protocol_search": seconds}
    if out is not None:
        _write_outputs(result, Path(out))
    return result


def _compute(config: dict, dev: torch.device, quick: bool, progress: bool, sesm_settings) -> dict:
    """The Figure-1 computation proper (no cache lookup): models, codes, metrics, classifiers."""
    from .data import load_mnist
    from . import zoo as _zoo

    t_start = time.perf_counter()
    timings: dict = {}
    t = time.perf_counter()
    X_pool, y_pool = load_mnist("train", config["pool"])
    X_train = X_pool[: config["n_train"]]
    X_test, y_test = load_mnist("test", config["n_test"])
    timings["data"] = time.perf_counter() - t

    # ---- models
    t = time.perf_counter()
    runs = _zoo.trained_sweep(_paper.ALPHAS, quick=quick, device=dev, progress=progress, **(sesm_settings or {}))
    timings["sesm_sweep"] = time.perf_counter() - t
    sesm_cached = all(r.cached for r in runs.values())
    t = time.perf_counter()
    rbm_run = _zoo.trained_rbm(quick=quick, device=dev, progress=progress, settings=_rbm_settings(config))
    rbm, rbm_cached = rbm_run.model, rbm_run.cached
    timings["rbm"] = time.perf_counter() - t
    t = time.perf_counter()
    pca_run = _zoo.trained_pca(quick=quick, device=dev)
    pca, pca_cached = pca_run.model, pca_run.cached
    timings["pca"] = time.perf_counter() - t

    # ---- codes and decoders of every method
    Yt = X_test.to(dev)
    Xp = X_pool.to(dev)
    methods: dict = {}
    order: list[str] = []
    for a, run in runs.items():
        m = run.model
        name = f"sesm_{a:g}"
        order.append(name)
        methods[name] = {"label": f"SESM alpha_s={a:g}", "kind": "sesm", "alpha_s": a, "model": m, "range": (0.0, 1.0),
                         "train_history": {k: run.history.get(k) for k in ("loss", "active", "time") if k in run.history},
                         "cached_model": run.cached}
    methods["rbm"] = {"label": "RBM", "kind": "rbm", "model": rbm, "range": (0.0, 1.0), "cached_model": rbm_cached}
    methods["pca"] = {"label": "PCA", "kind": "pca", "model": pca, "range": "symmetric", "cached_model": pca_cached}
    order += ["rbm", "pca", "raw"]
    methods["raw"] = {"label": "raw pixels", "kind": "raw", "model": None, "range": None, "cached_model": True}

    # ---- quantisation, entropy, RMSE
    t = time.perf_counter()
    codes_test, codes_pool = {}, {}
    with torch.no_grad():
        for name in _utils.progress(order, enable=progress, desc="codes + entropy/RMSE"):
            m = methods[name]
            if m["model"] is None:  # raw pixels: the pixels are the code
                codes_test[name], codes_pool[name] = Yt, Xp
                continue
            codes_test[name] = m["model"].code(Yt)  # (P_test, d)
            codes_pool[name] = _encode_chunked(m["model"].code, Xp)  # (P_pool, d)
            lo, hi = ev.symmetric_range(codes_test[name]) if m["range"] == "symmetric" else m["range"]
            m["quant_range"] = [lo, hi]
            m["quant"] = _quant_metrics(m["model"], Yt, codes_test[name], m["range"], config["bins"])
            m["active_fraction"] = float((codes_test[name] > 0.5).float().mean()) if m["kind"] != "pca" else None
    timings["quantization"] = time.perf_counter() - t

    # ---- linear classifier, same draws for every method
    t = time.perf_counter()
    proto = ev.ClassifierProtocol(**{**config["protocol"], "targets": tuple(config["protocol"]["targets"])})
    draws = {n: ev.sample_draws(y_pool, n, config["n_draws"], seed=config["draw_seed"]) for n in config["sizes"]}
    feats = {name: (codes_pool[name], codes_test[name]) for name in order}
    for n in _utils.progress(config["sizes"], enable=progress, desc="linear classifiers (per size)"):
        for name, r in ev.linear_classifiers(feats, y_pool, y_test, draws[n], protocol=proto).items():
            methods[name].setdefault("classifier", {})[str(n)] = r
    timings["classifiers"] = time.perf_counter() - t

    # ---- sigma and the plain-data result
    Yd = Yt.double()
    sigma = {"paper": ev.sigma_of(Yt, "paper"), "std": ev.sigma_of(Yt, "std"), "var": ev.sigma_of(Yt, "var"),
             "mean_pixel_std": float(Yd.std(0).mean()), "rms_pixel_std": float(Yd.var(0).mean().sqrt()),
             "train_std": float(X_train.double().std())}
    for m in methods.values():
        for k in ("model", "range"):
            m.pop(k, None)
    timings["total"] = time.perf_counter() - t_start
    result = {
        "schema": SCHEMA,
        "config": config,
        "config_hash": _utils.config_hash(config),
        "method_order": order,
        "methods": methods,
        "sigma": sigma,
        "pca_quantizer_modes": _pca_modes(pca, Yt, config["bins"]),
        "protocol_search": [],
        "paper": _paper.figure1(),
        "conclusions_text": dict(_paper.CONCLUSIONS),
        "timings": timings,
        "models_cached": {"sesm": sesm_cached, "rbm": rbm_cached, "pca": pca_cached},
        "versions": _versions(),
        "device": _device_info(dev),
        "created": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }
    result["sigma_identification"] = _sigma_identification(result)
    return json.loads(json.dumps(result))  # plain data only (and a check that it is JSON-able)


def _search(config: dict, dev: torch.device, progress: bool) -> tuple[list[dict], float]:
    """The protocol search on raw pixels and PCA codes, cached under its own key; returns
    the rows and the seconds the search took when it was computed."""
    from .data import load_mnist

    key = {"config": config, "candidates": SEARCH_CANDIDATES}

    def make():
        from . import zoo as _zoo

        t0 = time.perf_counter()
        X_pool, y_pool = load_mnist("train", config["pool"])
        X_test, y_test = load_mnist("test", config["n_test"])
        pca = _zoo.trained_pca(device=dev, n_train=config["pca_config"]["n_train"]).model
        Xp, Xt = X_pool.to(dev), X_test.to(dev)
        feats = {"raw": (Xp, Xt), "pca": (_encode_chunked(pca.code, Xp), pca.code(Xt))}
        proto = ev.ClassifierProtocol(**{**config["protocol"], "targets": tuple(config["protocol"]["targets"])})
        rows = protocol_search(feats, y_pool, y_test, config["sizes"], config["n_draws"], config["draw_seed"],
                               progress=progress, chosen=proto)
        return {"rows": rows, "seconds": time.perf_counter() - t0}, {}

    def check(v):
        if not isinstance(v["rows"], list) or not isinstance(v["seconds"], float):
            raise ValueError("not a protocol search")
        return v

    stored = store.fetch("figure1-search", key, make, check=check).value
    return stored["rows"], stored["seconds"]


def _rbm_settings(config: dict):
    from .rbm import RBMSettings

    return RBMSettings(**config["rbm_config"]["fit"])


def _encode_chunked(code: Callable, X: torch.Tensor, chunk: int = 10000) -> torch.Tensor:
    return torch.cat([code(X[s:s + chunk]) for s in range(0, X.shape[0], chunk)])


def _write_outputs(result: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    _utils.atomic_write_bytes(out / "figure1.json", json.dumps(result, indent=1, sort_keys=True).encode())
    plot_figure1(result, out)


# =============================================================================
# Plots
# =============================================================================

_COLORS = {"sesm": "tab:blue", "rbm": "tab:red", "pca": "tab:green", "raw": "tab:gray"}
_OURS = {"linestyle": "-", "markerfacecolor": None}


def _sesm_names(result: dict) -> list[str]:
    return [n for n in result["method_order"] if result["methods"][n]["kind"] == "sesm"]


def _err(result, name, size):
    c = result["methods"][name].get("classifier", {}).get(str(size))
    return (c["test_error"]["mean"], c["test_error"]["std"]) if c else (math.nan, math.nan)


def _axes(axes, n):
    import matplotlib.pyplot as plt

    if axes is None:
        fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 4.2), squeeze=False)
        return fig, list(axes[0])
    axes = list(axes) if isinstance(axes, (list, tuple)) else [axes]
    if len(axes) != n:
        raise ValueError(f"axes must hold {n} axes (one per size), got {len(axes)}")
    return axes[0].figure, axes


def _panel_error(result: dict, x_of: Callable, x_paper: Callable, xlabel: str, axes=None, raw_line=True):
    sizes = [str(s) for s in result["config"]["sizes"]]
    fig, axes = _axes(axes, len(sizes))
    pa = result["paper"]["panel_a"]
    sn = _sesm_names(result)
    for ax, s in zip(axes, sizes):
        # ours: filled markers, solid lines, error bars = 1 std over draws
        xs = [x_of(n) for n in sn]
        ys, es = zip(*[_err(result, n, s) for n in sn])
        ax.errorbar(xs, ys, yerr=es, color=_COLORS["sesm"], marker="o", ls="-", capsize=2, label="SESM (ours)")
        for name, mk in (("rbm", "s"), ("pca", "D")):
            y, e = _err(result, name, s)
            ax.errorbar([x_of(name)], [y], yerr=[e], color=_COLORS[name], marker=mk, ls="none", capsize=2,
                        label=f"{result['methods'][name]['label']} (ours)")
        y, _ = _err(result, "raw", s)
        ax.axhline(y, color=_COLORS["raw"], ls="-", lw=1, label="raw pixels (ours)")
        # paper: hollow markers, dashed lines
        if s in pa:
            ax.plot(x_paper("sesm"), pa[s]["sesm"], color=_COLORS["sesm"], marker="o", mfc="none", ls="--",
                    label="SESM (paper)")
            for name, mk in (("rbm", "s"), ("pca", "D")):
                ax.plot([x_paper(name)], [pa[s][name]], color=_COLORS[name], marker=mk, mfc="none", ls="none",
                        ms=8, label=f"{name.upper()} (paper)")
            ax.axhline(pa[s]["raw"], color=_COLORS["raw"], ls="--", lw=1, label="raw pixels (paper)")
        ax.set_title(f"{s} samples per class")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("test error (%)")
        ax.grid(alpha=0.3)
    handles, labels = axes[-1].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="lower center", ncol=4, frameon=False)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return fig


def plot_panel_a(result: dict, axes=None):
    """Panel A: linear-classifier test error against the code entropy (bits per pixel,
    256 levels), one plot per training size. Ours: filled markers and solid lines, error
    bars 1 std over the draws; the paper's: hollow markers and dashed lines; raw pixels
    as a horizontal line.

    Parameters
    ----------
    result : dict from :func:`figure1`
    axes : sequence of matplotlib Axes (one per size), optional

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> fig = plot_panel_a(figure1(quick=True, progress=False))   # doctest: +SKIP
    """
    m = result["methods"]
    pc = result["paper"]["panel_c"]
    return _panel_error(
        result,
        lambda n: m[n]["quant"]["256"]["bits_per_pixel"],
        lambda n: pc[n]["256"]["bits_per_pixel"],
        "bits per pixel (256 levels)", axes)


def plot_panel_b(result: dict, axes=None):
    """Panel B: test error against the RMSE (256 levels, the paper's sigma), one plot per
    training size; the paper's points pair panel A's errors with panel C's 256-level RMSE.

    Examples
    --------
    >>> fig = plot_panel_b(figure1(quick=True, progress=False))   # doctest: +SKIP
    """
    m = result["methods"]
    pc = result["paper"]["panel_c"]
    return _panel_error(
        result,
        lambda n: m[n]["quant"]["256"]["rmse"],
        lambda n: pc[n]["256"]["rmse"],
        "RMSE (256 levels)", axes)


def plot_panel_c(result: dict, ax=None):
    """Panel C: RMSE (the paper's sigma) against bits per pixel, at 5 and 256 levels.
    Ours filled and solid, the paper's hollow and dashed.

    Parameters
    ----------
    result : dict from :func:`figure1`
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> fig = plot_panel_c(figure1(quick=True, progress=False))   # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 4.2))
    else:
        fig = ax.figure
    m = result["methods"]
    pc = result["paper"]["panel_c"]
    sn = _sesm_names(result)
    for Q, mk in (("5", "v"), ("256", "o")):
        ax.plot([m[n]["quant"][Q]["bits_per_pixel"] for n in sn], [m[n]["quant"][Q]["rmse"] for n in sn],
                color=_COLORS["sesm"], marker=mk, ls="-", label=f"SESM {Q} levels (ours)")
        ax.plot(pc["sesm"][Q]["bits_per_pixel"], pc["sesm"][Q]["rmse"], color=_COLORS["sesm"], marker=mk,
                mfc="none", ls="--", label=f"SESM {Q} levels (paper)")
        for name, mk2 in (("rbm", "s"), ("pca", "D")):
            ax.plot([m[name]["quant"][Q]["bits_per_pixel"]], [m[name]["quant"][Q]["rmse"]], color=_COLORS[name],
                    marker=mk2, ls="none", label=f"{name.upper()} {Q} (ours)")
            ax.plot([pc[name][Q]["bits_per_pixel"]], [pc[name][Q]["rmse"]], color=_COLORS[name], marker=mk2,
                    mfc="none", ms=8, ls="none", label=f"{name.upper()} {Q} (paper)")
            ax.annotate(Q, (m[name]["quant"][Q]["bits_per_pixel"], m[name]["quant"][Q]["rmse"]), fontsize=7,
                        xytext=(4, 4), textcoords="offset points")
    ax.set_xlabel("bits per pixel")
    ax.set_ylabel("RMSE (sigma = sqrt of pixel std)")
    ax.set_title("RMSE against entropy (test set)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, ncol=1, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.tight_layout()
    return fig


def plot_figure1(result: dict, out: str | Path) -> list[Path]:
    """Write panels A, B and C as PNG and SVG into ``out``; returns the paths.

    Examples
    --------
    >>> plot_figure1(figure1(quick=True, progress=False), "fig")   # doctest: +SKIP
    """
    import matplotlib

    matplotlib.use("Agg", force=False) if "matplotlib.pyplot" not in sys.modules else None
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for tag, fn in (("a", plot_panel_a), ("b", plot_panel_b), ("c", plot_panel_c)):
        fig = fn(result)
        for ext in ("png", "svg"):
            p = out / f"figure1_{tag}.{ext}"
            fig.savefig(p, dpi=120)
            paths.append(p)
        plt.close(fig)
    return paths


# =============================================================================
# Command line
# =============================================================================


def main_figure1(argv: list[str] | None = None) -> int:
    """``python -m sesmlib reproduce figure1 --out DIR [--device D] [--quick]``."""
    p = argparse.ArgumentParser(prog="python -m sesmlib reproduce figure1",
                                description="Reproduce Figure 1 of Ranzato, Boureau & LeCun (NIPS 2007).")
    p.add_argument("--out", required=True, help="folder for figure1.json and the panels (PNG, SVG)")
    p.add_argument("--device", default="auto", help="auto (cuda when present), cpu or cuda")
    p.add_argument("--quick", action="store_true", help="small profile (2000 digits, 1 epoch) for tests")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--no-cache", action="store_true", help="recompute even when a cached result exists")
    p.add_argument("--search", action="store_true",
                   help="also run the classifier-protocol search on raw pixels and PCA (for the report)")
    p.add_argument("--report", default=None, help="also write the markdown report to this path")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    result = figure1(out=args.out, device=args.device, quick=args.quick, progress=not args.no_progress,
                     use_cache=not args.no_cache, search=args.search)
    if args.report:
        from .report import write_report

        write_report(result, args.report)
    print(_summary(result))
    print(f"wrote {Path(args.out) / 'figure1.json'} and figure1_{{a,b,c}}.{{png,svg}} "
          f"({'cached result' if result.get('cached') else 'computed'}, {time.perf_counter() - t0:.1f} s)")
    return 0


def _summary(result: dict) -> str:
    lines = [f"{'method':<18} {'bpp@5':>7} {'RMSE@5':>7} {'bpp@256':>8} {'RMSE@256':>9}  test error % per size"]
    for n in result["method_order"]:
        m = result["methods"][n]
        q = m.get("quant")
        cols = (f"{q['5']['bits_per_pixel']:7.3f} {q['5']['rmse']:7.3f} {q['256']['bits_per_pixel']:8.3f} "
                f"{q['256']['rmse']:9.3f}") if q else " " * 34
        errs = "  ".join(f"{s}: {c['test_error']['mean']:.2f}+-{c['test_error']['std']:.2f}"
                         for s, c in m.get("classifier", {}).items())
        lines.append(f"{m['label']:<18} {cols}  {errs}")
    return "\n".join(lines)
