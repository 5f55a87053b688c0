"""Energy-based learning in pictures: Gibbs distributions, free energies, and toy energies in 2-D.

An energy ``E(Y, z)`` scores how well an input ``Y`` and a latent ``z`` fit together (low is
good). At inverse temperature ``beta`` the Gibbs distribution turns it into a probability,

    P(Y, z | W) = exp(-beta E(Y, z)) / Z_beta,    Z_beta = int int exp(-beta E(y, z)) dy dz,

and integrating the latent out gives the free energy of the input,

    F_beta(Y) = -(1/beta) log int exp(-beta E(Y, z)) dz,    P(Y | W) = exp(-beta F_beta(Y)) / Z_beta.

As ``beta -> inf`` the integral is dominated by its largest term, so

    F_inf(Y) = min_z E(Y, z) = E(Y, Z*(Y)),

the energy of the best latent: the quantity SESM (Ranzato, Boureau, LeCun, NIPS 2007, Sec. 2)
minimises instead of the negative log-likelihood. Everything here works on a *grid* of the
latent (a 1-D angle, or any flattened grid), where integrals are sums computed stably by
log-sum-exp, and on a grid of the plane, where energy surfaces can be drawn.

The module also holds the toy data (points near an ellipse, :func:`ellipse_data`; small
clusters on a circle, :func:`blob_data`) and two toy energies with parameters ``W`` used by
notebooks 01-03:

- :class:`EllipseEnergy`, a decoder-only energy ``||Y - c - A u(z)||^2`` with ``z`` an angle.
  Its partition function does not depend on ``W``: it cannot collapse.
- :class:`LinearAutoencoderEnergy`, a tied linear auto-encoder energy whose code is as big
  as the input: trained on the data term alone (no contrastive term, no sparsity) its
  energy surface collapses to flat (:func:`train_data_term`).

References
----------
Ranzato, Boureau, LeCun. Sparse Feature Learning for Deep Belief Networks. NIPS 2007.
LeCun, Chopra, Hadsell, Ranzato, Huang. A Tutorial on Energy-Based Learning. 2006.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import torch

from ._utils import check_matrix, check_nonnegative, check_positive_int, progress

__all__ = [
    "check_beta",
    "gibbs_distribution",
    "log_partition",
    "free_energy",
    "free_energy_inf",
    "optimal_code",
    "free_energy_gap",
    "density_from_free_energy",
    "minimize_energy",
    "plane_grid",
    "evaluate_on_plane",
    "low_energy_volume",
    "ellipse_data",
    "blob_data",
    "EllipseEnergy",
    "LinearAutoencoderEnergy",
    "train_data_term",
]

# ----------------------------------------------------------------------------- arguments


def check_beta(beta, *, allow_inf: bool = True) -> float:
    """Return ``beta`` as a float, or raise naming ``beta`` when it is not > 0.

    ``math.inf`` is accepted when ``allow_inf`` (the zero-temperature limit).

    Examples
    --------
    >>> check_beta(2)
    2.0
    >>> check_beta(math.inf)
    inf
    """
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) and not (
        isinstance(beta, torch.Tensor) and beta.numel() == 1
    ):
        raise TypeError(f"beta must be a number, got {type(beta).__name__}")
    beta = float(beta)
    if math.isnan(beta) or beta <= 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    if math.isinf(beta) and not allow_inf:
        raise ValueError("beta must be finite here")
    return beta


def _check_energies(name: str, energies) -> torch.Tensor:
    if not isinstance(energies, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(energies).__name__}")
    if not energies.is_floating_point():
        raise TypeError(f"{name} must have a floating dtype, got {energies.dtype}")
    if energies.dim() == 0 or energies.shape[-1] == 0:
        raise ValueError(f"{name} must have a non-empty last dimension (the latent grid), got shape {tuple(energies.shape)}")
    if torch.isnan(energies).any():
        raise ValueError(f"{name} contains NaN values")
    return energies


# ------------------------------------------------------------- Gibbs and free energies


def gibbs_distribution(energies: torch.Tensor, beta: float, *, dims: Sequence[int] | None = None) -> torch.Tensor:
    """The Gibbs distribution ``P = exp(-beta E) / sum exp(-beta E)`` over a grid.

    Parameters
    ----------
    energies : Tensor
        Energies on a grid, any shape, e.g. ``(G, K)`` for G inputs and K latent values.
    beta : float
        Inverse temperature, > 0 (``math.inf`` puts all the mass on the minimum, split
        equally between ties).
    dims : sequence of int, optional
        The dimensions to normalise over (all of them by default). Normalising over the
        latent dimension only gives the posterior ``P(z | Y)``.

    Returns
    -------
    Tensor
        Probabilities of the same shape, summing to 1 over ``dims``.

    Examples
    --------
    >>> p = gibbs_distribution(torch.tensor([0.0, 1.0, 2.0]), beta=1.0)
    >>> round(float(p.sum()), 6), bool(p[0] > p[1] > p[2])
    (1.0, True)
    """
    energies = _check_energies("energies", energies)
    beta = check_beta(beta)
    dims = tuple(range(energies.dim())) if dims is None else tuple(dims)
    if math.isinf(beta):
        low = energies == energies.amin(dim=dims, keepdim=True)
        low = low.to(energies.dtype)
        return low / low.sum(dim=dims, keepdim=True)
    logits = -beta * energies
    return torch.exp(logits - torch.logsumexp(logits, dim=dims, keepdim=True))


def log_partition(energies: torch.Tensor, beta: float, *, dims: Sequence[int] | None = None, cell: float = 1.0) -> torch.Tensor:
    """``log Z_beta = log( sum exp(-beta E) * cell )``: the log of the Riemann sum of
    ``exp(-beta E)`` over a grid whose cells have volume ``cell``, by log-sum-exp.

    Parameters
    ----------
    energies : Tensor
        Energies on a grid.
    beta : float
        Inverse temperature, finite and > 0.
    dims : sequence of int, optional
        Dimensions summed over (all by default); the others are kept.
    cell : float
        Volume of one grid cell (``dy1 * dy2 * dz`` for a grid of the plane times a grid
        of an angle); 1 for a plain sum over discrete states.

    Examples
    --------
    >>> float(log_partition(torch.zeros(4), beta=1.0))  # log 4
    1.3862943649291992
    """
    energies = _check_energies("energies", energies)
    beta = check_beta(beta, allow_inf=False)
    cell = check_nonnegative("cell", cell, positive=True)
    dims = tuple(range(energies.dim())) if dims is None else tuple(dims)
    return torch.logsumexp(-beta * energies, dim=dims) + math.log(cell)


def free_energy(energies: torch.Tensor, beta: float, *, dz: float = 1.0) -> torch.Tensor:
    """Free energy of each input, the latent integrated out on a grid:

        F_beta(Y) = -(1/beta) log( sum_k exp(-beta E(Y, z_k)) dz ),

    computed by log-sum-exp so that large ``beta * E`` neither overflows nor underflows.

    Parameters
    ----------
    energies : Tensor, shape (..., K)
        ``E(Y, z_k)`` on a grid of K latent values, along the last dimension.
    beta : float
        Inverse temperature > 0; ``math.inf`` returns ``F_inf = min_k E`` (the limit).
    dz : float
        Width of one latent grid cell (``2 pi / K`` for an angle), so the sum approximates
        the integral; 1 for a plain sum over discrete latents.

    Returns
    -------
    Tensor, shape (...)

    Notes
    -----
    ``F_inf - log(K dz)/beta <= F_beta <= F_inf - log(dz)/beta``, so F_beta -> F_inf as
    beta -> inf (see :func:`free_energy_gap`).

    Examples
    --------
    >>> E = torch.tensor([[0.0, 1.0, 4.0]])
    >>> free_energy(E, beta=1.0)  # -log(e^0 + e^-1 + e^-4)
    tensor([-0.3266])
    >>> free_energy(E, beta=math.inf)
    tensor([0.])
    """
    energies = _check_energies("energies", energies)
    beta = check_beta(beta)
    dz = check_nonnegative("dz", dz, positive=True)
    if math.isinf(beta):
        return energies.amin(dim=-1)
    return -(torch.logsumexp(-beta * energies, dim=-1) + math.log(dz)) / beta


def free_energy_inf(energies: torch.Tensor) -> torch.Tensor:
    """The zero-temperature free energy ``F_inf(Y) = min_z E(Y, z)`` on a latent grid.

    Parameters
    ----------
    energies : Tensor, shape (..., K)

    Returns
    -------
    Tensor, shape (...)

    Examples
    --------
    >>> free_energy_inf(torch.tensor([[3.0, 1.0, 2.0]]))
    tensor([1.])
    """
    return _check_energies("energies", energies).amin(dim=-1)


def optimal_code(energies: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """``Z*(Y) = argmin_z E(Y, z)``: the grid value of the latent with the lowest energy.

    Parameters
    ----------
    energies : Tensor, shape (B, K)
    z : Tensor, shape (K,) or (K, D)
        The latent grid.

    Returns
    -------
    Tensor, shape (B,) or (B, D)

    Examples
    --------
    >>> optimal_code(torch.tensor([[3.0, 1.0, 2.0]]), torch.tensor([0.0, 0.5, 1.0]))
    tensor([0.5000])
    """
    energies = _check_energies("energies", energies)
    if not isinstance(z, torch.Tensor) or z.shape[0] != energies.shape[-1]:
        raise ValueError(f"z must be a tensor with {energies.shape[-1]} grid values along its first dimension")
    return z[energies.argmin(dim=-1)]


def free_energy_gap(energies: torch.Tensor, betas: Sequence[float], *, dz: float = 1.0) -> torch.Tensor:
    """``F_beta(Y) - F_inf(Y)`` for each beta in ``betas``: how far the free energy is from
    its zero-temperature limit. Bounded by ``[-log(K dz)/beta, -log(dz)/beta]``, so it
    goes to 0 like ``1/beta`` (for a smooth minimum, like ``log(beta)/(2 beta)``).

    Parameters
    ----------
    energies : Tensor, shape (..., K)
    betas : sequence of float, each > 0 and finite
    dz : float

    Returns
    -------
    Tensor, shape (len(betas), ...)

    Examples
    --------
    >>> gap = free_energy_gap(torch.tensor([[0.0, 1.0, 4.0]]), [1.0, 10.0, 100.0])
    >>> bool((gap[:, 0].abs().diff() < 0).all())
    True
    """
    energies = _check_energies("energies", energies)
    if len(betas) == 0:
        raise ValueError("betas must hold at least one value")
    f_inf = free_energy_inf(energies)
    return torch.stack([free_energy(energies, check_beta(b, allow_inf=False), dz=dz) - f_inf for b in betas])


def density_from_free_energy(free_energies: torch.Tensor, beta: float, *, cell_area: float = 1.0) -> torch.Tensor:
    """The marginal density on a grid of inputs, ``P(Y) = exp(-beta F_beta(Y)) / Z_beta``,
    normalised so that ``sum P * cell_area = 1``.

    Parameters
    ----------
    free_energies : Tensor, any shape
        ``F_beta`` on a grid of inputs (e.g. ``(n, n)`` over the plane).
    beta : float
        The inverse temperature the free energies were computed at.
    cell_area : float
        Area of one grid cell of the plane.

    Examples
    --------
    >>> p = density_from_free_energy(torch.zeros(2, 2), beta=1.0, cell_area=0.5)
    >>> float(p.sum() * 0.5)
    1.0
    """
    cell_area = check_nonnegative("cell_area", cell_area, positive=True)
    return gibbs_distribution(free_energies, beta) / cell_area


def minimize_energy(
    energy_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    Y: torch.Tensor,
    z0: torch.Tensor,
    *,
    steps: int = 100,
    step_size: float | torch.Tensor = 0.1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``F_inf(Y) = min_z E(Y, z)`` for a continuous latent, by gradient descent on z.

    Each sample's latent moves independently, ``z <- z - step_size * dE(Y, z)/dz``,
    starting from ``z0`` (a good start, e.g. the best value on a coarse grid, avoids poor
    local minima).

    Parameters
    ----------
    energy_fn : callable ``(Y, Z) -> Tensor (B,)``
        Differentiable in Z.
    Y : Tensor, shape (B, N)
    z0 : Tensor, shape (B, ...)
    steps : int
    step_size : float, or Tensor (B,)
        One step size for all samples, or one per sample (for energies whose curvature
        differs from sample to sample).

    Returns
    -------
    (F_inf, Z_star) : Tensor (B,), Tensor like z0
        Both detached.

    Examples
    --------
    >>> f = lambda Y, Z: ((Y - Z) ** 2).sum(1)
    >>> F, Z = minimize_energy(f, torch.ones(1, 2), torch.zeros(1, 2), steps=50, step_size=0.25)
    >>> float(F) < 1e-6
    True
    """
    steps = check_positive_int("steps", steps)
    if isinstance(step_size, torch.Tensor) and step_size.numel() > 1:
        if step_size.shape != (z0.shape[0],) or not bool((step_size > 0).all()):
            raise ValueError(f"step_size must be a positive number or a positive tensor of shape ({z0.shape[0]},)")
        step_size = step_size.detach().reshape(-1, *([1] * (z0.dim() - 1)))  # (B, 1, ...)
    else:
        step_size = check_nonnegative("step_size", step_size, positive=True)
    Y = Y.detach()
    z = z0.detach().clone().requires_grad_(True)
    with torch.enable_grad():  # works inside a caller's torch.no_grad() block too
        for _ in range(steps):
            e = energy_fn(Y, z)  # (B,)
            (grad,) = torch.autograd.grad(e.sum(), z)
            with torch.no_grad():
                z -= step_size * grad
    with torch.no_grad():
        F = energy_fn(Y, z)
    return F.detach(), z.detach()


