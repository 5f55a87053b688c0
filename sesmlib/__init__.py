"""sesmlib: the library behind the SESM course-pack.

Ranzato, Boureau and LeCun, "Sparse Feature Learning for Deep Belief Networks",
NIPS 2007. One concept per module (see CONTRIBUTING.md):

- ``data``: MNIST from IDX files, image patches.
- ``energy``: Gibbs distributions, free energies, toy energies in 2-D.
- ``sesm``: the Sparse Encoding Symmetric Machine and its coordinate-descent training.
- ``rbm``: Bernoulli RBM with CD-k, exact log Z and AIS. ``pca``: the PCA baseline.
- ``stack``, ``natural``: a second SESM stage on first-stage codes; SESM on image patches.
- ``store``: every trained model and computed result, kept in the cache folder;
  ``zoo``: the trained MNIST models that notebooks 04-07 and Figure 1 share;
  ``profiles``: the quick and full sizes.
- ``evaluate``: quantisation, entropy, RMSE, rate-distortion, the linear classifier,
  filter statistics.
- ``experiments``, ``results``, ``report``, ``reproduce``, ``paper``: the Figure-1
  reproduction, its typed result, its generated report, its command line, and the
  paper's numbers.
- ``plotting``, ``widgets``, ``checks``, ``course``: pictures, explorers, exercise checks
  and the notebook tool.

Every model has the same contract: ``code(X)``, ``decode_code(C)``,
``reconstruct(X) == decode_code(code(X))``, ``filters``, ``config``, ``save``/``load``.
The heavy modules are imported on first use, so ``import sesmlib`` stays fast.

Examples
--------
>>> import torch, sesmlib
>>> model = sesmlib.SESM(784, 20, seed=0, device="cpu")
>>> model.reconstruct(torch.rand(2, 784)).shape
torch.Size([2, 784])
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
