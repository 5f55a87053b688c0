"""Tests for sesmlib.energy: Gibbs distributions, free energies, plane grids, toy energies."""
from __future__ import annotations

import math

import pytest
import torch

from sesmlib import energy as en

# ------------------------------------------------------------------ Gibbs and free energy


def test_gibbs_distribution_normalises_and_orders():
    E = torch.tensor([[0.0, 1.0, 3.0], [2.0, 2.0, 0.5]])
    p = en.gibbs_distribution(E, 2.0)
    assert torch.allclose(p.sum(), torch.tensor(1.0))
    expected = torch.exp(-2.0 * E) / torch.exp(-2.0 * E).sum()
    assert torch.allclose(p, expected)
    # posterior over the latent only: rows sum to 1
    post = en.gibbs_distribution(E, 2.0, dims=[1])
    assert torch.allclose(post.sum(1), torch.ones(2))


def test_gibbs_distribution_zero_temperature_puts_mass_on_minimum():
    E = torch.tensor([1.0, 0.0, 0.0, 5.0])
    p = en.gibbs_distribution(E, math.inf)
    assert p.tolist() == [0.0, 0.5, 0.5, 0.0]


def test_log_partition_matches_direct_sum_and_cell():
    E = torch.rand(4, 5, dtype=torch.float64)
    direct = torch.log(torch.exp(-3.0 * E).sum() * 0.1)
    assert torch.allclose(en.log_partition(E, 3.0, cell=0.1), direct)
    per_row = en.log_partition(E, 3.0, dims=[1])
    assert per_row.shape == (4,)
    assert torch.allclose(per_row, torch.log(torch.exp(-3.0 * E).sum(1)))


def test_free_energy_matches_definition_and_is_stable():
    E = torch.rand(3, 7, dtype=torch.float64) * 4
    beta, dz = 1.7, 0.3
    direct = -torch.log(torch.exp(-beta * E).sum(-1) * dz) / beta
    assert torch.allclose(en.free_energy(E, beta, dz=dz), direct)
    # large beta * E: the naive formula underflows to inf, log-sum-exp does not
    big = E + 1000.0
    F = en.free_energy(big, 50.0, dz=dz)
    assert torch.isfinite(F).all()
    assert torch.allclose(F, en.free_energy(E, 50.0, dz=dz) + 1000.0)


def test_free_energy_bounds_and_limit():
    torch.manual_seed(0)
    E = torch.rand(10, 64, dtype=torch.float64) * 5
    f_inf = en.free_energy_inf(E)
    assert torch.equal(f_inf, E.min(-1).values)
    K, dz = 64, 0.1
    for beta in [0.5, 2.0, 30.0, 1000.0]:
        F = en.free_energy(E, beta, dz=dz)
        assert (F >= f_inf - math.log(K * dz) / beta - 1e-9).all()
        assert (F <= f_inf - math.log(dz) / beta + 1e-9).all()
    assert torch.equal(en.free_energy(E, math.inf), f_inf)
    gaps = en.free_energy_gap(E, [1.0, 10.0, 100.0, 1e4])
    assert gaps.shape == (4, 10)
    assert (gaps[:, 0].abs().diff() < 0).all()
    assert gaps[-1].abs().max() < 1e-3


def test_optimal_code_and_density():
    E = torch.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 6.0]])
    assert en.optimal_code(E, torch.tensor([10.0, 20.0, 30.0])).tolist() == [20.0, 10.0]
    with pytest.raises(ValueError, match="z must"):
        en.optimal_code(E, torch.zeros(4))
    F = torch.rand(6, 6)
    p = en.density_from_free_energy(F, 2.0, cell_area=0.04)
    assert torch.allclose(p.sum() * 0.04, torch.tensor(1.0))
    assert p.flatten().argmax() == F.flatten().argmin()


@pytest.mark.parametrize("beta, err", [(0.0, ValueError), (-1.0, ValueError), (float("nan"), ValueError), ("1", TypeError), (True, TypeError)])
def test_bad_beta_is_refused(beta, err):
    with pytest.raises(err, match="beta"):
        en.free_energy(torch.zeros(2, 3), beta)


def test_bad_energies_are_refused():
    with pytest.raises(TypeError, match="energies"):
        en.free_energy([[0.0, 1.0]], 1.0)
    with pytest.raises(TypeError, match="energies"):
        en.free_energy(torch.zeros(2, 3, dtype=torch.int64), 1.0)
    with pytest.raises(ValueError, match="NaN"):
        en.free_energy(torch.tensor([0.0, float("nan")]), 1.0)
    with pytest.raises(ValueError, match="dz"):
        en.free_energy(torch.zeros(3), 1.0, dz=0.0)
    with pytest.raises(ValueError, match="beta must be finite"):
        en.log_partition(torch.zeros(3), math.inf)