# --------------------------------------------------------------------- the plane as a grid


def plane_grid(xlim=(-3.0, 3.0), ylim=(-3.0, 3.0), n: int = 101, *, dtype=torch.float32, device=None):
    """A regular grid of points of the plane.

    Returns
    -------
    points : Tensor, shape (n * n, 2)
        Row-major: ``points.reshape(n, n, 2)[i, j] = (xs[j], ys[i])``, so an ``(n, n)``
        image of values drawn with ``imshow(..., origin="lower", extent=...)`` is upright.
    xs, ys : Tensor, shape (n,)
    cell_area : float
        Area of one grid cell.

    Examples
    --------
    >>> pts, xs, ys, da = plane_grid((0, 1), (0, 1), n=3)
    >>> pts.shape, pts[1].tolist(), da
    (torch.Size([9, 2]), [0.5, 0.0], 0.25)
    """
    n = check_positive_int("n", n)
    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")
    for name, lim in (("xlim", xlim), ("ylim", ylim)):
        if len(lim) != 2 or not float(lim[0]) < float(lim[1]):
            raise ValueError(f"{name} must be (low, high) with low < high, got {lim}")
    xs = torch.linspace(float(xlim[0]), float(xlim[1]), n, dtype=dtype, device=device)
    ys = torch.linspace(float(ylim[0]), float(ylim[1]), n, dtype=dtype, device=device)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    points = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)  # (n*n, 2)
    cell_area = float((xs[1] - xs[0]) * (ys[1] - ys[0]))
    return points, xs, ys, cell_area


