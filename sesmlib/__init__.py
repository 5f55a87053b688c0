"""sesmlib: the library behind the SESM course-pack.

Ranzato, Boureau and LeCun, "Sparse Feature Learning for Deep Belief Networks",
NIPS 2007. One concept per module (see CONTRIBUTING.md):

- ``data``: MNIST from IDX files, image patches.
- ``energy``: Gibbs distributions, free energies, toy energies in 2-D.
- ``sesm``: the Sparse Encoding Symmetric Machine and its coordinate-descent training.
- ``rbm``: Bernoulli RBM with CD-k, exact log Z and AIS.
- ``pca``: the PCA baseline.
- ``zoo``: trained SESM models cached for notebooks 04-07 and the Figure-1 run.
- ``evaluate``: quantisation, entropy, RMSE, the linear-classifier protocol.
- ``experiments``, ``report``, ``paper``: the Figure-1 reproduction, its generated report,
  and the paper's numbers.
- ``plotting``, ``widgets``, ``checks``, ``course``: pictures, explorers, exercise checks
  and the notebook build tool.

The heavy modules are imported on first use, so ``import sesmlib`` stays fast.
"""
from __future__ import annotations

import importlib

from ._device import device

__version__ = "0.1.0"

# Public name -> module that defines it (imported lazily on first attribute access).
_LAZY = {
    "SESM": "sesmlib.sesm",
    "RBM": "sesmlib.rbm",
    "PCA": "sesmlib.pca",
    "load_mnist": "sesmlib.data",
}

__all__ = ["device", "__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sesmlib' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
