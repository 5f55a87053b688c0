"""Checks for notebook 01 (energy-based learning): the free energy on a grid of the latent
by log-sum-exp, its zero-temperature limit by minimisation, and the gap between them.

    F_beta(Y) = -(1/beta) log( sum_k exp(-beta E(Y, z_k)) dz ),    F_inf(Y) = min_z E(Y, z)

and its two parts, an average energy and an entropy (the width of the basin of latents)::

    F_beta(Y) = <E>_{p(z|Y)} - H[p(z|Y)] / beta

The references are :mod:`sesmlib.energy`'s ``free_energy``, ``free_energy_inf``,
``optimal_code`` and ``free_energy_gap``, and
:func:`sesmlib.checks.references.mean_energy_and_entropy`.
"""
from __future__ import annotations

import torch

from .. import energy as _energy
from . import references as _refs
from ._core import CheckResult, Case, random_tensor, run_check

__all__ = ["check_free_energy", "check_energy_entropy", "check_free_energy_inf", "check_free_energy_gap"]


def _ref_free_energy(energies, beta, dz=1.0):
    return _energy.free_energy(energies, beta, dz=dz)


def _ref_free_energy_inf(energies, z):
    return _energy.free_energy_inf(energies), _energy.optimal_code(energies, z)


def _ref_free_energy_gap(energies, betas, dz=1.0):
    return _energy.free_energy_gap(energies, betas, dz=dz)


def check_free_energy(fn) -> CheckResult:
    """Check the student's ``fn(energies, beta, dz)``:
    ``F_beta = -(1/beta) log(sum_k exp(-beta E[..., k]) dz)`` over the last dimension.

    Cases: a hand-sized example, random batches, dz != 1, a float64 input, and energies of
    about 1000 at beta = 50, where exp(-beta E) underflows to 0 unless the sum is done by
    log-sum-exp; gradients are compared too.

    Examples
    --------
    >>> _ = check_free_energy(lambda E, beta, dz: -(torch.logsumexp(-beta * E, -1) + torch.log(torch.tensor(dz, dtype=E.dtype))) / beta)  # doctest: +ELLIPSIS
    ✅ free energy: correct on all 6 inputs (values, shapes, dtypes and gradients checked).
    """
    cases = [
        Case("one input, E = [0, 1, 4], beta = 1, dz = 1", torch.tensor([[0.0, 1.0, 4.0]]), 1.0, 1.0),
        Case("a (5, 16) batch of random energies, beta = 2, dz = 1", random_tensor((5, 16), low=0.0, high=5.0, seed=1), 2.0, 1.0),
        Case("a grid of 64 angles, beta = 0.5, dz = 2 pi / 64", random_tensor((3, 64), low=0.0, high=3.0, seed=2), 0.5, 2 * 3.141592653589793 / 64),
        Case("a (2, 3, 8) input (several leading dimensions)", random_tensor((2, 3, 8), low=0.0, high=2.0, seed=3), 3.0, 0.25),
        Case("float64 energies (the dtype must be kept)", random_tensor((4, 10), low=0.0, high=5.0, dtype=torch.float64, seed=4), 1.5, 0.1),
        Case("large energies (about 1000) at beta = 50: exp(-beta E) underflows to 0",
             random_tensor((3, 12), low=1000.0, high=1010.0, seed=5), 50.0, 0.5),
    ]
    return run_check(
        "free energy", fn, _ref_free_energy, cases, grad=True, rtol=1e-4, atol=1e-5,
        hint="take the log of the sum with torch.logsumexp over the last dimension (it subtracts the largest "
             "term first, so nothing overflows or underflows), never exp then log; the cell width dz multiplies the "
             "sum, so log(dz) is added inside, before the factor -1/beta.",
    )