def evaluate_on_plane(fn: Callable[[torch.Tensor], torch.Tensor], xlim=(-3.0, 3.0), ylim=(-3.0, 3.0), n: int = 101, *, batch_size: int = 4096, dtype=torch.float32, device=None):
    """Evaluate a batched function of 2-D inputs, ``fn(Y (B, 2)) -> (B,)``, on an n x n grid.

    Returns
    -------
    values : Tensor, shape (n, n)
        ``values[i, j] = fn((xs[j], ys[i]))`` (draw with ``origin="lower"``).
    xs, ys : Tensor, shape (n,)
    cell_area : float

    Examples
    --------
    >>> v, xs, ys, da = evaluate_on_plane(lambda Y: (Y ** 2).sum(1), n=5)
    >>> v.shape, float(v[2, 2])
    (torch.Size([5, 5]), 0.0)
    """
    batch_size = check_positive_int("batch_size", batch_size)
    points, xs, ys, cell_area = plane_grid(xlim, ylim, n, dtype=dtype, device=device)
    out = []
    for start in range(0, points.shape[0], batch_size):
        v = fn(points[start : start + batch_size])
        out.append(v.detach().reshape(-1))
    values = torch.cat(out)
    if values.numel() != points.shape[0]:
        raise ValueError(f"fn must return one value per point, got {values.numel()} values for {points.shape[0]} points")
    return values.reshape(n, n), xs, ys, cell_area