def test_minimize_energy_reaches_minimum():
    target = torch.tensor([[1.0, -2.0], [0.5, 0.5]])
    f = lambda Y, Z: ((Y - Z) ** 2).sum(1) + 0.3
    F, Z = en.minimize_energy(f, target, torch.zeros(2, 2), steps=100, step_size=0.2)
    assert torch.allclose(Z, target, atol=1e-5)
    assert torch.allclose(F, torch.full((2,), 0.3), atol=1e-6)
    with pytest.raises(ValueError, match="steps"):
        en.minimize_energy(f, target, torch.zeros(2, 2), steps=0)
    with torch.no_grad():  # the gradient steps still run inside a no_grad block
        F2, Z2 = en.minimize_energy(f, target, torch.zeros(2, 2), steps=100, step_size=0.2)
    assert torch.allclose(Z2, target, atol=1e-5)
    with pytest.raises(ValueError, match="step_size"):
        en.minimize_energy(f, target, torch.zeros(2, 2), step_size=torch.tensor([0.1, -0.1]))


# -------------------------------------------------------------------------- the plane


def test_plane_grid_layout():
    pts, xs, ys, da = en.plane_grid((0.0, 2.0), (-1.0, 1.0), n=5)
    assert pts.shape == (25, 2)
    grid = pts.reshape(5, 5, 2)
    assert torch.equal(grid[3, 1], torch.stack([xs[1], ys[3]]))
    assert da == pytest.approx(0.5 * 0.5)
    with pytest.raises(ValueError, match="xlim"):
        en.plane_grid((1.0, 0.0), (0.0, 1.0))
    with pytest.raises(ValueError, match="n"):
        en.plane_grid(n=1)


def test_evaluate_on_plane_batches_and_layout():
    v, xs, ys, _ = en.evaluate_on_plane(lambda Y: Y[:, 0] - 10 * Y[:, 1], (0, 1), (0, 1), n=7, batch_size=5)
    assert v.shape == (7, 7)
    assert torch.allclose(v, xs[None, :] - 10 * ys[:, None])
    with pytest.raises(ValueError, match="one value per point"):
        en.evaluate_on_plane(lambda Y: Y, n=4)


def test_low_energy_volume():
    v = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    assert en.low_energy_volume(v, 1.0, cell_area=0.5) == pytest.approx(1.0)
    assert en.low_energy_volume(v, 10.0, relative=True) == 1.0
    assert en.low_energy_volume(v, -1.0, relative=True) == 0.0


# ------------------------------------------------------------------------ toy data/energy


def test_ellipse_data_shapes_seed_and_geometry():
    Y, z = en.ellipse_data(300, axes=(3.0, 1.0), center=(1.0, -1.0), rotation=0.0, noise=0.0, seed=1)
    assert Y.shape == (300, 2) and z.shape == (300,) and Y.dtype == torch.float32
    assert torch.allclose(((Y[:, 0] - 1) / 3) ** 2 + (Y[:, 1] + 1) ** 2, torch.ones(300), atol=1e-5)
    Y2, _ = en.ellipse_data(300, axes=(3.0, 1.0), center=(1.0, -1.0), noise=0.0, seed=1)
    assert torch.equal(Y, Y2)
    Y3, _ = en.ellipse_data(300, seed=2)
    assert not torch.equal(Y3, en.ellipse_data(300, seed=3)[0])
    with pytest.raises(ValueError, match="noise"):
        en.ellipse_data(10, noise=-1.0)
    with pytest.raises(TypeError, match="n"):
        en.ellipse_data(2.5)


def test_ellipse_energy_is_squared_distance():
    model = en.EllipseEnergy(axes=(2.0, 1.0), rotation=0.3)
    Y, z_true = en.ellipse_data(50, axes=(2.0, 1.0), rotation=0.3, noise=0.0, seed=0)
    E = model.energy(Y, z_true)
    assert E.shape == (50, 50)
    assert torch.allclose(E.diagonal(), torch.zeros(50), atol=1e-5)  # each point on its own angle
    assert float(model.free_energy_inf(Y).abs().max()) < 1e-4  # perfect reconstruction: F_inf = 0
    # the centre of a circle of radius 1: distance 1 from every angle
    circle = en.EllipseEnergy(axes=(1.0, 1.0), dtype=torch.float64)
    origin = torch.zeros(1, 2, dtype=torch.float64)
    assert float(circle.free_energy_inf(origin)) == pytest.approx(1.0, abs=1e-6)
    # F_beta of the centre of a circle is exactly 1 - log(2 pi)/beta (constant energy over z)
    assert float(circle.free_energy(origin, 2.0)) == pytest.approx(1.0 - math.log(2 * math.pi) / 2.0, abs=1e-6)
    # refinement beats the grid for a point off the grid angles
    F_grid, _ = circle.infer_code(torch.tensor([[0.0, 3.0]], dtype=torch.float64), n_z=7, refine_steps=0)
    F_ref = circle.free_energy_inf(torch.tensor([[0.0, 3.0]], dtype=torch.float64), n_z=7, refine_steps=100)
    assert float(F_ref) == pytest.approx(4.0, abs=1e-6) and float(F_grid) > float(F_ref) + 0.01