def check_energy_entropy(fn) -> CheckResult:
    """Check the student's ``fn(energies, beta, dz) -> (mean_energy, entropy)`` over the last
    dimension: with ``p = softmax(-beta E)``, ``<E> = sum p E`` and ``H = -sum p log(p / dz)``.

    Cases: four equal energies (H = log of the grid's width), a single low energy, random
    batches, dz != 1, float64, and energies of about 1000 at beta = 50, where a
    hand-written ``exp`` underflows to 0 and ``0 * log 0`` gives NaN.

    Examples
    --------
    >>> from sesmlib.checks.references import mean_energy_and_entropy
    >>> _ = check_energy_entropy(mean_energy_and_entropy)  # doctest: +ELLIPSIS
    ✅ average energy and entropy: correct on all 6 inputs (values, shapes and dtypes checked).
    """
    cases = [
        Case("E = [0, 0, 0, 0], beta = 1, dz = 0.5: a flat basin of width 2", torch.zeros(1, 4), 1.0, 0.5),
        Case("one input, E = [0, 1, 4], beta = 1, dz = 1", torch.tensor([[0.0, 1.0, 4.0]]), 1.0, 1.0),
        Case("a (5, 16) batch of random energies, beta = 2, dz = 0.1",
             random_tensor((5, 16), low=0.0, high=5.0, seed=31), 2.0, 0.1),
        Case("a (2, 3, 8) input (several leading dimensions), beta = 0.5, dz = 2 pi / 8",
             random_tensor((2, 3, 8), low=0.0, high=2.0, seed=32), 0.5, 2 * 3.141592653589793 / 8),
        Case("float64 energies (the dtype must be kept)",
             random_tensor((4, 10), low=0.0, high=5.0, dtype=torch.float64, seed=33), 1.5, 0.2),
        Case("large energies (about 1000) at beta = 50: exp(-beta E) underflows to 0",
             random_tensor((3, 12), low=1000.0, high=1010.0, seed=34), 50.0, 0.5),
    ]
    return run_check(
        "average energy and entropy", fn, _refs.mean_energy_and_entropy, cases, rtol=1e-4, atol=1e-5,
        check_name="check_energy_entropy",
        hint="the posterior over the grid is a softmax of -beta E over the last dimension; take its log with "
             "torch.log_softmax (never log of a probability that may have underflowed to 0), then average E and "
             "-log(p / dz) under p. Return the pair (average energy, entropy).",
    )


def check_free_energy_inf(fn) -> CheckResult:
    """Check the student's ``fn(energies, z) -> (F_inf, z_star)``: the lowest energy of each
    row (last dimension) and the latent grid value where it is reached.

    Examples
    --------
    >>> def f(E, z):
    ...     best = E.argmin(dim=-1)
    ...     return E.min(dim=-1).values, z[best]
    >>> _ = check_free_energy_inf(f)  # doctest: +ELLIPSIS
    ✅ zero-temperature free energy: correct on all 4 inputs (values, shapes and dtypes checked).
    """
    z8 = torch.linspace(0, 7, 8)
    cases = [
        Case("one input, E = [3, 1, 2], z = [0, 0.5, 1]", torch.tensor([[3.0, 1.0, 2.0]]), torch.tensor([0.0, 0.5, 1.0])),
        Case("a (6, 8) batch of random energies", random_tensor((6, 8), seed=11), z8),
        Case("a 2-D latent: z of shape (K, 2)", random_tensor((4, 5), seed=12), random_tensor((5, 2), seed=13)),
        Case("float64 energies and latents", random_tensor((3, 32), dtype=torch.float64, seed=14),
             torch.linspace(0, 6.283185307179586, 32, dtype=torch.float64)),
    ]
    return run_check(
        "zero-temperature free energy", fn, _ref_free_energy_inf, cases, check_name="check_free_energy_inf",
        hint="the lowest energy of each row is a minimum over the last dimension, and the same call can also "
             "give the index where it is reached; indexing z with those indices picks the latent (for z of shape "
             "(K, D) too). Return values, not indices: the pair (lowest energies, latents).",
    )


def check_free_energy_gap(fn) -> CheckResult:
    """Check the student's ``fn(energies, betas, dz)``: ``F_beta - F_inf`` for each beta of
    the list, stacked into shape ``(len(betas), ...)``.

    Examples
    --------
    >>> from sesmlib import energy as en
    >>> _ = check_free_energy_gap(lambda E, betas, dz: torch.stack([en.free_energy(E, b, dz=dz) - E.min(-1).values for b in betas]))  # doctest: +ELLIPSIS
    ✅ free-energy gap: correct on all 3 inputs (values, shapes and dtypes checked).
    """
    cases = [
        Case("one input, E = [0, 1, 4], betas = [1, 10]", torch.tensor([[0.0, 1.0, 4.0]]), [1.0, 10.0], 1.0),
        Case("a (4, 50) batch, betas = [0.1, 1, 10, 100, 1000], dz = 0.1",
             random_tensor((4, 50), low=0.0, high=4.0, seed=21), [0.1, 1.0, 10.0, 100.0, 1000.0], 0.1),
        Case("float64, large energies, betas = [1, 1e4]",
             random_tensor((2, 20), low=500.0, high=505.0, dtype=torch.float64, seed=22), [1.0, 1e4], 0.3),
    ]
    return run_check(
        "free-energy gap", fn, _ref_free_energy_gap, cases, check_name="check_free_energy_gap", rtol=1e-4, atol=1e-5,
        hint="for each beta compute F_beta (your free_energy) minus F_inf (the row minimum), then "
             "torch.stack the rows: the result has shape (len(betas), B).",
    )
