"""The Figure-1 result as a small typed object with accessors.

:func:`sesmlib.experiments.figure1` returns a :class:`Figure1Result`. Its numbers are
asked for by what they are, never dug out of nested dicts or method names:

- ``result.methods``: the compared methods, in order, as :class:`Method` (name, label,
  kind, and ``alpha_s`` as a number for the SESMs); ``result.sesm`` only the SESMs;
- ``result.error(method, size)``: the linear classifier's test error in % (mean and std
  over the draws) for a method and a number of training digits per class;
- ``result.bits(method, levels)`` and ``result.rmse(method, levels)``: the code entropy
  (bits per pixel) and the reconstruction error at a number of quantisation levels
  (``levels=None``: the unquantised code);
- ``result.paper_error(method, size)`` and ``result.paper_rate(method, levels)``: the
  paper's numbers for the same method (:mod:`sesmlib.paper`);
- ``result.error_summary(method, size, protocol=...)`` and
  ``result.rate_summary(method, levels)``: the mean with its spread over the classifier
  draws and its spread over the model seeds, side by side (:class:`ErrorSummary`,
  :class:`RateSummary`); ``result.best_sesm(size, protocol=...)``.

Underneath is plain JSON data (:meth:`Figure1Result.to_dict`, what ``figure1.json``
holds): the measurements are long tables with one row per (method, seed, levels) and
per (method, seed, protocol, size), so a run with several model seeds or several
classifier protocols adds rows, not structure; the accessors' ``seed`` and ``protocol``
arguments select among them (``seed=None``: every seed, pooled).

Examples
--------
>>> r = Figure1Result.from_dict(example_data())
>>> [m.name for m in r.methods]
['sesm_0.2', 'rbm', 'pca', 'raw']
>>> r.sesm[0].alpha_s, r.error("raw", 10).mean, r.bits("pca", 5), r.protocols
(0.2, 30.0, 0.02, ['paper', 'probe'])
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch

__all__ = ["SCHEMA", "Method", "Stat", "ErrorSummary", "RateSummary", "Figure1Result", "example_data"]

#: The layout of the data this module reads and :mod:`sesmlib.experiments` writes.
SCHEMA = "sesmlib-figure1-v3"

@dataclass(frozen=True)
class Method:
    """One compared method: ``name`` (its id, e.g. "sesm_0.2", "rbm"), ``label`` (for
    people), ``kind`` ("sesm", "rbm", "pca" or "raw") and ``alpha_s`` (SESM only)."""

    name: str
    label: str
    kind: str
    alpha_s: float | None = None


class Stat(NamedTuple):
    """A mean and a standard deviation (divisor n - 1) over draws."""

    mean: float
    std: float


class ErrorSummary(NamedTuple):
    """A classifier error (%) with its two spreads.

    ``mean``: the mean over the seeds of each seed's mean over the draws; ``draw_std``: the
    spread over the draws (the root of the mean over seeds of each seed's variance over
    its draws, divisor n - 1); ``seed_std``: the spread over the seeds of their means
    (divisor n - 1; 0 with one seed, or for raw pixels and PCA, which have none);
    ``per_seed``: each seed's mean, in the order of ``seeds``.
    """

    mean: float
    draw_std: float
    seed_std: float
    n_seeds: int
    n_draws: int
    per_seed: tuple
    seeds: tuple


class RateSummary(NamedTuple):
    """Bits per pixel and RMSE (the paper's sigma) at a number of levels: the mean over the
    seeds and the spread over them (divisor n - 1; 0 with one seed)."""

    bits: float
    bits_seed_std: float
    rmse: float
    rmse_seed_std: float
    n_seeds: int


def _stat(values: list[float]) -> Stat:
    e = torch.tensor(values, dtype=torch.float64)
    return Stat(float(e.mean()), float(e.std()) if len(e) > 1 else 0.0)


def _mean_std(values) -> tuple[float, float]:
    e = torch.tensor(list(values), dtype=torch.float64)
    return float(e.mean()), float(e.std()) if len(e) > 1 else 0.0


class Figure1Result:
    """The Figure-1 result (see the module docstring). Build it with :meth:`from_dict`
    from the data :func:`sesmlib.experiments.figure1` computes or ``figure1.json``
    holds; a layout it does not know raises ValueError or KeyError.

    Attributes
    ----------
    config : dict
        The full configuration of the run (:func:`sesmlib.experiments.figure1_config`).
    methods : list of Method
    cached : bool
        True when the result was read from the store rather than computed by this call.
    reference : bool
        True when it is the reference run shipped with sesmlib (the maintainers' ``make
        figure1``, :func:`sesmlib.store.load_reference`), not one made on this machine.

    Examples
    --------
    >>> r = Figure1Result.from_dict(example_data())
    >>> r.error("sesm_0.2", 10, seed=0), r.rmse(r.sesm_method(0.2), 256)
    (Stat(mean=21.0, std=0.0), 0.22)
    """

    def __init__(self, data: dict, *, cached: bool = False, reference: bool = False):
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            found = data.get("schema") if isinstance(data, dict) else type(data).__name__
            raise ValueError(f"not a Figure-1 result of layout {SCHEMA} (found {found!r})")
        self._data = data
        self.cached = bool(cached)
        self.reference = bool(reference)
        self.config: dict = data["config"]
        self.methods: list[Method] = [Method(m["name"], m["label"], m["kind"], m.get("alpha_s")) for m in data["methods"]]
        self._by_name = {m.name: m for m in self.methods}
        self._rates: dict = {}
        for row in data["rate_distortion"]:
            self._rates.setdefault((row["method"], row["levels"]), []).append(row)
        self._errors: dict = {}
        for row in data["classifier"]:
            self._errors.setdefault((row["method"], row["protocol"], row["size"]), []).append(row)
        for m in self.methods:  # every method has an error at every size: else the data is damaged
            for p in self.protocols:
                for s in self.sizes:
                    self._rows(self._errors, (m.name, p, int(s)), None)

    @classmethod
    def from_dict(cls, data: dict, *, cached: bool = False) -> "Figure1Result":
        """The result held in ``data`` (checked: ValueError/KeyError for another layout)."""
        return cls(data, cached=cached)

    def to_dict(self) -> dict:
        """The plain JSON data (what ``figure1.json`` holds)."""
        return self._data

    # ------------------------------------------------------------------ structure
    @property
    def sesm(self) -> list[Method]:
        """The SESM methods, in order (strongest sparsity first)."""
        return [m for m in self.methods if m.kind == "sesm"]

    def sesm_method(self, alpha_s: float) -> Method:
        """The SESM method trained with ``alpha_s``."""
        for m in self.sesm:
            if m.alpha_s == float(alpha_s):
                return m
        raise KeyError(f"no SESM with alpha_s={alpha_s}; the result has {[m.alpha_s for m in self.sesm]}")

    def method(self, method: Method | str) -> Method:
        """The :class:`Method` of a name (or the method itself)."""
        name = method.name if isinstance(method, Method) else method
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no method {name!r}; the result has {list(self._by_name)}") from None

    @property
    def sizes(self) -> list[int]:
        """Training digits per class of the linear classifier."""
        return [int(s) for s in self.config["sizes"]]

    @property
    def levels(self) -> list[int]:
        """Quantisation levels of the rate-distortion points."""
        return [int(q) for q in self.config["bins"]]

    @property
    def protocols(self) -> list[str]:
        """Names of the classifier protocols (the first is the default of :meth:`error`)."""
        return list(self.config["protocols"])

    @property
    def seeds(self) -> list:
        """The model seeds the measurements were made with."""
        return sorted({row["seed"] for row in self._data["rate_distortion"]}, key=lambda s: (s is None, s))

    def seeds_of(self, method: Method | str) -> list:
        """The seeds of a method's models ([None] for raw pixels and PCA)."""
        name = self.method(method).name
        found = {row["seed"] for row in self._data["classifier"] if row["method"] == name}
        return sorted(found, key=lambda s: (s is None, s))

    def protocol_settings(self, protocol: str) -> dict:
        """The settings of a classifier protocol, as run."""
        return self.config["protocols"][protocol]

    # ------------------------------------------------------------------ numbers
    def _rows(self, table: dict, key: tuple, seed) -> list[dict]:
        rows = [r for r in table.get(key, []) if seed is None or r["seed"] in (seed, None)]
        if not rows:
            raise KeyError(f"no measurement for {key} (seed {seed}) in this result")
        return rows

    def errors(self, method: Method | str, size: int, *, protocol: str | None = None, seed=None,
               split: str = "test") -> list[float]:
        """The classifier's error (%) on each draw (``split``: "test" or "train")."""
        return [e for row in self._error_rows(method, size, protocol, seed, split) for e in row[f"{split}_errors"]]

    def error(self, method: Method | str, size: int, *, protocol: str | None = None, seed=None,
              split: str = "test") -> Stat:
        """The classifier's error in % for a method and a number of training digits per
        class: mean and std over the draws (of every selected seed, pooled).

        ``protocol`` names the classifier protocol (default: the run's first); ``seed``
        selects the models of one seed (None: all); ``split`` is "test" or "train".
        """
        rows = self._error_rows(method, size, protocol, seed, split)
        if len(rows) == 1:
            return Stat(**rows[0][f"{split}_error"])
        return _stat([e for row in rows for e in row[f"{split}_errors"]])

    def _error_rows(self, method, size, protocol, seed, split) -> list[dict]:
        if split not in ("test", "train"):
            raise ValueError(f"split must be 'test' or 'train', got {split!r}")
        return self._rows(self._errors, (self.method(method).name, protocol or self.protocols[0], int(size)), seed)

    def error_summary(self, method: Method | str, size: int, *, protocol: str | None = None,
                      split: str = "test") -> ErrorSummary:
        """The error (%) of a method at a size with its spread over the draws and over the
        model seeds, side by side (:class:`ErrorSummary`).

        Examples
        --------
        >>> r = Figure1Result.from_dict(example_data())
        >>> e = r.error_summary("sesm_0.2", 10)
        >>> round(e.mean, 2), e.n_seeds, round(e.seed_std, 3)
        (21.5, 2, 0.707)
        """
        seeds = self.seeds_of(method)
        per_seed, variances, n_draws = [], [], 0
        for seed in seeds:
            errs = [e for row in self._error_rows(method, size, protocol, seed, split) if row["seed"] == seed
                    for e in row[f"{split}_errors"]]
            m, sd = _mean_std(errs)
            per_seed.append(m)
            variances.append(sd * sd)
            n_draws = len(errs)
        mean, seed_std = _mean_std(per_seed)
        return ErrorSummary(mean, math.sqrt(math.fsum(variances) / len(variances)), seed_std if None not in seeds else 0.0,
                            0 if seeds == [None] else len(seeds), n_draws, tuple(per_seed), tuple(seeds))

    def rate_summary(self, method: Method | str, levels: int | None) -> RateSummary:
        """Bits per pixel and RMSE (the paper's sigma) at ``levels``: mean and spread over
        the seeds (:class:`RateSummary`)."""
        key = (self.method(method).name, None if levels is None else int(levels))
        rows = self._rows(self._rates, key, None)
        b = _mean_std([r.get("bits_per_pixel", float("nan")) for r in rows]) if levels is not None else (float("nan"), 0.0)
        r_ = _mean_std([r["rmse"] for r in rows])
        return RateSummary(b[0], b[1], r_[0], r_[1], 0 if rows[0]["seed"] is None else len(rows))

    def best_sesm(self, size: int, *, protocol: str | None = None, seed="mean") -> Method:
        """The SESM (alpha_s) with the lowest test error at ``size``: on the mean over the
        seeds (``seed="mean"``) or for one seed."""
        def err(m):
            return self.error_summary(m, size, protocol=protocol).mean if seed == "mean" else \
                self.error(m, size, protocol=protocol, seed=seed).mean
        return min(self.sesm, key=err)

    def _rate(self, method, levels, field: str, seed) -> float:
        key = (self.method(method).name, None if levels is None else int(levels))
        rows = self._rows(self._rates, key, seed)
        values = [r[field] for r in rows]
        return values[0] if len(values) == 1 else math.fsum(values) / len(values)

    def bits(self, method: Method | str, levels: int, *, seed=None) -> float:
        """The entropy of the method's code quantised into ``levels`` levels, in bits per
        pixel (mean over the selected seeds)."""
        return self._rate(method, levels, "bits_per_pixel", seed)

    def entropy(self, method: Method | str, levels: int, *, seed=None) -> float:
        """The entropy per code unit, in bits (see :func:`sesmlib.evaluate.entropy_bits`)."""
        return self._rate(method, levels, "entropy_bits", seed)

    def rmse(self, method: Method | str, levels: int | None, *, sigma: str = "paper", seed=None) -> float:
        """The RMSE of the reconstruction from the code quantised into ``levels`` levels
        (None: unquantised), divided by the paper's sigma (``sigma="paper"``), by the
        pixel std ("std"), or not at all ("abs")."""
        field = {"paper": "rmse", "std": "rmse_std", "abs": "rmse_abs"}.get(sigma)
        if field is None:
            raise ValueError(f"sigma must be 'paper', 'std' or 'abs', got {sigma!r}")
        return self._rate(method, levels, field, seed)

    def has_code(self, method: Method | str) -> bool:
        """Whether the method has a quantised code (every method but raw pixels)."""
        return (self.method(method).name, self.levels[0]) in self._rates

    # ------------------------------------------------------------------ the paper's numbers
    def paper_error(self, method: Method | str, size: int) -> float | None:
        """The paper's test error (%) for the method and size (None where it has none)."""
        m = self.method(method)
        row = self.paper["panel_a"].get(str(int(size)), {})
        if m.kind == "sesm":
            return self._paper_sesm(row.get("sesm"), m)
        return row.get(m.kind)

    def paper_rate(self, method: Method | str, levels: int) -> tuple[float, float] | None:
        """The paper's (bits per pixel, RMSE) for the method at ``levels`` (None where it
        has none)."""
        m = self.method(method)
        pc = self.paper["panel_c"].get(m.kind)
        if pc is None or str(int(levels)) not in pc:
            return None
        p = pc[str(int(levels))]
        if m.kind == "sesm":
            b, r = self._paper_sesm(p["bits_per_pixel"], m), self._paper_sesm(p["rmse"], m)
            return None if b is None else (b, r)
        return p["bits_per_pixel"], p["rmse"]

    def _paper_sesm(self, values, m: Method):
        alphas = [float(a) for a in self.config["sesm"]["alphas"]]
        if values is None or m.alpha_s not in alphas or len(values) != len(alphas):
            return None
        return values[alphas.index(m.alpha_s)]

    # ------------------------------------------------------------------ the rest, as data
    @property
    def paper(self) -> dict:
        """The paper's Figure-1 numbers (:func:`sesmlib.paper.figure1`)."""
        return self._data["paper"]

    @property
    def timings(self) -> dict:
        """Seconds per step of the run."""
        return self._data["timings"]

    @property
    def sigma(self) -> dict:
        """The candidate normalisers of the RMSE, measured on the test digits."""
        return self._data.get("sigma", {})

    @property
    def sigma_identification(self) -> dict:
        """What sigma the paper's PCA points imply, against the candidates."""
        return self._data.get("sigma_identification", {})

    @property
    def pca_quantizer_modes(self) -> dict:
        """PCA's entropy and RMSE under both quantiser modes."""
        return self._data.get("pca_quantizer_modes", {})

    @property
    def protocol_search(self) -> list[dict]:
        """The classifier-protocol search rows ([] when the run did not include it)."""
        return self._data.get("protocol_search") or []

    @property
    def models(self) -> list[dict]:
        """One row per trained model: method, seed, whether it was read from the store,
        its training history summary, its quantiser range and active fraction."""
        return self._data.get("models", [])

    @property
    def models_cached(self) -> dict:
        """Whether the SESMs, the RBM and the PCA were all read from the store."""
        return self._data.get("models_cached", {})

    @property
    def conclusions_text(self) -> dict:
        """The paper's conclusions (:data:`sesmlib.paper.CONCLUSIONS`)."""
        return self._data.get("conclusions_text", {})

    @property
    def config_hash(self) -> str | None:
        return self._data.get("config_hash")

    @property
    def versions(self) -> dict:
        return self._data.get("versions", {})

    @property
    def device(self) -> dict:
        return self._data.get("device", {})

    @property
    def created(self) -> str | None:
        return self._data.get("created")

    def with_search(self, rows: list[dict], seconds: float) -> "Figure1Result":
        """The same result with the classifier-protocol search attached."""
        data = {**self._data, "protocol_search": rows, "timings": {**self._data["timings"], "protocol_search": seconds}}
        return Figure1Result(data, cached=self.cached, reference=self.reference)

    def __repr__(self) -> str:
        return (f"Figure1Result(profile={self.config.get('profile')!r}, methods={[m.name for m in self.methods]}, "
                f"sizes={self.sizes}, cached={self.cached})")


def example_data() -> dict:
    """A tiny result in the layout of :data:`SCHEMA` (for examples and tests).

    Examples
    --------
    >>> example_data()["schema"] == SCHEMA
    True
    """
    methods = [{"name": "sesm_0.2", "label": "SESM alpha_s=0.2", "kind": "sesm", "alpha_s": 0.2},
               {"name": "rbm", "label": "RBM", "kind": "rbm"}, {"name": "pca", "label": "PCA", "kind": "pca"},
               {"name": "raw", "label": "raw pixels", "kind": "raw"}]
    rates = [{"method": n, "seed": seed, "levels": q, "bits_per_pixel": b, "entropy_bits": b * 3.92, "rmse": r,
              "rmse_std": r * 1.8, "rmse_abs": r * 0.56}
             for n, b, r in (("sesm_0.2", 0.2, 0.22), ("rbm", 0.5, 0.2), ("pca", 0.02, 0.42)) for q in (5, 256)
             for seed in ((None,) if n == "pca" else (0, 1))]
    errors = [{"method": n, "seed": seed, "protocol": p, "size": 10, "test_errors": [e + k, e + k],
               "train_errors": [0.0, 0.0], "test_error": {"mean": e + k, "std": 0.0}, "train_error": {"mean": 0.0, "std": 0.0}}
              for n, e in (("sesm_0.2", 21.0), ("rbm", 22.0), ("pca", 40.0), ("raw", 30.0))
              for p in ("paper", "probe")
              for k, seed in (((0, None),) if n in ("pca", "raw") else ((0, 0), (1, 1)))]
    return {"schema": SCHEMA, "config": {"sizes": [10], "bins": [5, 256], "protocols": {"paper": {}, "probe": {}},
                                         "sesm": {"alphas": [0.2]}, "model_seeds": [0, 1]},
            "methods": methods, "rate_distortion": rates, "classifier": errors,
            "paper": {"panel_a": {}, "panel_c": {}}, "timings": {}}