def low_energy_volume(values: torch.Tensor, threshold: float, *, cell_area: float = 1.0, relative: bool = False) -> float:
    """The "volume of low energy": the area of the region where the energy is at most
    ``threshold``, counted on a grid (``count(values <= threshold) * cell_area``).

    A good energy is low near the data and high elsewhere, so this area stays small; an
    energy that collapsed is low everywhere, and the area is the whole window.

    Parameters
    ----------
    values : Tensor
        Energies (or free energies) on a grid of the plane.
    threshold : float
    cell_area : float
        Area of one grid cell (ignored when ``relative``).
    relative : bool
        Return the fraction of the grid instead of an area.

    Examples
    --------
    >>> low_energy_volume(torch.tensor([[0.0, 1.0], [2.0, 3.0]]), 1.5, relative=True)
    0.5
    """
    if not isinstance(values, torch.Tensor) or values.numel() == 0:
        raise ValueError("values must be a non-empty tensor")
    low = int((values <= float(threshold)).sum())
    if relative:
        return low / values.numel()
    return low * check_nonnegative("cell_area", cell_area, positive=True)


# ---------------------------------------------------------------------------- toy data


def ellipse_data(
    n: int = 500,
    *,
    axes: tuple[float, float] = (2.0, 1.0),
    center: tuple[float, float] = (0.0, 0.0),
    rotation: float = 0.0,
    noise: float = 0.1,
    seed: int | None = 0,
    dtype=torch.float32,
    device=None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Points near an ellipse: the 2-D toy data set of notebooks 01-03.

    ``Y = center + R(rotation) diag(axes) (cos z, sin z) + noise * eps``, with the angle
    ``z`` uniform in [0, 2 pi) and ``eps`` standard normal.

    Returns
    -------
    Y : Tensor, shape (n, 2)
    z : Tensor, shape (n,)
        The angle each point was drawn from (the "true" latent).

    Examples
    --------
    >>> Y, z = ellipse_data(100, noise=0.0)
    >>> Y.shape, bool(torch.allclose((Y[:, 0] / 2) ** 2 + Y[:, 1] ** 2, torch.ones(100)))
    (torch.Size([100, 2]), True)
    """
    n = check_positive_int("n", n)
    noise = check_nonnegative("noise", noise)
    for a in axes:
        check_nonnegative("axes", a, positive=True)
    g = torch.Generator().manual_seed(seed) if seed is not None else None
    z = torch.rand(n, generator=g, dtype=torch.float64) * (2 * math.pi)  # (n,)
    A = _ellipse_matrix(axes, rotation, torch.float64)
    Y = torch.tensor(center, dtype=torch.float64) + torch.stack([z.cos(), z.sin()], 1) @ A.T  # (n, 2)
    Y = Y + noise * torch.randn(n, 2, generator=g, dtype=torch.float64)
    return Y.to(dtype=dtype, device=device), z.to(dtype=dtype, device=device)


def blob_data(
    n: int = 500,
    *,
    n_blobs: int = 5,
    radius: float = 0.75,
    center: tuple[float, float] = (1.0, 1.0),
    noise: float = 0.06,
    seed: int | None = 0,
    dtype=torch.float32,
    device=None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Points in ``n_blobs`` small round clusters whose centres sit evenly on a circle:
    the 2-D toy data of notebook 03, inside [0, 2]^2 with the defaults (the range of
    inputs SESM expects), with empty space between and inside the clusters, where a good
    energy must be high.

    Returns
    -------
    Y : Tensor, shape (n, 2)
    label : Tensor, shape (n,), int64
        The cluster each point was drawn from.

    Examples
    --------
    >>> Y, lab = blob_data(200, n_blobs=4, noise=0.0)
    >>> Y.shape, sorted(set(lab.tolist()))
    (torch.Size([200, 2]), [0, 1, 2, 3])
    """
    n = check_positive_int("n", n)
    n_blobs = check_positive_int("n_blobs", n_blobs)
    noise = check_nonnegative("noise", noise)
    radius = check_nonnegative("radius", radius)
    g = torch.Generator().manual_seed(seed) if seed is not None else None
    angles = torch.arange(n_blobs, dtype=torch.float64) * (2 * math.pi / n_blobs)  # (K,)
    centres = torch.tensor(center, dtype=torch.float64) + radius * torch.stack([angles.cos(), angles.sin()], 1)  # (K, 2)
    label = torch.randint(0, n_blobs, (n,), generator=g)  # (n,)
    Y = centres[label] + noise * torch.randn(n, 2, generator=g, dtype=torch.float64)  # (n, 2)
    return Y.to(dtype=dtype, device=device), label.to(device)


def _ellipse_matrix(axes, rotation, dtype) -> torch.Tensor:
    c, s = math.cos(rotation), math.sin(rotation)
    R = torch.tensor([[c, -s], [s, c]], dtype=dtype)
    return R @ torch.diag(torch.tensor([float(axes[0]), float(axes[1])], dtype=dtype))


# ------------------------------------------------------------------------- toy energies


class EllipseEnergy:
    """A decoder-only toy energy with an angle as latent:

        E_W(Y, z) = || Y - c - A u(z) ||^2,    u(z) = (cos z, sin z),    W = (A, c).

    ``F_inf(Y)`` is the squared distance from Y to the ellipse ``{c + A u(z)}``: zero for a
    point the model reconstructs perfectly. Because ``int exp(-beta ||Y - m||^2) dY = pi/beta``
    for any m, its partition function ``Z_beta = 2 pi * pi / beta`` does not depend on W:
    this energy is normalised by construction (like PCA or K-means) and cannot collapse.

    Parameters
    ----------
    axes, center, rotation : the initial ellipse (A = R(rotation) diag(axes)).
    requires_grad : bool
        Make ``A`` and ``c`` trainable leaves.
    dtype, device : where the parameters live.

    Attributes
    ----------
    A : Tensor, shape (2, 2)
    c : Tensor, shape (2,)

    Examples
    --------
    >>> model = EllipseEnergy(axes=(2.0, 1.0))
    >>> z = model.z_grid(4)
    >>> model.energy(torch.tensor([[2.0, 0.0]]), z)[0, 0].item()  # the point at angle 0
    0.0
    >>> round(model.free_energy_inf(torch.tensor([[0.0, 0.0]])).item(), 4)  # distance^2 to the nearest point
    1.0
    """

    def __init__(self, axes=(2.0, 1.0), center=(0.0, 0.0), rotation: float = 0.0, *, requires_grad: bool = False, dtype=torch.float32, device=None):
        self.A = _ellipse_matrix(axes, rotation, dtype).to(device).requires_grad_(requires_grad)
        self.c = torch.tensor(center, dtype=dtype, device=device).requires_grad_(requires_grad)

    def parameters(self) -> list[torch.Tensor]:
        """``[A, c]``."""
        return [self.A, self.c]

    @staticmethod
    def z_grid(n_z: int = 256, *, dtype=torch.float32, device=None) -> torch.Tensor:
        """``n_z`` equally spaced angles in [0, 2 pi); the cell width is ``2 pi / n_z``."""
        n_z = check_positive_int("n_z", n_z)
        return torch.arange(n_z, dtype=dtype, device=device) * (2 * math.pi / n_z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``c + A u(z)``: the point of the ellipse at angle z, shape (K, 2)."""
        u = torch.stack([z.cos(), z.sin()], dim=-1)  # (K, 2)
        return self.c + u @ self.A.T  # (K, 2)

    def energy(self, Y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``E_W(Y, z)`` for every pair: Y (B, 2), z (K,) -> (B, K)."""
        Y = check_matrix("Y", Y, n_cols=2, allow_1d=True)
        d = Y[:, None, :] - self.decode(z)[None, :, :]  # (B, K, 2)
        return (d**2).sum(-1)  # (B, K)

    def free_energy(self, Y: torch.Tensor, beta: float, *, n_z: int = 256) -> torch.Tensor:
        """``F_beta(Y) = -(1/beta) log int_0^{2 pi} exp(-beta E(Y, z)) dz`` on a grid of n_z angles, (B,)."""
        z = self.z_grid(n_z, dtype=self.A.dtype, device=self.A.device)
        return free_energy(self.energy(Y, z), beta, dz=2 * math.pi / n_z)

    def free_energy_inf(self, Y: torch.Tensor, *, n_z: int = 256, refine_steps: int = 20) -> torch.Tensor:
        """``F_inf(Y) = min_z E(Y, z)``: the best grid angle, refined by gradient descent, (B,).

        Differentiable in ``A`` and ``c`` (at fixed ``Z*``, which is all the gradient needs:
        dF_inf/dW = dE/dW at Z*)."""
        Y = check_matrix("Y", Y, n_cols=2, allow_1d=True)
        _, z_star = self.infer_code(Y, n_z=n_z, refine_steps=refine_steps)  # (B,)
        return ((Y - self.decode(z_star)) ** 2).sum(-1)  # (B,)

    def infer_code(self, Y: torch.Tensor, *, n_z: int = 256, refine_steps: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
        """``(F_inf(Y), Z*(Y))``: the best angle on a grid of n_z, then ``refine_steps``
        gradient steps on the angle (step ``1 / (2 s (2 s + ||Y - c||))``, s the largest
        axis, which bounds the curvature of E in z), both (B,)."""
        z = self.z_grid(n_z, dtype=self.A.dtype, device=self.A.device)
        with torch.no_grad():
            z0 = optimal_code(self.energy(Y, z), z)  # (B,)
        A, c = self.A.detach(), self.c.detach()

        def e(Yb, zb):
            u = torch.stack([zb.cos(), zb.sin()], dim=-1)  # (B, 2)
            return ((Yb - c - u @ A.T) ** 2).sum(-1)

        if refine_steps == 0:
            with torch.no_grad():
                return e(Y, z0), z0
        # d2E/dz2 <= 2 s (2 s + ||Y - c||), s the largest axis: a safe step per sample
        s = max(float(torch.linalg.matrix_norm(A, ord=2)), 1e-6)
        step = 1.0 / (2 * s * (2 * s + (Y - c).norm(dim=1)))  # (B,)
        return minimize_energy(e, Y, z0, steps=refine_steps, step_size=step)


class LinearAutoencoderEnergy:
    """A tied linear auto-encoder energy with a continuous code z in R^M:

        E_W(Y, z) = alpha_e ||z - (W^T Y + b_enc)||^2 + ||Y - (W z + b_dec)||^2.

    It is SESM's energy (eq. 7) with the logistic replaced by the identity and no sparsity
    term. With a code as big as the input (M >= N = 2) it can reconstruct *every* point:
    nothing but a contrastive (log-partition) term or a limit on the code, such as
    sparsity, keeps ``F_inf`` from being 0 everywhere. Trained on the data term alone
    (:func:`train_data_term`) it collapses: ``W W^T -> I`` and the surface goes flat.

    ``F_inf`` is exact: the energy is quadratic in z, so ``Z*`` solves
    ``(alpha_e I + W^T W) z = alpha_e (W^T Y + b_enc) + W^T (Y - b_dec)``.

    Parameters
    ----------
    n_code : int
        M, the size of the code.
    alpha_e : float
        Weight of the encoder term.
    init_scale : float
        Initial W is ``init_scale * randn(2, M)``; biases start at 0.
    seed : int, optional
    dtype, device

    Attributes
    ----------
    W : Tensor (2, M)
    b_enc : Tensor (M,)
    b_dec : Tensor (2,)

    Examples
    --------
    >>> model = LinearAutoencoderEnergy(n_code=2, seed=0)
    >>> with torch.no_grad():
    ...     _ = model.W.copy_(torch.eye(2))
    >>> float(model.free_energy_inf(torch.randn(5, 2)).detach().abs().max()) < 1e-6  # identity: perfect everywhere
    True
    """

    n_visible = 2

    def __init__(self, n_code: int = 2, *, alpha_e: float = 1.0, init_scale: float = 0.1, seed: int | None = 0, dtype=torch.float32, device=None):
        self.n_code = check_positive_int("n_code", n_code)
        self.alpha_e = check_nonnegative("alpha_e", alpha_e, positive=True)
        init_scale = check_nonnegative("init_scale", init_scale)
        g = torch.Generator().manual_seed(seed) if seed is not None else None
        W = init_scale * torch.randn(self.n_visible, self.n_code, generator=g, dtype=torch.float64)
        self.W = W.to(dtype=dtype, device=device).requires_grad_(True)
        self.b_enc = torch.zeros(self.n_code, dtype=dtype, device=device, requires_grad=True)
        self.b_dec = torch.zeros(self.n_visible, dtype=dtype, device=device, requires_grad=True)

    def parameters(self) -> list[torch.Tensor]:
        """``[W, b_enc, b_dec]``."""
        return [self.W, self.b_enc, self.b_dec]

    def energy(self, Y: torch.Tensor, Z: torch.Tensor) -> torch.Tensor:
        """``E_W(Y, Z)``, Y (B, 2), Z (B, M) -> (B,)."""
        enc = Y @ self.W + self.b_enc  # (B, M)
        dec = Z @ self.W.T + self.b_dec  # (B, 2)
        return self.alpha_e * ((Z - enc) ** 2).sum(1) + ((Y - dec) ** 2).sum(1)

    def optimal_code(self, Y: torch.Tensor) -> torch.Tensor:
        """``Z*(Y) = argmin_z E_W(Y, z)`` in closed form, (B, M)."""
        Y = check_matrix("Y", Y, n_cols=self.n_visible, allow_1d=True)
        M = self.alpha_e * torch.eye(self.n_code, dtype=self.W.dtype, device=self.W.device) + self.W.T @ self.W  # (M, M)
        rhs = self.alpha_e * (Y @ self.W + self.b_enc) + (Y - self.b_dec) @ self.W  # (B, M)
        return torch.linalg.solve(M, rhs.T).T  # (B, M)

    def free_energy_inf(self, Y: torch.Tensor) -> torch.Tensor:
        """``F_inf(Y) = E_W(Y, Z*(Y))``, (B,). Differentiable in the parameters."""
        return self.energy(Y, self.optimal_code(Y))


def train_data_term(model, Y: torch.Tensor, *, steps: int = 300, lr: float = 0.05, snapshot_every: int | None = None, progress_bar: bool = True) -> dict:
    """Train an energy on the data term alone: minimise the mean of ``F_inf`` over the
    data, with no contrastive (log-partition) term and no sparsity.

    Parameters
    ----------
    model : an object with ``parameters()`` (trainable leaves) and ``free_energy_inf(Y)``
        e.g. :class:`LinearAutoencoderEnergy` (which collapses) or
        ``EllipseEnergy(requires_grad=True)`` (which does not).
    Y : Tensor (B, 2)
    steps : int
        Full-batch gradient steps (plain gradient descent).
    lr : float
    snapshot_every : int, optional
        Also keep a copy of the parameters every this many steps (and at step 0 and the end).
    progress_bar : bool

    Returns
    -------
    dict
        ``loss`` (list of float, one per step, before the step), ``snapshots``
        (list of ``(step, [detached parameter copies])``).

    Examples
    --------
    >>> Y, _ = ellipse_data(200)
    >>> model = LinearAutoencoderEnergy(seed=0)
    >>> hist = train_data_term(model, Y, steps=50, progress_bar=False)
    >>> hist["loss"][-1] < hist["loss"][0]
    True
    """
    steps = check_positive_int("steps", steps)
    lr = check_nonnegative("lr", lr, positive=True)
    params = model.parameters()
    opt = torch.optim.SGD(params, lr=lr)
    hist = {"loss": [], "snapshots": []}

    def snap(step):
        hist["snapshots"].append((step, [p.detach().clone() for p in params]))

    for step in progress(range(steps), enable=progress_bar, desc="data term only", leave=False):
        if snapshot_every and step % snapshot_every == 0:
            snap(step)
        opt.zero_grad()
        loss = model.free_energy_inf(Y).mean()
        loss.backward()
        opt.step()
        hist["loss"].append(float(loss.detach()))
    if snapshot_every:
        snap(steps)
    return hist
