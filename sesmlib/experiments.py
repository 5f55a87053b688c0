"""The Figure-1 reproduction: SESM (alpha_s sweep), RBM and PCA codes of MNIST compared by
reconstruction error, code entropy and linear-classifier error, beside the paper's numbers.

:func:`figure1` trains (or reads from the store) the models on the first 20000 training
digits (:mod:`sesmlib.zoo`), each SESM and the RBM with three seeds, evaluates them on the
10000 test digits with :mod:`sesmlib.evaluate` under two classifier protocols (the
paper's, and a linear probe trained to convergence), and returns a
:class:`sesmlib.results.Figure1Result` (the numbers by method, seed, protocol, size and
number of levels). The result itself is kept in the store, keyed by its full
configuration (:func:`figure1_config`), so a second call returns in seconds. The pictures
are drawn by :mod:`sesmlib.plotting` (``plot_panel_a/b/c``, ``plot_figure1``), the report
by :mod:`sesmlib.report`, and the command line (``python -m sesmlib reproduce figure1``)
is :mod:`sesmlib.reproduce`. The training-speed comparison of SESM and the RBM is
:mod:`sesmlib.speed`.

Determinism: every step runs with a fixed number of CPU threads (``threads`` in the
configuration, 1 by default), in independent tasks whose results do not depend on where
or in which order they run; on-line SESM training pins its set-up to one thread too (see
:meth:`sesmlib.sesm.SESM.fit`). The same configuration on the same machine gives the same
numbers in ``figure1.json`` (tested on the quick profile).

Choices where the paper is silent (each measured; the numbers are in the report):

- Classifier codes: the unquantised codes (after the logistic for SESM and the RBM, the
  linear code for PCA); the paper plots the error against the 256-level entropy, at
  which quantisation changes the codes by at most 1/510.
- Classifier draws: from all 60000 training digits (a fixed seed), the same draws for
  every method and seed; the models themselves only see the first 20000, without labels.
- Quantiser ranges: [0, 1] for SESM and RBM codes, +/- the largest |code| over the test
  codes for PCA (:func:`sesmlib.evaluate.symmetric_range`).
- Seeds: three per SESM and RBM (the paper shows one run); PCA has no random element.
"""
from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import torch

from . import __version__
from . import _engine, _utils, profiles, store
from . import evaluate as ev
from . import paper as _paper
from ._device import device as _pick_device
from ._engine import cpu_threads
from .results import SCHEMA, Figure1Result

__all__ = [
    "figure1",
    "figure1_config",
    "load_figure1",
    "protocol_search",
    "SEARCH_CANDIDATES",
    "PROTOCOL",
    "PROTOCOLS",
    "DEFAULT_THREADS",
    "write_outputs",
]

#: The name of the classifier protocol :meth:`Figure1Result.error` reports by default.
PROTOCOL = "paper"
#: The classifier protocols every representation is measured with.
PROTOCOLS = ("paper", "probe")
#: CPU threads of every step of a Figure-1 run (part of its configuration).
DEFAULT_THREADS = 1

#: Candidate settings of the paper's classifier tried on raw pixels and PCA (the search
#: of the report; the chosen one, :data:`sesmlib.evaluate.PAPER_PROTOCOL`, is added).
#: Each is (name, what it tests, ClassifierProtocol keyword arguments).
SEARCH_CANDIDATES: list[tuple[str, str, dict]] = [
    ("linear", "linear outputs, ridge 1e-3, raw units (least squares by on-line GD)",
     {"output": "linear", "lr": 0.0001, "ridge": 1e-3}),
    ("raw-units", "logistic outputs, step 4e-4 per sample in the features' own units, ridge 1e-4",
     {"output": "logistic", "lr": 0.0004, "ridge": 1e-4}),
    ("norm-0.01", "normalised, step 0.01, ridge 1e-6", {"lr": 0.01, "ridge": 1e-6, "normalise": True}),
    ("norm-0.02", "normalised, step 0.02, ridge 1e-6", {"lr": 0.02, "ridge": 1e-6, "normalise": True}),
    ("norm-0.05", "normalised, step 0.05, ridge 1e-6", {"lr": 0.05, "ridge": 1e-6, "normalise": True}),
    ("norm-0.1", "normalised, step 0.1, ridge 1e-6", {"lr": 0.1, "ridge": 1e-6, "normalise": True}),
    ("norm-ridge", "normalised, step 0.035, ridge 1e-4", {"lr": 0.035, "ridge": 1e-4, "normalise": True}),
]


