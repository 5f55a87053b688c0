"""Tests of sesmlib.pca: against numpy's SVD, orthonormality, reconstruction, files, bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from sesmlib._utils import save_model
from sesmlib.pca import PCA


def low_rank_data(n=300, N=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    scales = torch.tensor([6.0, 4.0, 2.5, 1.5, 1.0] + [0.05] * (N - 5), dtype=torch.float64)
    Q, _ = torch.linalg.qr(torch.randn(N, N, generator=g, dtype=torch.float64))
    return torch.randn(n, N, generator=g, dtype=torch.float64) * scales @ Q.T + torch.linspace(-1, 1, N, dtype=torch.float64)


def test_matches_numpy_svd():
    X = low_rank_data()
    pca = PCA(4, device="cpu", dtype=torch.float64).fit(X)
    Xn = X.numpy()
    Xc = Xn - Xn.mean(0)
    _, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    np.testing.assert_allclose(pca.mean_.numpy(), Xn.mean(0), atol=1e-12)
    np.testing.assert_allclose(pca.explained_variance_.numpy(), s[:4] ** 2 / (len(Xn) - 1), rtol=1e-9)
    np.testing.assert_allclose(pca.explained_variance_ratio_.numpy(), s[:4] ** 2 / (s**2).sum(), rtol=1e-9)
    # the same directions up to sign
    np.testing.assert_allclose(np.abs(pca.components_.numpy() @ Vt[:4].T), np.eye(4), atol=1e-8)
    # the codes are the projections (up to the same signs)
    signs = np.sign(np.diag(pca.components_.numpy() @ Vt[:4].T))
    np.testing.assert_allclose(pca.code(X).numpy(), Xc @ Vt[:4].T * signs, atol=1e-9)


def test_orthonormal_deterministic_signs_and_ordering():
    pca = PCA(5, device="cpu").fit(low_rank_data().float())
    U = pca.components_
    torch.testing.assert_close(U @ U.T, torch.eye(5), atol=1e-5, rtol=0)
    assert bool((pca.explained_variance_[:-1] >= pca.explained_variance_[1:]).all())
    rows = torch.arange(5)
    assert bool((U[rows, U.abs().argmax(1)] > 0).all())


def test_reconstruction_error_is_the_discarded_variance():
    X = low_rank_data(n=500)
    full = PCA(12, device="cpu", dtype=torch.float64).fit(X)
    torch.testing.assert_close(full.decode(full.code(X)), X, atol=1e-9, rtol=0)
    pca = PCA(5, device="cpu", dtype=torch.float64).fit(X)
    err = ((pca.reconstruct(X) - X) ** 2).sum(1).mean()
    discarded = full.explained_variance_[5:].sum() * (len(X) - 1) / len(X)
    assert float(err) == pytest.approx(float(discarded), rel=1e-8)
    # PCA's subspace beats a random one of the same size
    Q, _ = torch.linalg.qr(torch.randn(12, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1)))
    Xc = X - X.mean(0)
    rand_err = ((Xc - Xc @ Q @ Q.T) ** 2).sum(1).mean()
    assert float(err) < float(rand_err)


def test_code_of_one_vector_and_dtype_conversion():
    pca = PCA(3, device="cpu").fit(low_rank_data().float())
    assert pca.code(torch.rand(12, dtype=torch.float64)).shape == (1, 3)
    assert pca.code(torch.rand(2, 12, dtype=torch.float64)).dtype == torch.float32


def test_save_load_round_trip_and_bad_files(tmp_path):
    pca = PCA(3, device="cpu").fit(low_rank_data().float())
    back = PCA.load(pca.save(tmp_path / "p.pt"), device="cpu")
    X = low_rank_data(n=7, seed=3).float()
    assert torch.equal(back.code(X), pca.code(X))
    assert torch.equal(back.explained_variance_, pca.explained_variance_)
    (tmp_path / "bad.pt").write_bytes(b"\x00garbage")
    with pytest.raises(ValueError, match="corrupt"):
        PCA.load(tmp_path / "bad.pt")
    rbm_file = save_model(tmp_path / "r.pt", "rbm", {}, {"W": torch.zeros(2, 2)})
    with pytest.raises(ValueError, match="'rbm' model, not a 'pca'"):
        PCA.load(rbm_file)
    broken = save_model(tmp_path / "b.pt", "pca", {"n_components": 3, "n_features": 12, "dtype": "float32"},
                        {"components": torch.zeros(3, 11), "mean": torch.zeros(12),
                         "explained_variance": torch.zeros(3), "explained_variance_ratio": torch.zeros(3)})
    with pytest.raises(ValueError, match="components has shape"):
        PCA.load(broken)


def test_bad_inputs():
    with pytest.raises(ValueError, match="n_components"):
        PCA(0)
    with pytest.raises(TypeError, match="n_components"):
        PCA(2.5)
    with pytest.raises(ValueError, match="n_components \\(20\\) is larger"):
        PCA(20, device="cpu").fit(torch.rand(50, 10))
    with pytest.raises(ValueError, match="at least 2 rows"):
        PCA(1, device="cpu").fit(torch.rand(1, 10))
    with pytest.raises(ValueError, match="NaN"):
        PCA(2, device="cpu").fit(torch.full((5, 3), float("nan")))
    with pytest.raises(RuntimeError, match="not fitted"):
        PCA(2, device="cpu").code(torch.rand(3, 4))
    pca = PCA(2, device="cpu").fit(torch.rand(10, 4))
    with pytest.raises(ValueError, match="X must have 4 columns"):
        pca.code(torch.rand(3, 5))
    with pytest.raises(ValueError, match="C must have 2 columns"):
        pca.decode(torch.rand(3, 4))
    with pytest.raises(TypeError, match="C must be a torch.Tensor"):
        pca.decode([[0.0, 1.0]])


@pytest.mark.cuda
def test_cuda_agrees_with_cpu():
    X = low_rank_data().float()
    cpu = PCA(4, device="cpu").fit(X)
    gpu = PCA(4, device="cuda").fit(X.cuda())
    torch.testing.assert_close(gpu.components_.cpu(), cpu.components_, atol=1e-4, rtol=0)
    torch.testing.assert_close(gpu.code(X.cuda()).cpu(), cpu.code(X), atol=1e-4, rtol=1e-4)
