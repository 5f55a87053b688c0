"""The two classifier protocols of the Figure-1 reproduction, side by side.

- ``"paper"``: the paper's description, :data:`sesmlib.evaluate.PAPER_PROTOCOL` (squared
  error to one-hot targets, mild ridge, 100 epochs of stochastic gradient), fixed on raw
  pixels (:mod:`.classifier`);
- ``"probe"``: multinomial logistic regression trained to convergence with the L2
  strength cross-validated inside each draw, :data:`sesmlib.evaluate.PROBE_PROTOCOL`
  (:mod:`.probe`).

:func:`classify` runs either on several representations over shared draws.

Examples
--------
>>> sorted(PROTOCOLS)
['paper', 'probe']
"""
from __future__ import annotations

import torch

from .classifier import PAPER_PROTOCOL, ClassifierProtocol, linear_classifiers
from .probe import PROBE_PROTOCOL, ProbeProtocol, probe_classifiers

__all__ = ["PROTOCOLS", "classify", "protocol_from_dict"]

#: The protocols by name.
PROTOCOLS: dict = {"paper": PAPER_PROTOCOL, "probe": PROBE_PROTOCOL}


def classify(codes: dict, train_labels: torch.Tensor, test_labels: torch.Tensor, draws: torch.Tensor, *,
             protocol: "ClassifierProtocol | ProbeProtocol | str", num_threads: int | None = 1) -> dict:
    """Train and test one classifier per representation and draw with ``protocol`` (a
    protocol object or a name of :data:`PROTOCOLS`); the results of
    :func:`sesmlib.evaluate.linear_classifiers` or :func:`sesmlib.evaluate.probe_classifiers`.

    Examples
    --------
    >>> from sesmlib.evaluate import sample_draws
    >>> g = torch.Generator().manual_seed(0)
    >>> X = torch.randn(200, 2, generator=g); y = (X[:, 0] > 0).long()
    >>> r = classify({"a": (X, X)}, y, y, sample_draws(y, 20, n_draws=2, seed=0), protocol="probe")
    >>> r["a"]["test_error"]["mean"] < 5
    True
    """
    if isinstance(protocol, str):
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {sorted(PROTOCOLS)} or a protocol object, got {protocol!r}")
        protocol = PROTOCOLS[protocol]
    if isinstance(protocol, ProbeProtocol):
        return probe_classifiers(codes, train_labels, test_labels, draws, protocol=protocol, num_threads=num_threads)
    if isinstance(protocol, ClassifierProtocol):
        return linear_classifiers(codes, train_labels, test_labels, draws, protocol=protocol, num_threads=num_threads)
    raise TypeError(f"protocol must be a ClassifierProtocol, a ProbeProtocol or a name, got {type(protocol).__name__}")


def protocol_from_dict(d: dict) -> "ClassifierProtocol | ProbeProtocol":
    """The protocol object whose :meth:`as_dict` is ``d`` (as stored in a configuration).

    Examples
    --------
    >>> protocol_from_dict(PROBE_PROTOCOL.as_dict()) == PROBE_PROTOCOL
    True
    >>> protocol_from_dict(PAPER_PROTOCOL.as_dict()) == PAPER_PROTOCOL
    True
    """
    if "lambdas" in d:
        return ProbeProtocol(**{**d, **{k: tuple(d[k]) for k in ("lambdas", "large_lambdas") if k in d}})
    return ClassifierProtocol(**{**d, "targets": tuple(d["targets"])})