# =============================================================================
# Configuration
# =============================================================================


def figure1_config(*, quick: bool = False, seed: int = 0, seeds=None, protocol: ev.ClassifierProtocol | None = None,
                   probe: ev.ProbeProtocol | None = None, sesm_settings: dict | None = None,
                   rbm_settings: dict | None = None, threads: int = DEFAULT_THREADS) -> dict:
    """The full configuration of a Figure-1 run (what its key in the store is made from).

    Parameters
    ----------
    quick : bool
        The quick profile (:mod:`sesmlib.profiles`: 2000 training digits, 1 epoch, 2000
        test digits, sizes 10 and 100 per class, 2 draws, 3 classifier epochs, one seed).
    seed : int
        Seeds the classifier draws.
    seeds : sequence of int, optional
        The model seeds: every SESM and the RBM are trained once per seed (initial
        weights and sample order). Default: the profile's (full: 0, 1, 2).
    protocol, probe : optional
        The two classifier protocols (default :data:`sesmlib.evaluate.PAPER_PROTOCOL`,
        quick: with 3 epochs, and :data:`sesmlib.evaluate.PROBE_PROTOCOL`).
    sesm_settings, rbm_settings : dict, optional
        Changes to the SESM training settings (:func:`sesmlib.zoo.sesm_config`: any
        :class:`sesmlib.sesm.FitSettings` field, or ``convention``) and to
        :data:`sesmlib.rbm.PAPER_SETTINGS`.
    threads : int
        CPU threads of every step (training set-up, codes, classifiers): the numbers do
        not depend on the machine's setting or its load.

    Examples
    --------
    >>> c = figure1_config(quick=True)
    >>> c["n_train"], c["sizes"], c["sesm"]["alphas"], list(c["protocols"]), c["model_seeds"]
    (2000, [10, 100], [1.0, 0.5, 0.2, 0.1, 0.05], ['paper', 'probe'], [0])
    """
    from . import zoo

    prof = profiles.get(quick)
    protocol = protocol or ev.PAPER_PROTOCOL
    probe = probe or ev.PROBE_PROTOCOL
    if not isinstance(protocol, ev.ClassifierProtocol):
        raise TypeError(f"protocol must be a ClassifierProtocol, got {type(protocol).__name__}")
    if not isinstance(probe, ev.ProbeProtocol):
        raise TypeError(f"probe must be a ProbeProtocol, got {type(probe).__name__}")
    if quick and prof.classifier_epochs:
        protocol = replace(protocol, epochs=prof.classifier_epochs)
    seeds = list(prof.model_seeds if seeds is None else seeds)
    if not seeds or len(set(seeds)) != len(seeds) or not all(isinstance(v, int) and not isinstance(v, bool) for v in seeds):
        raise ValueError(f"seeds must be distinct integers (at least one), got {seeds!r}")
    threads = _utils.check_positive_int("threads", threads)
    sesm_settings = dict(sesm_settings or {})
    if "seed" in sesm_settings or "seed" in (rbm_settings or {}):
        raise ValueError("the models' seeds are set by seeds=..., not by sesm_settings or rbm_settings")
    rbm = zoo.rbm_config(quick=quick, **(rbm_settings or {}), seed=seeds[0])
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
        "model_seeds": seeds,
        "threads": threads,
        "protocols": {"paper": protocol.as_dict(), "probe": probe.as_dict()},
        "sesm": {"alphas": list(_paper.ALPHAS), "settings": sesm_settings,
                 "configs": {str(a): zoo.sesm_config(a, quick=quick, **sesm_settings, seed=seeds[0])
                             for a in _paper.ALPHAS}},
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
    seeds=None,
    protocol: ev.ClassifierProtocol | None = None,
    probe: ev.ProbeProtocol | None = None,
    sesm_settings: dict | None = None,
    rbm_settings: dict | None = None,
    threads: int = DEFAULT_THREADS,
    workers: int | None = None,
    search: bool = False,
    use_cache: bool = True,
    reference: bool = False,
) -> Figure1Result:
    """Reproduce Figure 1 (panels A, B, C): train or load the models, evaluate them.

    Every SESM (each alpha_s) and the RBM are trained with each model seed; PCA has no
    random element (one fit). Every representation is classified with both protocols
    (``"paper"`` and ``"probe"``, :mod:`sesmlib.evaluate.protocols`) on the same draws.

    The work is a list of independent tasks (train one model; evaluate one model: codes,
    entropy and RMSE, both classifiers), each run with ``threads`` CPU threads, in
    ``workers`` forked processes on a Linux cpu or one after the other: the numbers are
    the same either way, and the same from run to run on one machine.

    Parameters
    ----------
    device : "auto", "cpu", "cuda" or torch.device
    quick : bool
        The small profile of :func:`figure1_config` (for tests; about a minute on a CPU).
    progress : bool
        Progress bars for every long step.
    seed : int
        Seed of the classifier draws.
    seeds, protocol, probe, sesm_settings, rbm_settings, threads
        See :func:`figure1_config`.
    workers : int or None
        Processes that run the tasks (not part of the configuration: the numbers do not
        depend on it). None: ``SESMLIB_WORKERS``, else the usable cores divided by
        ``threads``; 1 runs every task in this process (always so on cuda).
    search : bool
        Also run the classifier-protocol search (:data:`SEARCH_CANDIDATES`) on raw pixels
        and PCA, for the report (a few minutes more on a CPU; stored apart).
    use_cache : bool
        Return the stored result of the same configuration when there is one.
    reference : bool
        When this machine has no stored result of the configuration, return the
        reference run shipped with sesmlib when there is one for it (the full profile's
        default configuration: the maintainers' ``make figure1``, the numbers of
        ``docs/reproduction.md``; ``result.reference`` is then True) instead of
        computing. Notebook 06 uses it, so that it shows Figure 1 without a 12-minute
        run; ``python -m sesmlib reproduce figure1`` never does (it reproduces).

    Returns
    -------
    Figure1Result
        ``.methods``, ``.error(method, size, protocol=...)``, ``.bits(method, levels)``,
        ``.rmse(method, levels)``, the spreads over seeds and draws, the paper's
        numbers, timings, ``.cached``; the plain data with
        :meth:`~sesmlib.results.Figure1Result.to_dict`.

    Examples
    --------
    >>> r = figure1(quick=True, progress=False)             # doctest: +SKIP
    >>> r.bits("pca", 256)                                    # doctest: +SKIP
    1.1...
    """
    config = figure1_config(quick=quick, seed=seed, seeds=seeds, protocol=protocol, probe=probe,
                            sesm_settings=sesm_settings, rbm_settings=rbm_settings, threads=threads)
    dev = _pick_device(device)
    entry = store.fetch("figure1", config, lambda: (_compute(config, dev, quick, progress, workers), {}),
                        retrain=not use_cache, check=Figure1Result.from_dict, reference=reference)
    # a computed result gets the key order of a stored one (JSON, sorted keys): the report of
    # either reads the same
    data = entry.value.to_dict() if entry.cached else json.loads(json.dumps(entry.value, sort_keys=True))
    result = Figure1Result(data, cached=entry.cached, reference=entry.reference)
    if search:
        result = result.with_search(*_search(config, dev, progress))
    return result