def test_ellipse_energy_partition_does_not_depend_on_parameters():
    """Decoder-only energies are normalised by construction: Z = 2 pi * pi / beta."""
    beta = 4.0
    pts, _, _, da = en.plane_grid((-6, 6), (-6, 6), n=241, dtype=torch.float64)
    for axes in [(1.0, 1.0), (2.5, 0.5)]:
        model = en.EllipseEnergy(axes=axes, dtype=torch.float64)
        F = model.free_energy(pts, beta, n_z=128)
        logZ = en.log_partition(F, beta, cell=da)  # log int exp(-beta F(y)) dy
        assert float(logZ) == pytest.approx(math.log(2 * math.pi * math.pi / beta), abs=1e-3)


def test_free_energy_of_ellipse_approaches_f_inf():
    model = en.EllipseEnergy()
    Y = torch.tensor([[0.0, 0.0], [3.0, 1.0], [2.0, 0.0]])
    f_inf = model.free_energy_inf(Y, n_z=1024)
    prev = None
    for beta in [1.0, 10.0, 100.0, 1000.0]:
        gap = float((model.free_energy(Y, beta, n_z=1024) - f_inf).abs().max())
        if prev is not None:
            assert gap < prev
        prev = gap
    assert prev < 0.01


def test_linear_autoencoder_optimal_code_is_the_minimum():
    torch.manual_seed(0)
    model = en.LinearAutoencoderEnergy(n_code=3, alpha_e=0.7, init_scale=0.5, seed=1, dtype=torch.float64)
    Y = torch.randn(8, 2, dtype=torch.float64)
    Z = model.optimal_code(Y)
    Z_gd = Z.detach() + 0.3 * torch.randn_like(Z)
    F_gd, Z_gd = en.minimize_energy(model.energy, Y, Z_gd, steps=400, step_size=0.1)
    assert torch.allclose(Z.detach(), Z_gd, atol=1e-5)
    assert torch.allclose(model.free_energy_inf(Y).detach(), F_gd, atol=1e-8)


def test_training_on_data_term_collapses_autoencoder_but_not_ellipse():
    Y, _ = en.ellipse_data(200, seed=0)
    model = en.LinearAutoencoderEnergy(n_code=2, seed=0)
    far = torch.tensor([[2.5, 2.5], [-2.8, 0.0], [0.5, -2.5]])
    before = model.free_energy_inf(far).detach()
    hist = en.train_data_term(model, Y, steps=120, lr=0.05, snapshot_every=40, progress_bar=False)
    after = model.free_energy_inf(far).detach()
    assert hist["loss"][-1] < 1e-3 * hist["loss"][0]
    assert (after < 1e-3).all() and (before > 0.5).all()  # low everywhere, not just on the data
    assert [s for s, _ in hist["snapshots"]] == [0, 40, 80, 120]
    # the decoder-only ellipse energy fits the data instead: far points keep a high energy
    ell = en.EllipseEnergy(axes=(1.0, 1.0), requires_grad=True)
    en.train_data_term(ell, Y[:100], steps=60, lr=0.1, progress_bar=False)
    assert float(ell.free_energy_inf(far).detach().min()) > 0.5
    assert torch.allclose(ell.A.detach().abs().diagonal(), torch.tensor([2.0, 1.0]), atol=0.15)


def test_blob_data():
    Y, lab = en.blob_data(300, n_blobs=5, radius=0.75, center=(1.0, 1.0), noise=0.0, seed=0)
    assert Y.shape == (300, 2) and lab.shape == (300,)
    assert torch.allclose((Y - 1.0).norm(dim=1), torch.full((300,), 0.75), atol=1e-5)
    assert len(set(lab.tolist())) == 5
    assert torch.equal(Y, en.blob_data(300, noise=0.0, seed=0)[0])
    Yn, _ = en.blob_data(1000, seed=1)
    assert Yn.min() > 0 and Yn.max() < 2  # inside SESM's expected input range
    with pytest.raises(ValueError, match="n_blobs"):
        en.blob_data(10, n_blobs=0)
