"""Principal Component Analysis: the paper's linear baseline (Figure 1, "PCA").

With the data's mean mu (N,) and the top K eigenvectors of its covariance as the rows of
U (K, N), orthonormal::

    code(x)   = U (x - mu)            (the linear code, K numbers)
    decode(c) = U^T c + mu            (the best rank-K linear reconstruction)

The paper compares 200-dimensional codes of SESM, RBM and PCA after uniform quantisation
(Section 4.1); for PCA the code is this linear code (no logistic).

References
----------
- I. T. Jolliffe, "Principal Component Analysis", Springer, 2002.
"""
from __future__ import annotations

from pathlib import Path

import torch

from ._device import device as _pick_device
from ._utils import check_expected_config, check_matrix, check_positive_int, check_tensors, config_int, load_model, save_model

__all__ = ["PCA"]


class PCA:
    """PCA by the eigen-decomposition of the covariance matrix (computed in float64).

    Parameters
    ----------
    n_components : int
        K, the size of the code (200 in the paper).
    device : str or torch.device
        Where the fitted tensors live and the codes are computed ("auto": cuda if present).
    dtype : torch.float32 or torch.float64
        The dtype of the fitted tensors and of the codes.

    Attributes
    ----------
    components_ : Tensor (K, N)
        Orthonormal rows, by decreasing variance; each row's sign is fixed so that its
        largest-magnitude entry is positive (the result is deterministic).
    mean_ : Tensor (N,)
    explained_variance_ : Tensor (K,)
        The variance of the data along each component (eigenvalues, divisor n - 1).
    explained_variance_ratio_ : Tensor (K,)
        explained_variance_ / total variance.
    n_features_ : int

    Examples
    --------
    >>> import torch
    >>> from sesmlib.pca import PCA
    >>> X = torch.randn(100, 5, generator=torch.Generator().manual_seed(0)) @ torch.diag(torch.tensor([5., 3., 1., .1, .1]))
    >>> pca = PCA(2, device="cpu").fit(X)
    >>> pca.code(X).shape
    torch.Size([100, 2])
    >>> float(pca.explained_variance_ratio_.sum()) > 0.9
    True
    """

    _KIND = "pca"

    def __init__(self, n_components: int, *, device="auto", dtype=torch.float32):
        self.n_components = check_positive_int("n_components", n_components)
        if dtype not in (torch.float32, torch.float64):
            raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        self.device = _pick_device(device)
        self.dtype = dtype
        self.components_: torch.Tensor | None = None
        self.mean_: torch.Tensor | None = None
        self.explained_variance_: torch.Tensor | None = None
        self.explained_variance_ratio_: torch.Tensor | None = None
        self.n_features_: int | None = None

    def __repr__(self) -> str:
        state = "fitted" if self.components_ is not None else "not fitted"
        return f"PCA(n_components={self.n_components}, device={str(self.device)!r}, {state})"

    def _check_fitted(self) -> None:
        if self.components_ is None:
            raise RuntimeError("this PCA is not fitted yet; call fit(X) first")

    @torch.no_grad()
    def fit(self, X: torch.Tensor) -> "PCA":
        """Find the mean and the top ``n_components`` principal directions of X.

        C = (X - mu)^T (X - mu) / (n - 1) (N, N), C = U^T diag(lambda) U, keep the K rows
        of U with the largest lambda. Computed in float64 on the model's device.

        Parameters
        ----------
        X : Tensor (n, N)

        Returns
        -------
        self

        Examples
        --------
        >>> import torch; from sesmlib.pca import PCA
        >>> pca = PCA(3, device="cpu").fit(torch.rand(50, 10))
        >>> torch.allclose(pca.components_ @ pca.components_.T, torch.eye(3), atol=1e-5)
        True
        """
        X = check_matrix("X", X)
        n, N = X.shape
        if self.n_components > N:
            raise ValueError(f"n_components ({self.n_components}) is larger than the number of features ({N})")
        if n < 2:
            raise ValueError(f"X must have at least 2 rows to estimate a covariance, got {n}")
        Xd = X.to(self.device, torch.float64)
        mean = Xd.mean(0)  # (N,)
        Xc = Xd - mean  # (n, N)
        cov = Xc.T @ Xc / (n - 1)  # (N, N)
        evals, evecs = torch.linalg.eigh(cov)  # ascending
        evals = evals.flip(0).clamp_min(0.0)
        evecs = evecs.flip(1)  # (N, N), columns by decreasing variance
        U = evecs[:, : self.n_components].T.contiguous()  # (K, N)
        # deterministic signs: the largest-magnitude entry of each row positive
        idx = U.abs().argmax(1)
        signs = torch.sign(U[torch.arange(U.shape[0], device=U.device), idx])
        U = U * signs[:, None]
        total = evals.sum()
        self.components_ = U.to(self.dtype)
        self.mean_ = mean.to(self.dtype)
        self.explained_variance_ = evals[: self.n_components].to(self.dtype)
        self.explained_variance_ratio_ = (evals[: self.n_components] / total if total > 0 else torch.zeros_like(evals[: self.n_components])).to(self.dtype)
        self.n_features_ = N
        return self

    @torch.no_grad()
    def code(self, X: torch.Tensor) -> torch.Tensor:
        """The linear code c = U (x - mu).

        Parameters
        ----------
        X : Tensor (B, N)

        Returns
        -------
        Tensor (B, K)

        Examples
        --------
        >>> import torch; from sesmlib.pca import PCA
        >>> X = torch.rand(20, 6)
        >>> pca = PCA(6, device="cpu").fit(X)
        >>> torch.allclose(pca.decode_code(pca.code(X)), X, atol=1e-5)   # all components: exact
        True
        """
        self._check_fitted()
        X = check_matrix("X", X, n_cols=self.n_features_, device=self.device, dtype=self.dtype, allow_1d=True)
        return (X - self.mean_) @ self.components_.T  # (B, K)

    @torch.no_grad()
    def decode_code(self, C: torch.Tensor) -> torch.Tensor:
        """The reconstruction x_hat = U^T c + mu from a (possibly quantised) code.

        Parameters
        ----------
        C : Tensor (B, K)

        Returns
        -------
        Tensor (B, N)

        Examples
        --------
        >>> import torch; from sesmlib.pca import PCA
        >>> pca = PCA(2, device="cpu").fit(torch.rand(30, 4))
        >>> torch.allclose(pca.decode_code(torch.zeros(1, 2)), pca.mean_)   # code 0 is the mean
        True
        """
        self._check_fitted()
        C = check_matrix("C", C, n_cols=self.n_components, device=self.device, dtype=self.dtype, allow_1d=True)
        return C @ self.components_ + self.mean_  # (B, N)

    #: PCA's decoder: the same as :meth:`decode_code` (its code has no non-linearity).
    decode = decode_code

    def reconstruct(self, X: torch.Tensor) -> torch.Tensor:
        """decode_code(code(X)): the projection of X on the principal subspace.

        Examples
        --------
        >>> import torch; from sesmlib.pca import PCA
        >>> PCA(2, device="cpu").fit(torch.rand(30, 4)).reconstruct(torch.rand(3, 4)).shape
        torch.Size([3, 4])
        """
        return self.decode_code(self.code(X))

    @property
    def filters(self) -> torch.Tensor:
        """The components, one per column (N, K): ``components_.T``."""
        self._check_fitted()
        return self.components_.T

    @property
    def config(self) -> dict:
        """The configuration (everything but the fitted tensors), as saved with the model.

        Examples
        --------
        >>> from sesmlib.pca import PCA
        >>> PCA(3, device="cpu").config
        {'n_components': 3, 'n_features': None, 'dtype': 'float32'}
        """
        return {"n_components": self.n_components, "n_features": self.n_features_,
                "dtype": str(self.dtype).replace("torch.", "")}

    def save(self, path) -> Path:
        """Save the fitted PCA (atomically; read back with :meth:`load`).

        Examples
        --------
        >>> import os, tempfile, torch; from sesmlib.pca import PCA
        >>> pca = PCA(2, device="cpu").fit(torch.rand(30, 4))
        >>> p = pca.save(os.path.join(tempfile.mkdtemp(), "pca.pt"))
        >>> torch.equal(PCA.load(p, device="cpu").components_, pca.components_)
        True
        """
        self._check_fitted()
        tensors = {
            "components": self.components_,
            "mean": self.mean_,
            "explained_variance": self.explained_variance_,
            "explained_variance_ratio": self.explained_variance_ratio_,
        }
        return save_model(path, self._KIND, self.config, tensors)

    @classmethod
    def load(cls, path, device="auto", *, expected_config: dict | None = None) -> "PCA":
        """Load a PCA written by :meth:`save`.

        Raises FileNotFoundError, or ValueError naming the file for a corrupt file (bad
        checksum, shapes that disagree with its configuration, NaN or Inf), a file of
        another kind, or a configuration that differs from ``expected_config``.

        Examples
        --------
        See :meth:`save`.
        """
        config, tensors = load_model(path, cls._KIND)
        check_expected_config(path, config, expected_config)
        K, N = config_int(path, config, "n_components"), config_int(path, config, "n_features")
        dtype = {"float32": torch.float32, "float64": torch.float64}.get(config.get("dtype"))
        if dtype is None:
            raise ValueError(f"model file {path} is corrupt: unsupported dtype {config.get('dtype')!r}")
        check_tensors(path, tensors, {"components": (K, N), "mean": (N,), "explained_variance": (K,),
                                      "explained_variance_ratio": (K,)})
        pca = cls(K, device=device, dtype=dtype)
        to = lambda t: t.to(pca.device, dtype)  # noqa: E731
        pca.components_ = to(tensors["components"])
        pca.mean_ = to(tensors["mean"])
        pca.explained_variance_ = to(tensors["explained_variance"])
        pca.explained_variance_ratio_ = to(tensors["explained_variance_ratio"])
        pca.n_features_ = N
        return pca