# ---- the tasks: module-level functions of plain arguments, run here or in forked workers

_CTX: dict = {}  # what every task reads: config, device, data, draws (set before the workers fork)


def _n_workers(workers, threads: int, n_tasks: int, dev: torch.device) -> int:
    if dev.type != "cpu" or not sys.platform.startswith("linux"):
        return 1  # no fork with cuda; fork is safe on Linux only
    if workers is None:
        workers = _engine.workers_from_env()
        if workers is None:
            workers = max(1, _engine.usable_cpus() // threads)
    workers = _utils.check_positive_int("workers", workers)
    return max(1, min(workers, n_tasks))


def _run_tasks(fn: Callable, tasks: list, n_workers: int, threads: int, progress: bool, desc: str) -> list:
    """``[fn(*t) for t in tasks]``, each call with ``threads`` torch threads: here, or in
    ``n_workers`` forked processes (results in the order of ``tasks``)."""
    bar = _utils.progress(total=len(tasks), enable=progress, desc=desc)
    try:
        if n_workers <= 1:
            out = []
            for t in tasks:
                with cpu_threads(threads if _CTX["device"].type == "cpu" else None):
                    out.append(fn(*t))
                bar.update(1)
            return out
        import concurrent.futures as cf
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        with cf.ProcessPoolExecutor(n_workers, mp_context=ctx, initializer=_worker_init, initargs=(threads,)) as pool:
            futures = [pool.submit(fn, *t) for t in tasks]
            for _ in cf.as_completed(futures):
                bar.update(1)
            return [f.result() for f in futures]
    finally:
        bar.close()


def _worker_init(threads: int) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the pool
    torch.set_num_threads(threads)


def _train(kind: str, alpha, seed):
    """Train (or read from the store) one model; returns (kind, alpha, seed, was it stored
    before, CPU seconds, the Trained when it exists only in memory)."""
    from . import zoo
    from .rbm import RBMSettings

    c0 = time.process_time()
    cfg, dev, quick = _CTX["config"], _CTX["device"], _CTX["quick"]
    if kind == "sesm":
        run = zoo.trained_sesm(alpha, quick=quick, device=dev, progress=False, **{**cfg["sesm"]["settings"], "seed": seed})
    elif kind == "rbm":
        run = zoo.trained_rbm(quick=quick, device=dev, progress=False,
                              settings=RBMSettings(**{**cfg["rbm"]["fit"], "seed": seed}))
    else:
        run = zoo.trained_pca(quick=quick, device=dev)
    return kind, alpha, seed, run.cached, time.process_time() - c0, (run if run.path is None else None)


def _model(kind: str, alpha, seed):
    """The trained model of a task (from memory when the store could not keep it)."""
    held = _CTX.get("held", {}).get((kind, alpha, seed))
    return held if held is not None else _load(kind, alpha, seed)


def _load(kind, alpha, seed):
    from . import zoo
    from .rbm import RBMSettings

    cfg, dev, quick = _CTX["config"], _CTX["device"], _CTX["quick"]
    if kind == "sesm":
        return zoo.trained_sesm(alpha, quick=quick, device=dev, progress=False, **{**cfg["sesm"]["settings"], "seed": seed})
    if kind == "rbm":
        return zoo.trained_rbm(quick=quick, device=dev, progress=False,
                               settings=RBMSettings(**{**cfg["rbm"]["fit"], "seed": seed}))
    return zoo.trained_pca(quick=quick, device=dev)


def _evaluate(name: str, kind: str, alpha, seed) -> dict:
    """Every measurement of one representation: entropy and RMSE at each number of levels
    (models only), both classifier protocols at every size. Returns rows of plain data."""
    cfg, dev = _CTX["config"], _CTX["device"]
    Yt, Xp, y_pool, y_test = _CTX["Yt"], _CTX["Xp"], _CTX["y_pool"], _CTX["y_test"]
    out: dict = {"rates": [], "models": [], "classifier": [], "cpu": {}}
    c0 = time.process_time()
    with torch.no_grad():
        if kind == "raw":
            codes_test, codes_pool = Yt, Xp
        else:
            run = _model(kind, alpha, seed)
            model = run.model
            code_range = "symmetric" if kind == "pca" else (0.0, 1.0)
            codes_test = model.code(Yt)  # (P_test, d)
            codes_pool = _encode_chunked(model.code, Xp)  # (P_pool, d)
            points = ev.rate_distortion(model, Yt, cfg["bins"], code_range, codes=codes_test)
            out["rates"] += [{"method": name, "seed": seed, **p._asdict()} for p in points.values()]
            out["rates"].append({"method": name, "seed": seed, "levels": None,
                                 **ev.rmse_readings(Yt, model.decode_code(codes_test))})
            lo, hi = ev.symmetric_range(codes_test) if code_range == "symmetric" else code_range
            out["models"].append({
                "method": name, "seed": seed, "quant_range": [lo, hi],
                "active_fraction": float((codes_test > 0.5).float().mean()) if kind != "pca" else None,
                "train_history": {k: run.history[k] for k in ("loss", "active", "time", "recon_error") if k in run.history},
                "train_seconds": run.train_seconds if run.history.get("time") else None})
    out["cpu"]["codes"] = time.process_time() - c0
    for pname in cfg["protocols"]:
        proto = ev.protocol_from_dict(cfg["protocols"][pname])
        c0 = time.process_time()
        for n, draws in _CTX["draws"].items():
            r = ev.classify({name: (codes_pool, codes_test)}, y_pool, y_test, draws, protocol=proto,
                            num_threads=cfg["threads"] if dev.type == "cpu" else None)[name]
            r.pop("cpu_seconds", None)
            out["classifier"].append({"method": name, "seed": seed, "protocol": pname, "size": n, **r})
        out["cpu"][pname] = time.process_time() - c0
    return out


def _compute(config: dict, dev: torch.device, quick: bool, progress: bool, workers=None) -> dict:
    """The Figure-1 computation proper (no store lookup): models, codes, metrics,
    classifiers; returns the plain data of a :class:`Figure1Result`."""
    from .data import load_mnist

    t_start = time.perf_counter()
    timings: dict = {}
    threads = config["threads"]
    t = time.perf_counter()
    with cpu_threads(threads if dev.type == "cpu" else None):
        X_pool, y_pool = load_mnist("train", config["pool"])
        X_test, y_test = load_mnist("test", config["n_test"])
        draws = {n: ev.sample_draws(y_pool, n, config["n_draws"], seed=config["draw_seed"]) for n in config["sizes"]}
    timings["data"] = time.perf_counter() - t
    seeds, alphas = config["model_seeds"], [float(a) for a in config["sesm"]["alphas"]]
    _CTX.clear()
    _CTX.update(config=config, device=dev, quick=quick, Yt=X_test.to(dev), Xp=X_pool.to(dev), y_pool=y_pool,
                y_test=y_test, draws=draws, held={})
    try:
        # ---- models: the longest tasks first (SESM, RBM, then PCA), spread over the workers
        train_tasks = [("sesm", a, s) for s in seeds for a in alphas] + [("rbm", None, s) for s in seeds]
        train_tasks.append(("pca", None, None))
        writable = store.can_write("Figure-1 models")
        n_workers = _n_workers(workers, threads, len(train_tasks), dev) if writable else 1
        t = time.perf_counter()
        trained = _run_tasks(_train, train_tasks, n_workers, threads, progress, "train the models")
        timings["models"] = time.perf_counter() - t
        cpu = {"sesm": 0.0, "rbm": 0.0, "pca": 0.0}
        cached = {"sesm": True, "rbm": True, "pca": True}
        for kind, alpha, seed, was_cached, seconds, held in trained:
            cpu[kind] += seconds
            cached[kind] &= was_cached
            if held is not None:
                _CTX["held"][(kind, alpha, seed)] = held

        # ---- the methods, then one evaluation task per (method, seed)
        methods = [{"name": f"sesm_{a:g}", "label": f"SESM alpha_s={a:g}", "kind": "sesm", "alpha_s": a} for a in alphas]
        methods += [{"name": "rbm", "label": "RBM", "kind": "rbm"}, {"name": "pca", "label": "PCA", "kind": "pca"},
                    {"name": "raw", "label": "raw pixels", "kind": "raw"}]
        eval_tasks = [(f"sesm_{a:g}", "sesm", a, s) for s in seeds for a in alphas]
        eval_tasks += [("rbm", "rbm", None, s) for s in seeds] + [("pca", "pca", None, None), ("raw", "raw", None, None)]
        t = time.perf_counter()
        n_eval = _n_workers(workers, threads, len(eval_tasks), dev) if writable else 1
        evaluated = _run_tasks(_evaluate, eval_tasks, n_eval, threads, progress, "evaluate (codes, entropy, RMSE, classifiers)")
        timings["evaluation"] = time.perf_counter() - t
        rates, models, classifier = [], [], []
        for part in evaluated:
            rates += part["rates"]
            models += part["models"]
            classifier += part["classifier"]
            for k, v in part["cpu"].items():
                cpu[k] = cpu.get(k, 0.0) + v
        for row in models:  # was the model read from the store or trained by this run?
            row["cached"] = cached["sesm" if row["method"].startswith("sesm") else row["method"]]

        # ---- sigma and the plain-data result
        with cpu_threads(threads if dev.type == "cpu" else None):
            Yt = _CTX["Yt"]
            Yd = Yt.double()
            sigma = {"paper": ev.sigma_of(Yt, "paper"), "std": ev.sigma_of(Yt, "std"), "var": ev.sigma_of(Yt, "var"),
                     "mean_pixel_std": float(Yd.std(0).mean()), "rms_pixel_std": float(Yd.var(0).mean().sqrt()),
                     "train_std": float(X_pool[: config["n_train"]].double().std())}
            pca_abs = {str(r["levels"]): r["rmse_abs"] for r in rates if r["method"] == "pca" and r["levels"] is not None}
            pca_modes = _pca_modes(_model("pca", None, None).model, Yt, config["bins"])
    finally:
        _CTX.clear()
    timings["total"] = time.perf_counter() - t_start
    timings["cpu_seconds"] = cpu
    timings["workers"] = {"training": n_workers, "evaluation": n_eval}
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
        "pca_quantizer_modes": pca_modes,
        "protocol_search": [],
        "paper": _paper.figure1(),
        "conclusions_text": dict(_paper.CONCLUSIONS),
        "timings": timings,
        "models_cached": cached,
        "versions": _versions(),
        "device": _device_info(dev),
        "created": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }
    return json.loads(json.dumps(result))  # plain data only (and a check that it is JSON-able)


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
                               progress=progress, chosen=ev.protocol_from_dict(config["protocols"]["paper"]))
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
