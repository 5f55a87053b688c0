"""The Sparse Encoding Symmetric Machine (SESM) and its on-line coordinate-descent training.

Ranzato, Boureau and LeCun, "Sparse Feature Learning for Deep Belief Networks", NIPS 2007,
Sections 2-3. Notation (the paper's, with a batch dimension B first everywhere):

- ``Y`` (B, N) inputs, ``Z`` (B, M) codes, ``W`` (N, M) the tied filters (columns),
  ``b_enc`` (M,), ``b_dec`` (N,).
- logistic with gain ``l(x) = 1 / (1 + exp(-g x))``;
- encoder ``f_enc(Y) = W^T Y + b_enc``; decoder ``f_dec(Z) = W l(Z) + b_dec``;
- energy (eq. 7)  ``E(Y, Z) = alpha_e ||Z - f_enc(Y)||^2 + ||Y - f_dec(Z)||^2``;
- sparsity ``h(Z) = sum_i log(1 + l(z_i)^2)``;
- loss (eq. 8)  ``L(W, Y) = E(Y, Z) + alpha_s h(Z) + alpha_r ||W||_1``.

Training (Section 3) alternates, for each sample: (1) minimise eq. 8 over ``Z`` by gradient
descent starting from the encoder output, giving ``Z*``; (2) with ``Y`` and ``Z*`` clamped,
one gradient step on ``W, b_enc, b_dec``.

The module reads top to bottom:

1. pure functions of tensors (``logistic``, ``logistic_grad``, ``sparsity_penalty``,
   ``energy``, ``loss``, ``loss_grads``, ``code_grad``): the math, as a student derives it;
2. :class:`SESM`, the model, whose methods call the functions of part 1;
3. training: :class:`FitSettings` (every training setting, one frozen record),
   :meth:`SESM.fit` and :func:`fit_sweep` (the paper's alpha_s sweep), which hand the
   settings to the engine (``sesmlib/_engine.py``), which runs the
   same two steps written for speed: preallocated buffers, in-place products, K models at
   once, worker processes for the on-line sweep. The tests check the engine against part 1.

The energy convention. The model's default, ``convention="half"``, writes the energy
with 1/2 in front of both quadratic terms, ``1/2 alpha_e ||Z - f_enc(Y)||^2 + 1/2
||Y - f_dec(Z)||^2``, as the paper's own code does (its learning rates are given for it);
``convention="eq7"`` is eq. 7 exactly as printed. The functions of part 1 take the same
``convention`` argument and default to eq. 7. The two differ only by a factor 2 on the
quadratic terms against alpha_s h(Z) and alpha_r ||W||_1: a half-convention model is the
eq. 7 model with alpha_s and alpha_r doubled, trained with half the learning rate and half
the code step (bit for bit, tested). See :class:`SESM` and the Notes of :meth:`SESM.fit`.

Speed (``python -m sesmlib bench sesm`` prints it for this machine): on-line training with
the default 10 code steps costs about 1.65 ms of CPU per digit (one thread, a shared
2-core machine), about 33 s per epoch of the paper's 20000 digits.
"""
from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Callable, Sequence

import torch

from . import _engine, _utils
from ._device import device as _pick_device
from ._engine import DivergenceError

__all__ = [
    "SESM",
    "DivergenceError",
    "logistic",
    "logistic_grad",
    "sparsity_penalty",
    "energy",
    "loss",
    "loss_grads",
    "code_grad",
    "fit_sweep",
    "default_lr",
    "default_momentum",
    "default_infer_step_size",
    "energy_scale",
    "CONVENTIONS",
    "FitSettings",
    "PAPER_ALPHAS",
]

#: The sparsity weights the paper sweeps for Figure 1 (Section 4.1).
PAPER_ALPHAS = (1.0, 0.5, 0.2, 0.1, 0.05)

#: The two ways of writing the energy: the factor in front of its quadratic terms
#: (:func:`energy_scale`). "eq7" is eq. 7 as printed; "half" puts 1/2 in front of both
#: quadratic terms, the convention of the paper's learning rates (see :class:`SESM`).
CONVENTIONS = {"eq7": 1.0, "half": 0.5}
DEFAULT_CONVENTION = "half"

# Settings the paper leaves open, and its own (see SESM.fit for the reasons). Step sizes
# are in the units of the "half" convention; an "eq7" model takes the same steps with half
# these numbers (default_lr, default_infer_step_size).
DEFAULT_INFER_STEPS = 10
DEFAULT_INFER_STEP_SIZE = 0.2
DEFAULT_INIT_STD = 0.01
DEFAULT_LR_ONLINE = 0.025  # the paper's
DEFAULT_LR_MINIBATCH = 0.04
DEFAULT_LR_DECAY = 0.8
DEFAULT_MOMENTUM = 0.9


# =============================================================================
# 1. The math, as pure functions
# =============================================================================


def logistic(x: torch.Tensor, gain: float) -> torch.Tensor:
    """The logistic with gain, ``l(x) = 1 / (1 + exp(-g x))`` (Section 2).

    With ``g = 7`` it is close to a step: the code units are quasi-binary.

    Examples
    --------
    >>> import torch
    >>> logistic(torch.tensor([0.0, 1.0]), gain=7.0)
    tensor([0.5000, 0.9991])
    """
    return torch.sigmoid(gain * x)


def logistic_grad(x: torch.Tensor, gain: float) -> torch.Tensor:
    """The derivative ``dl/dx = g l(x) (1 - l(x))`` of :func:`logistic`.

    Examples
    --------
    >>> import torch
    >>> logistic_grad(torch.tensor([0.0]), gain=7.0)  # g / 4 at the origin
    tensor([1.7500])
    """
    s = torch.sigmoid(gain * x)
    return gain * s * (1 - s)


def sparsity_penalty(Z: torch.Tensor, gain: float) -> torch.Tensor:
    """The sparsity ``h(Z) = sum_i log(1 + l(z_i)^2)`` of each code in a batch (eq. 8).

    It is a factorised Student-t prior on the *transformed* units ``l(z)``, not on ``z``:
    it pushes units towards ``l(z) = 0``, where the logistic saturates.

    Parameters
    ----------
    Z : tensor (B, M)
    gain : float

    Returns
    -------
    tensor (B,)

    Examples
    --------
    >>> import torch, math
    >>> h = sparsity_penalty(torch.zeros(1, 2), gain=7.0)  # l = 1/2 for both units
    >>> round(float(h), 4) == round(2 * math.log(1.25), 4)
    True
    """
    s = torch.sigmoid(gain * Z)  # (B, M)
    return torch.log1p(s * s).sum(dim=-1)  # (B,)


def energy_scale(convention: str) -> float:
    """The factor ``c`` in front of the two quadratic terms of the energy:
    ``E = c (alpha_e ||Z - f_enc(Y)||^2 + ||Y - f_dec(Z)||^2)``; 1 for eq. 7 as printed
    (``"eq7"``), 1/2 for the convention of the paper's own code (``"half"``, see
    :class:`SESM`).

    Examples
    --------
    >>> energy_scale("eq7"), energy_scale("half")
    (1.0, 0.5)
    """
    try:
        return CONVENTIONS[convention]
    except (KeyError, TypeError):
        raise ValueError(f"convention must be one of {sorted(CONVENTIONS)}, got {convention!r}") from None


def energy(Y, Z, W, b_enc, b_dec, *, gain: float = 7.0, alpha_e: float = 1.0, convention: str = "eq7") -> torch.Tensor:
    """The energy of eq. 7 for each sample:
    ``E(Y, Z) = alpha_e ||Z - (Y W + b_enc)||^2 + ||Y - (l(Z) W^T + b_dec)||^2``,
    times 1/2 with ``convention="half"`` (see :class:`SESM`).

    Parameters
    ----------
    Y : tensor (B, N)
    Z : tensor (B, M)
    W : tensor (N, M)
    b_enc : tensor (M,)
    b_dec : tensor (N,)
    convention : "eq7" (as printed, the default of these functions) or "half"

    Returns
    -------
    tensor (B,)

    Examples
    --------
    >>> import torch
    >>> Y, Z, W = torch.ones(1, 2), torch.zeros(1, 1), torch.zeros(2, 1)
    >>> energy(Y, Z, W, torch.zeros(1), torch.zeros(2))  # only the reconstruction term: 1 + 1
    tensor([2.])
    """
    U = Y @ W + b_enc  # (B, M) encoder output
    Yhat = torch.sigmoid(gain * Z) @ W.T + b_dec  # (B, N) decoder output
    E = alpha_e * (Z - U).pow(2).sum(-1) + (Y - Yhat).pow(2).sum(-1)
    c = energy_scale(convention)
    return E if c == 1.0 else c * E


def loss(
    Y, Z, W, b_enc, b_dec, *, gain: float = 7.0, alpha_e: float = 1.0, alpha_s: float = 0.2, alpha_r: float = 4e-4,
    convention: str = "eq7",
) -> torch.Tensor:
    """The loss of eq. 8 for each sample: ``E(Y, Z) + alpha_s h(Z) + alpha_r ||W||_1``.

    The L1 term is on the filters only and is the same for every sample of the batch.
    ``convention="half"`` halves E (not the sparsity or the L1 term), see :class:`SESM`.

    Returns
    -------
    tensor (B,)

    Examples
    --------
    >>> import torch
    >>> Y, Z, W = torch.ones(1, 2), torch.zeros(1, 1), torch.ones(2, 1)
    >>> L = loss(Y, Z, W, torch.zeros(1), torch.zeros(2), alpha_s=0.0, alpha_r=1.0)
    >>> float(L)  # (0 - 2)^2 + 2 (1 - 0.5)^2 + ||W||_1 = 4 + 0.5 + 2
    6.5
    """
    E = energy(Y, Z, W, b_enc, b_dec, gain=gain, alpha_e=alpha_e, convention=convention)
    return E + alpha_s * sparsity_penalty(Z, gain) + alpha_r * W.abs().sum()


def loss_grads(
    Y, Z, W, b_enc, b_dec, *, gain: float = 7.0, alpha_e: float = 1.0, alpha_s: float = 0.2, alpha_r: float = 4e-4,
    convention: str = "eq7",
) -> dict[str, torch.Tensor]:
    """Closed-form gradients of eq. 8 (as printed; with ``convention="half"`` every factor
    2 below that comes from a quadratic term becomes 1, see :class:`SESM`).

    With ``U = Y W + b_enc`` (encoder), ``s = l(Z)``, ``s' = g s (1 - s)``,
    ``R = Z - U`` and ``D = s W^T + b_dec - Y`` (decoder residual):

    - ``dL/dZ     = 2 alpha_e R + s' * (2 D W + alpha_s 2 s / (1 + s^2))``, per sample;
    - ``dL/dW     = mean_b [ -2 alpha_e Y_b^T R_b + 2 D_b^T s_b ] + alpha_r sign(W)``;
    - ``dL/db_enc = mean_b [ -2 alpha_e R_b ]``;
    - ``dL/db_dec = mean_b [ 2 D_b ]``.

    ``dL/dZ`` is each sample's own gradient (row b of the gradient of the *sum* of the
    losses); the parameter gradients are those of the *mean* loss over the batch. The L1
    term is not differentiable at 0; ``sign(0) = 0`` is the subgradient used.

    Returns
    -------
    dict with keys "W" (N, M), "b_enc" (M,), "b_dec" (N,), "Z" (B, M)

    Examples
    --------
    >>> import torch
    >>> g = loss_grads(torch.rand(3, 4), torch.zeros(3, 2), torch.zeros(4, 2), torch.zeros(2), torch.zeros(4))
    >>> sorted(g), tuple(g["W"].shape)
    (['W', 'Z', 'b_dec', 'b_enc'], (4, 2))
    """
    B = Y.shape[0]
    q = 2 * energy_scale(convention)  # the factor the quadratic terms' gradients carry: 2 (eq. 7) or 1 (half)
    U = Y @ W + b_enc  # (B, M)
    s = torch.sigmoid(gain * Z)  # (B, M)
    R = Z - U  # (B, M)
    D = s @ W.T + b_dec - Y  # (B, N)
    dZ = _code_grad(R, D, s, W, gain, alpha_e, alpha_s, q)  # (B, M)
    dW = (-q * alpha_e * Y.T @ R + q * D.T @ s) / B + alpha_r * torch.sign(W)  # (N, M)
    return {"W": dW, "b_enc": -q * alpha_e * R.mean(0), "b_dec": q * D.mean(0), "Z": dZ}


def _code_grad(R, D, s, W, gain, alpha_e, alpha_s, q=2.0):
    """dL/dZ = q alpha_e R + l'(Z) * (q D W + alpha_s 2 s / (1 + s^2)), with l'(Z) = g s (1 - s)
    and q = 2 (eq. 7) or 1 (the half convention)."""
    ds = gain * s * (1 - s)  # (B, M)
    return q * alpha_e * R + ds * (q * (D @ W) + alpha_s * 2 * s / (1 + s * s))


def code_grad(Y, Z, W, b_enc, b_dec, *, gain: float = 7.0, alpha_e: float = 1.0, alpha_s: float = 0.2,
              convention: str = "eq7") -> torch.Tensor:
    """The gradient of eq. 8 with respect to each sample's code, the direction that
    :meth:`SESM.infer_code` descends:
    ``dL/dZ = 2 alpha_e (Z - f_enc(Y)) + l'(Z) * (2 (f_dec(Z) - Y) W + alpha_s 2 l(Z) / (1 + l(Z)^2))``.

    Returns
    -------
    tensor (B, M)

    Examples
    --------
    >>> import torch
    >>> Y, W = torch.zeros(1, 3), torch.zeros(3, 2)
    >>> code_grad(Y, torch.ones(1, 2), W, torch.zeros(2), torch.zeros(3), alpha_s=0.0)  # 2 (Z - 0)
    tensor([[2., 2.]])
    """
    s = torch.sigmoid(gain * Z)  # (B, M)
    R = Z - (Y @ W + b_enc)  # (B, M)
    D = s @ W.T + b_dec - Y  # (B, N)
    return _code_grad(R, D, s, W, gain, alpha_e, alpha_s, 2 * energy_scale(convention))


# =============================================================================
# 2. The model
# =============================================================================

_CONFIG_KEYS = ("n_visible", "n_code", "gain", "alpha_e", "alpha_s", "alpha_r", "convention", "dtype")
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


class SESM:
    """The Sparse Encoding Symmetric Machine (Ranzato, Boureau, LeCun, NIPS 2007).

    A tied-weight encoder/decoder with a quasi-binary sparse code:
    ``f_enc(Y) = W^T Y + b_enc``, ``f_dec(Z) = W l(Z) + b_dec``,
    ``l(x) = 1 / (1 + exp(-g x))``, trained by on-line coordinate descent on eq. 8
    (see :meth:`fit`). Batches are rows: ``Y`` (B, N), ``Z`` (B, M).

    Energy convention (``convention``): the default ``"half"`` puts 1/2 in front of both
    quadratic terms of eq. 7 -- ``E = 1/2 alpha_e ||Z - f_enc(Y)||^2 + 1/2 ||Y - f_dec(Z)||^2``
    -- and keeps ``alpha_s h(Z) + alpha_r ||W||_1`` as printed; ``"eq7"`` is eq. 7 as printed.
    Why "half" is the default, a departure from the printed equation: with eq. 7 as printed
    the paper's learning rate (0.025) diverges in the first on-line epoch (NaN), and its
    alpha_s gives codes about twice as dense as the paper's (256-level entropy at alpha_s 0.2:
    1.15 bits/pixel against the paper's 0.57). The paper's own code (the public MATLAB code
    of its authors' group writes the energy with 1/2 on both terms) reads the same numbers
    with 1/2: since ``L_half(alpha_s, alpha_r) = 1/2 L_eq7(2 alpha_s, 2 alpha_r)``, a step of
    ``lr`` on it is a step of ``lr / 2`` on eq. 7 with alpha_s and alpha_r doubled, and with
    the paper's lr 0.025 and its alpha_s sweep it trains stably and lands on the paper's
    Figure 1-C points (see :meth:`fit`). One argument gives eq. 7 back:
    ``SESM(784, 200, convention="eq7")`` (its default step sizes are then halved, so that
    ``SESM(..., convention="eq7", alpha_s=2 a, alpha_r=2 r)`` trains exactly as the default
    model with ``a, r``).

    Like every model of the library it has :meth:`code` (the code the paper quantises,
    ``l(f_enc(Y))``), :meth:`decode_code` (the reconstruction from such a code),
    :meth:`reconstruct`, :attr:`filters`, :attr:`config`, :meth:`save` and :meth:`load`;
    :meth:`encode` and :meth:`decode` are the paper's f_enc and f_dec.

    Parameters
    ----------
    n_visible : int
        N, the input size (784 for MNIST).
    n_code : int
        M, the number of code units (200 in the paper).
    gain : float
        g of the logistic (7 in the paper, "to achieve a quasi-binary coding").
    alpha_e, alpha_s, alpha_r : float
        Weights of the encoder energy, the sparsity h(Z) and the L1 norm of W (eq. 8);
        the paper's MNIST values are 1, 0.2 and 0.0004.
    convention : "half" (default) or "eq7"
        The energy convention (above); saved with the model.
    seed : int or None
        Seeds the initial filters (the same seed gives the same model on every device).
    device : "auto", "cpu", "cuda" or torch.device
    dtype : torch.float32 or torch.float64

    Attributes
    ----------
    W : tensor (n_visible, n_code)
        The filters, one per column, shared by encoder and decoder. Initialised
        ``N(0, 0.01^2)``: small enough that every unit starts unsaturated
        (``|g w^T y| << 1`` for a digit with ``||y|| ~ 9``), so that no unit starts dead
        (the paper does not give its initialisation).
    b_enc : tensor (n_code,)
        Encoder bias, initialised to 0.
    b_dec : tensor (n_visible,)
        Decoder bias, initialised to 0.

    References
    ----------
    M. Ranzato, Y. Boureau, Y. LeCun. Sparse Feature Learning for Deep Belief Networks.
    NIPS 2007.

    Examples
    --------
    >>> import torch
    >>> from sesmlib import SESM
    >>> model = SESM(784, 200, seed=0, device="cpu")
    >>> Y = torch.rand(5, 784)
    >>> model.code(Y).shape, model.loss(Y, model.encode(Y)).shape
    (torch.Size([5, 200]), torch.Size([5]))
    """

    def __init__(
        self,
        n_visible: int,
        n_code: int,
        *,
        gain: float = 7.0,
        alpha_e: float = 1.0,
        alpha_s: float = 0.2,
        alpha_r: float = 4e-4,
        convention: str = DEFAULT_CONVENTION,
        seed: int | None = None,
        device: str | torch.device = "auto",
        dtype: torch.dtype = torch.float32,
    ):
        energy_scale(convention)  # a clear error for an unknown convention
        self.convention = convention
        self.n_visible = _utils.check_positive_int("n_visible", n_visible)
        self.n_code = _utils.check_positive_int("n_code", n_code)
        self.gain = _utils.check_nonnegative("gain", gain, positive=True)
        self.alpha_e = _utils.check_nonnegative("alpha_e", alpha_e)
        self.alpha_s = _utils.check_nonnegative("alpha_s", alpha_s)
        self.alpha_r = _utils.check_nonnegative("alpha_r", alpha_r)
        if dtype not in _DTYPES.values():
            raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"seed must be an int or None, got {seed!r}")
        self.dtype = dtype
        self.device = _pick_device(device)
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        W = torch.randn(self.n_visible, self.n_code, generator=gen, dtype=torch.float64) * DEFAULT_INIT_STD
        self.W = W.to(dtype).to(self.device)  # (N, M), drawn on the CPU: same on every device
        self.b_enc = torch.zeros(self.n_code, dtype=dtype, device=self.device)  # (M,)
        self.b_dec = torch.zeros(self.n_visible, dtype=dtype, device=self.device)  # (N,)

    # ------------------------------------------------------------------ helpers
    @property
    def config(self) -> dict:
        """The configuration (everything but the parameters), as saved with the model."""
        return {
            "n_visible": self.n_visible,
            "n_code": self.n_code,
            "gain": self.gain,
            "alpha_e": self.alpha_e,
            "alpha_s": self.alpha_s,
            "alpha_r": self.alpha_r,
            "convention": self.convention,
            "dtype": str(self.dtype).replace("torch.", ""),
        }

    @property
    def energy_scale(self) -> float:
        """The factor in front of the energy's quadratic terms: 1/2 (``"half"``) or 1 (``"eq7"``)."""
        return energy_scale(self.convention)

    def _hyper(self) -> dict:
        return {"gain": self.gain, "alpha_e": self.alpha_e, "alpha_s": self.alpha_s, "alpha_r": self.alpha_r,
                "convention": self.convention}

    def _check(self, name: str, x, n_cols: int) -> torch.Tensor:
        return _utils.check_matrix(name, x, n_cols=n_cols, device=self.device, dtype=self.dtype)

    def _YZ(self, Y, Z):
        Y = self._check("Y", Y, self.n_visible)
        Z = self._check("Z", Z, self.n_code)
        if Y.shape[0] != Z.shape[0]:
            raise ValueError(f"Y and Z must have the same number of rows, got {Y.shape[0]} and {Z.shape[0]}")
        return Y, Z

    def to(self, device) -> "SESM":
        """Move the parameters to ``device`` (in place); returns the model."""
        self.device = _pick_device(device)
        self.W, self.b_enc, self.b_dec = (t.to(self.device) for t in (self.W, self.b_enc, self.b_dec))
        return self

    def copy(self) -> "SESM":
        """A deep copy of the model."""
        return copy.deepcopy(self)

    def __repr__(self) -> str:
        c = self.config
        return (
            f"SESM(n_visible={c['n_visible']}, n_code={c['n_code']}, gain={c['gain']:g}, alpha_e={c['alpha_e']:g}, "
            f"alpha_s={c['alpha_s']:g}, alpha_r={c['alpha_r']:g}, convention={c['convention']!r}, "
            f"device={str(self.device)!r}, dtype=torch.{c['dtype']})"
        )

    # ------------------------------------------------------------------ the model
    def encode(self, Y: torch.Tensor) -> torch.Tensor:
        """The encoder ``f_enc(Y) = W^T Y + b_enc``, batched: ``Y W + b_enc`` (B, M).

        Examples
        --------
        >>> import torch
        >>> SESM(4, 3, seed=0, device="cpu").encode(torch.rand(2, 4)).shape
        torch.Size([2, 3])
        """
        Y = self._check("Y", Y, self.n_visible)
        return Y @ self.W + self.b_enc  # (B, M)

    def code(self, Y: torch.Tensor) -> torch.Tensor:
        """The feed-forward code ``l(f_enc(Y))`` in (0, 1), (B, M): the feature every later
        notebook uses (the paper takes test codes after the logistic).

        Examples
        --------
        >>> import torch
        >>> c = SESM(4, 3, seed=0, device="cpu").code(torch.rand(2, 4))
        >>> bool(((c > 0) & (c < 1)).all())
        True
        """
        return logistic(self.encode(Y), self.gain)

    def decode(self, Z: torch.Tensor) -> torch.Tensor:
        """The decoder ``f_dec(Z) = W l(Z) + b_dec``, batched: ``l(Z) W^T + b_dec`` (B, N).

        ``Z`` is a code *before* the logistic (``encode(Y)``, or Z* from
        :meth:`infer_code`). To reconstruct from a code after it (``code(Y)``, possibly
        quantised), use :meth:`decode_code`.

        Examples
        --------
        >>> import torch
        >>> m = SESM(4, 3, seed=0, device="cpu")
        >>> m.decode(m.encode(torch.rand(2, 4))).shape
        torch.Size([2, 4])
        """
        Z = self._check("Z", Z, self.n_code)
        return logistic(Z, self.gain) @ self.W.T + self.b_dec  # (B, N)

    def decode_code(self, C: torch.Tensor) -> torch.Tensor:
        """The reconstruction from a code after the logistic, ``W c + b_dec``, batched:
        ``C W^T + b_dec`` (B, N). ``C`` is ``code(Y)`` or a quantised copy of it (the
        paper's Fig. 1-C decodes the quantised code); ``decode(Z) == decode_code(l(Z))``.

        Examples
        --------
        >>> import torch
        >>> m = SESM(4, 3, seed=0, device="cpu")
        >>> Y = torch.rand(2, 4)
        >>> torch.allclose(m.decode_code(m.code(Y)), m.decode(m.encode(Y)))
        True
        """
        C = self._check("C", C, self.n_code)
        return C @ self.W.T + self.b_dec  # (B, N)

    def reconstruct(self, Y: torch.Tensor) -> torch.Tensor:
        """The feed-forward reconstruction ``decode_code(code(Y)) = f_dec(f_enc(Y))`` (B, N).

        Examples
        --------
        >>> import torch
        >>> SESM(4, 3, seed=0, device="cpu").reconstruct(torch.rand(2, 4)).shape
        torch.Size([2, 4])
        """
        return self.decode_code(self.code(Y))

    @property
    def filters(self) -> torch.Tensor:
        """The filters, one per column (N, M): ``W``, shared by encoder and decoder."""
        return self.W

    def sparsity(self, Z: torch.Tensor) -> torch.Tensor:
        """``h(Z) = sum_i log(1 + l(z_i)^2)`` per sample (B,); see :func:`sparsity_penalty`.

        Examples
        --------
        >>> import torch
        >>> SESM(4, 3, device="cpu").sparsity(torch.full((1, 3), -10.0))  # l(z) ~ 0: no cost
        tensor([0.])
        """
        return sparsity_penalty(self._check("Z", Z, self.n_code), self.gain)

    def energy(self, Y: torch.Tensor, Z: torch.Tensor) -> torch.Tensor:
        """The energy of eq. 7 per sample (B,):
        ``alpha_e ||Z - f_enc(Y)||^2 + ||Y - f_dec(Z)||^2``, times :attr:`energy_scale`.

        Examples
        --------
        >>> import torch
        >>> m = SESM(4, 3, seed=0, device="cpu")
        >>> Y = torch.rand(2, 4)
        >>> bool((m.energy(Y, m.encode(Y)) >= 0).all())
        True
        """
        Y, Z = self._YZ(Y, Z)
        return energy(Y, Z, self.W, self.b_enc, self.b_dec, gain=self.gain, alpha_e=self.alpha_e,
                      convention=self.convention)

    def loss(self, Y: torch.Tensor, Z: torch.Tensor) -> torch.Tensor:
        """The loss of eq. 8 per sample (B,):
        ``E(Y, Z) + alpha_s h(Z) + alpha_r ||W||_1``.

        Examples
        --------
        >>> import torch
        >>> m = SESM(4, 3, seed=0, device="cpu")
        >>> Y = torch.rand(2, 4)
        >>> bool((m.loss(Y, m.encode(Y)) >= m.energy(Y, m.encode(Y))).all())
        True
        """
        Y, Z = self._YZ(Y, Z)
        return loss(Y, Z, self.W, self.b_enc, self.b_dec, **self._hyper())

    def grads(self, Y: torch.Tensor, Z: torch.Tensor) -> dict[str, torch.Tensor]:
        """Closed-form gradients of eq. 8 (see :func:`loss_grads`): keys "W", "b_enc",
        "b_dec" (of the batch-mean loss) and "Z" (each sample's own gradient).

        Examples
        --------
        >>> import torch
        >>> m = SESM(4, 3, seed=0, device="cpu")
        >>> Y = torch.rand(2, 4)
        >>> m.grads(Y, m.encode(Y))["W"].shape
        torch.Size([4, 3])
        """
        Y, Z = self._YZ(Y, Z)
        return loss_grads(Y, Z, self.W, self.b_enc, self.b_dec, **self._hyper())

    # ------------------------------------------------------------------ training
    def infer_code(
        self,
        Y: torch.Tensor,
        *,
        steps: int = DEFAULT_INFER_STEPS,
        step_size: float | None = None,
        tol: float | None = None,
        return_trace: bool = False,
    ):
        """Step 1 of the paper's algorithm: minimise eq. 8 over Z by gradient descent,
        starting from the encoder output: ``Z <- Z - step_size dL/dZ``, ``steps`` times.

        Parameters
        ----------
        Y : tensor (B, N)
        steps : int
            Number of gradient steps (10 by default, see :meth:`fit`).
        step_size : float or None
            The step; None: :func:`default_infer_step_size` for the model's convention (0.2
            for ``"half"``, 0.1 for ``"eq7"``: the same step). The encoder term alone has
            curvature ``2 c alpha_e`` (c = :attr:`energy_scale`), so a step above
            ``1 / (c alpha_e)`` oscillates.
        tol : float or None
            Stop early once no code unit moves by more than ``tol`` in a step.
        return_trace : bool
            Also return the loss of every sample before each step and after the last one.

        Returns
        -------
        Z : tensor (B, M)
        trace : tensor (n_steps_taken + 1, B), only with ``return_trace``

        Examples
        --------
        >>> import torch
        >>> m = SESM(784, 20, seed=0, device="cpu")
        >>> Z, trace = m.infer_code(torch.rand(3, 784), steps=4, step_size=0.1, return_trace=True)
        >>> Z.shape, trace.shape
        (torch.Size([3, 20]), torch.Size([5, 3]))
        """
        Y = self._check("Y", Y, self.n_visible)
        steps = int(steps) if steps == 0 else _utils.check_positive_int("steps", steps)
        if step_size is None:
            step_size = default_infer_step_size(self.convention)
        step_size = _utils.check_nonnegative("step_size", step_size, positive=True)
        if tol is not None:
            tol = _utils.check_nonnegative("tol", tol)
        hyper = self._hyper()
        with torch.no_grad():
            Z = self.encode(Y)  # (B, M), the starting point
            trace = [loss(Y, Z, self.W, self.b_enc, self.b_dec, **hyper)] if return_trace else None
            for _ in range(steps):
                dZ = code_grad(Y, Z, self.W, self.b_enc, self.b_dec, gain=self.gain, alpha_e=self.alpha_e,
                               alpha_s=self.alpha_s, convention=self.convention)
                Z = Z - step_size * dZ
                if return_trace:
                    trace.append(loss(Y, Z, self.W, self.b_enc, self.b_dec, **hyper))
                if tol is not None and float((step_size * dZ).abs().max()) <= tol:
                    break
        return (Z, torch.stack(trace)) if return_trace else Z

    def step(self, Y: torch.Tensor, Z: torch.Tensor, lr: float) -> "SESM":
        """Step 2 of the paper's algorithm: with Y and Z clamped, one gradient step on the
        parameters, ``theta <- theta - lr dL/dtheta`` for theta in W, b_enc, b_dec (the
        gradient of the batch-mean loss; for B = 1, the paper's on-line step).

        Examples
        --------
        >>> import torch
        >>> m = SESM(784, 20, seed=0, device="cpu")
        >>> Y = torch.rand(1, 784) * 0.5
        >>> Z = m.infer_code(Y)
        >>> before = float(m.loss(Y, Z))
        >>> after = float(m.step(Y, Z, lr=1e-4).loss(Y, Z))
        >>> after < before
        True
        """
        lr = _utils.check_nonnegative("lr", lr, positive=True)
        g = self.grads(Y, Z)
        self.W -= lr * g["W"]
        self.b_enc -= lr * g["b_enc"]
        self.b_dec -= lr * g["b_dec"]
        return self

    def fit(
        self,
        X: torch.Tensor,
        settings: "FitSettings | None" = None,
        *,
        progress: bool = True,
        callback: Callable | None = None,
        **changes,
    ) -> dict[str, list]:
        """Train by the paper's coordinate descent (Section 3): for each sample (or batch),
        (1) ``Z* = infer_code(Y)``, (2) one gradient step on W, b_enc, b_dec at ``Z*``.

        Parameters
        ----------
        X : tensor (P, N)
            Training data, pixels in [0, 1].
        settings : FitSettings or None
            The training settings (see :class:`FitSettings` for each); None builds them
            from ``changes`` (then ``epochs`` is required).
        progress : bool
            Show a progress bar.
        callback : callable or None
            ``callback(model, epoch, stats)`` after each epoch (``stats``: this epoch's
            entries of the history); returning True stops training.
        **changes
            Any field of :class:`FitSettings` (``epochs``, ``batch_size``, ``lr``,
            ``seed``, ...), replacing the one in ``settings``: ``fit(X, epochs=3, lr=0.01)``.

        Returns
        -------
        dict of lists, one entry per epoch: "epoch", "lr", "loss" (eq. 8), "energy_enc"
        (alpha_e ||Z* - f_enc(Y)||^2), "energy_dec" (||Y - f_dec(Z*)||^2), "sparsity" (h(Z*)),
        "l1" (||W||_1), "active" (fraction of feed-forward code units with l(z) > 0.5),
        "time" (seconds of training in the epoch).

        Raises
        ------
        DivergenceError
            When the monitored loss becomes NaN/Inf or more than 1000 times its value before
            training (see ``_engine.SESM_DIVERGENCE_FACTOR``); the model keeps the parameters
            it had at the start of that epoch, the history so far is the exception's
            ``histories[0]``. Interrupted (KeyboardInterrupt, an exception from the callback),
            the model keeps the steps taken so far, with ``b_enc`` consistent with ``W``.
        ValueError
            When X has no rows (the model is unchanged) or a setting is out of range.

        Notes
        -----
        The defaults are the paper's settings where it gives them (on-line, learning rate
        0.025 "decreased exponentially", alpha_s, alpha_r, g) and the choices below where
        it does not, each with the search that chose it. Measured on the paper's set-up
        (first 20000 MNIST digits, 200 units, alpha_e 1, g 7, alpha_r 4e-4, seed 0), on the
        10000 test digits: bits per pixel of the code quantised into 5 and 256 levels and
        the RMSE of the reconstruction from it (the paper's sigma), against the paper's
        Figure 1-C point of the same alpha_s; targets: bits within 20 %, RMSE within 0.02.

        - Energy convention "half" (departure from the printed eq. 7, see :class:`SESM`):
          with eq. 7 as printed the paper's lr 0.025 gives NaN in the first epoch, and at
          a stable lr (0.0025) the codes are about twice as dense as the paper's (256
          levels, alpha_s 1 / 0.5 / 0.2 / 0.1 / 0.05: 0.62 / 0.79 / 1.15 / 1.40 / 1.55
          bits/pixel against 0.35 / 0.38 / 0.57 / 0.74 / 0.94).
        - Learning rate 0.025 (the paper's) for the first epoch, then ``lr * 0.8**epoch``:
          the paper says "decreased exponentially" without the factor.
        - Code inference (the paper minimises over Z and gives no step count): 10 gradient
          steps of 0.2 from the encoder output (``infer_steps``, ``infer_step_size``; the
          encoder term's curvature is alpha_e, so 10 steps of 0.2 shrink its part of the
          error to 0.8^10 = 11 %). Searched (seed 0, the paper's lr and schedule): with 2
          steps the codes are too binary, the 256-level entropy after 5 epochs 28-33 %
          below the paper's with centred steps (alpha_s 0.5-0.05), 14-44 % with plain
          ones (alpha_s 0.2, 0.05, 1), 48 % with 2 plain steps of 0.4 (alpha_s 1);
          with 10 steps alpha_s 0.5 / 0.2 / 0.1 / 0.05 land within 10 % in bits and 0.016
          in RMSE at epoch 2 (bits 5 / 256 levels: +10 / +6 %, -1 / -3 %, +4 / +1 %,
          +1 / 0 %; RMSE -0.015, +0.003, +0.003, +0.002 at 5 levels). Each step costs two
          matrix-vector products per digit: 10 steps make an epoch about 2.3 times as
          long as 2 steps (1.65 against 0.72 ms of CPU per digit, measured).
        - Epochs: 2 (``epochs`` is required; the profiles of :mod:`sesmlib.profiles` set
          it). After 1 epoch the RMSE is 0.01-0.02 above the paper's points, after 2 on
          them, after 3 it keeps falling below them (alpha_s 0.05: -0.012) while the
          entropy stays: the paper's models stopped about there.
        - alpha_s = 1 misses the targets at these settings: 29 % too many bits at 5
          levels, and an RMSE 0.025 below the paper's (its point lies below the paper's
          curve, not off it); 3 epochs do not change that (+21 %, -0.028).
        - Centring (``center=True``, an optimiser choice, not a model change): steps on
          ``(W, c)`` with ``c = b_enc + W^T mu``, mu the mean training digit, i.e. the
          encoder W-gradient uses ``Y - mu`` instead of ``Y`` (the input centring of
          LeCun et al.'s "Efficient BackProp"). It removes the large curvature along the
          mean digit; with 10 code steps it trains every alpha_s of the sweep stably
          (with 2 code steps, alpha_s 1 diverged in the first epoch). ``center=False``
          gives the paper's plain steps on (W, b_enc, b_dec).
        - Momentum: none on-line (the paper's plain step). Minibatches (not the paper's
          algorithm; for speed): lr 0.04 on the batch-mean gradient with momentum 0.9,
          the step measured under eq. 7 before (0.02 there, "without momentum minibatch
          training stalls near RMSE/std 0.41"); not re-measured with 10 code steps.
        - Initialisation: W ~ N(0, 0.01^2), biases 0 (see :class:`SESM`).
        - On the CPU, on-line training runs with one thread, its set-up included (see
          ``_engine.cpu_threads``): the same settings give the same model bit for bit
          whatever the machine's thread setting. On cuda it replays CUDA graphs of 64
          steps (see ``_engine.CudaGraphOnline``).

        Examples
        --------
        >>> import torch
        >>> m = SESM(784, 16, seed=0, device="cpu")
        >>> hist = m.fit(torch.rand(64, 784), epochs=2, batch_size=16, seed=0, progress=False)
        >>> len(hist["loss"])
        2
        """
        settings = FitSettings.of(settings, **changes).resolved(self.convention)
        X = self._check("X", X, self.n_visible)
        _utils.warn_if_outside_unit_range("X", X)
        if callback is not None:
            user_callback = callback
            callback = lambda models, epoch, stats: user_callback(models[0], epoch, stats[0])  # noqa: E731
        with _engine.cpu_threads(_setup_threads(settings, self.device)):
            return _engine.train_sesm([self], X, **asdict(settings), progress=progress, callback=callback)[0]

    # ------------------------------------------------------------------ files
    def save(self, path) -> "Path":
        """Save the parameters and configuration to ``path`` (atomically; a plain tensor
        file that :meth:`load` reads without unpickling objects).

        Examples
        --------
        >>> import tempfile, os
        >>> m = SESM(4, 3, seed=0, device="cpu")
        >>> path = m.save(os.path.join(tempfile.mkdtemp(), "m.pt"))
        >>> bool((SESM.load(path, device="cpu").W == m.W).all())
        True
        """
        return _utils.save_model(path, "SESM", self.config, {"W": self.W, "b_enc": self.b_enc, "b_dec": self.b_dec})

    @classmethod
    def load(cls, path, *, device: str | torch.device = "auto", expected_config: dict | None = None) -> "SESM":
        """Load a model written by :meth:`save`.

        Parameters
        ----------
        path : str or Path
        device : where to put the parameters
        expected_config : dict or None
            Entries of :attr:`config` the file must have (for example
            ``{"n_code": 200, "alpha_s": 0.2}``); a file from another configuration raises.

        Raises
        ------
        FileNotFoundError, or ValueError for a corrupt file, a file of another kind, or a
        configuration that differs from ``expected_config`` or from the tensors' shapes.

        Examples
        --------
        >>> import tempfile, os
        >>> path = SESM(4, 3, alpha_s=0.5, device="cpu").save(os.path.join(tempfile.mkdtemp(), "m.pt"))
        >>> SESM.load(path, device="cpu").alpha_s
        0.5
        """
        config, tensors = _utils.load_model(path, "SESM")
        if "convention" not in config:  # files written before the convention was a setting hold eq. 7 models
            config = {**config, "convention": "eq7"}
        if set(config) != set(_CONFIG_KEYS):
            raise ValueError(f"model file {path} is corrupt: unexpected configuration keys {sorted(config)}")
        _utils.check_expected_config(path, config, expected_config)
        if config["dtype"] not in _DTYPES:
            raise ValueError(f"model file {path} has an unsupported dtype {config['dtype']!r}")
        N, M = _utils.config_int(path, config, "n_visible"), _utils.config_int(path, config, "n_code")
        _utils.check_tensors(path, tensors, {"W": (N, M), "b_enc": (M,), "b_dec": (N,)})  # before allocating
        try:
            model = cls(N, M, gain=config["gain"], alpha_e=config["alpha_e"], alpha_s=config["alpha_s"],
                        alpha_r=config["alpha_r"], convention=config["convention"], seed=0, device=device,
                        dtype=_DTYPES[config["dtype"]])
        except (TypeError, ValueError) as exc:
            raise ValueError(f"model file {path} is corrupt: {exc}") from None
        for name in ("W", "b_enc", "b_dec"):
            setattr(model, name, tensors[name].to(device=model.device, dtype=model.dtype).contiguous())
        return model


# =============================================================================
# 3. Training settings and the alpha_s sweep
# =============================================================================


def _per_convention(value_half: float, convention: str) -> float:
    """A step size given in the half convention, for ``convention``: the same step on the
    quadratic terms (an eq. 7 gradient is twice the half convention's)."""
    return value_half * CONVENTIONS["half"] / energy_scale(convention)


def default_lr(batch_size: int, convention: str = DEFAULT_CONVENTION) -> float:
    """The default learning rate of :meth:`SESM.fit` for a batch size and an energy
    convention (see its Notes): on-line 0.025, the paper's, in the half convention; 0.0125
    for eq. 7 as printed (the same step).

    Examples
    --------
    >>> default_lr(1), default_lr(1, "eq7"), default_lr(1) < default_lr(128)
    (0.025, 0.0125, True)
    """
    return _per_convention(DEFAULT_LR_ONLINE if batch_size == 1 else DEFAULT_LR_MINIBATCH, convention)


def default_infer_step_size(convention: str = DEFAULT_CONVENTION) -> float:
    """The default step of code inference (:meth:`SESM.infer_code`): 0.2 in the half
    convention, 0.1 for eq. 7 as printed (the same step).

    Examples
    --------
    >>> default_infer_step_size(), default_infer_step_size("eq7")
    (0.2, 0.1)
    """
    return _per_convention(DEFAULT_INFER_STEP_SIZE, convention)


def default_momentum(batch_size: int) -> float:
    """The default momentum of :meth:`SESM.fit`: none on-line (the paper's plain step),
    0.9 for minibatches (see its Notes).

    Examples
    --------
    >>> default_momentum(1), default_momentum(128)
    (0.0, 0.9)
    """
    return 0.0 if batch_size == 1 else DEFAULT_MOMENTUM


@dataclass(frozen=True, kw_only=True)
class FitSettings:
    """Every setting of SESM training, one frozen record: what :meth:`SESM.fit` and
    :func:`fit_sweep` use, what the model store keys trained models on, what a notebook
    changes. The reasons behind the defaults are in the Notes of :meth:`SESM.fit`;
    ``epochs`` has no default (the paper gives none).

    ``lr``, ``momentum`` and ``infer_step_size`` may be None: the default for the batch
    size and the model's energy convention (:func:`default_lr`, :func:`default_momentum`,
    :func:`default_infer_step_size`); :meth:`resolved` writes them out, so that a change
    of a library default changes a cache key.

    Attributes
    ----------
    epochs : int
        Passes over the data.
    batch_size : int
        1 is the paper's on-line algorithm. Larger batches take one step per batch on
        the gradient of the batch-mean loss: the fast path (big matrix products).
    lr : float or None
        Learning rate of the first epoch; None picks the default for ``batch_size`` (on-line:
        the paper's 0.025 in the half convention).
    lr_decay : float
        The learning rate of epoch e (from 0) is ``lr * lr_decay**e``.
    momentum : float or None
        Heavy-ball momentum ``v <- momentum v + grad; theta <- theta - lr v``; None
        picks 0 on-line (the paper's plain step) and 0.9 for minibatches.
    center : bool
        Take the gradient steps on the encoder written about the mean training digit
        mu, ``W^T (Y - mu) + c`` with ``c = b_enc + W^T mu``: the same model and loss,
        better-conditioned steps (see the Notes of :meth:`SESM.fit`). False gives the
        paper's plain steps on (W, b_enc, b_dec), exactly :meth:`SESM.infer_code` then
        :meth:`SESM.step`.
    infer_steps, infer_step_size : int, float or None
        Code inference settings (see :meth:`SESM.infer_code`; 10 steps of 0.2 in the half
        convention by default; ``infer_step_size=None`` resolves to the same step in the
        model's convention, 0.1 for eq. 7).
    shuffle : bool
        Visit the samples in a new random order each epoch.
    seed : int or None
        Seeds the order of the samples (:func:`fit_sweep`: also the initial filters).
    monitor : int
        The history's terms are measured after each epoch on the first ``monitor``
        samples of the data, with Z* inferred as in training.

    Examples
    --------
    >>> s = FitSettings(epochs=3)
    >>> s.resolved().lr == default_lr(1), s.replace(batch_size=64).resolved().momentum
    (True, 0.9)
    """

    epochs: int
    batch_size: int = 1
    lr: float | None = None
    lr_decay: float = DEFAULT_LR_DECAY
    momentum: float | None = None
    center: bool = True
    infer_steps: int = DEFAULT_INFER_STEPS
    infer_step_size: float | None = None
    shuffle: bool = True
    seed: int | None = None
    monitor: int = 1000

    def __post_init__(self):
        _utils.check_positive_int("epochs", self.epochs)
        _utils.check_positive_int("batch_size", self.batch_size)
        if self.lr is not None:
            _utils.check_nonnegative("lr", self.lr, positive=True)
        if self.momentum is not None and _utils.check_nonnegative("momentum", self.momentum) >= 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum}")
        if _utils.check_nonnegative("lr_decay", self.lr_decay, positive=True) > 1:
            raise ValueError(f"lr_decay must be in (0, 1], got {self.lr_decay}")
        if self.infer_steps != 0:
            _utils.check_positive_int("infer_steps", self.infer_steps)
        if self.infer_step_size is not None:
            _utils.check_nonnegative("infer_step_size", self.infer_step_size, positive=True)
        _utils.check_positive_int("monitor", self.monitor)
        for name in ("center", "shuffle"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)):
            raise TypeError(f"seed must be an int or None, got {self.seed!r}")

    @classmethod
    def of(cls, settings: "FitSettings | None" = None, **overrides) -> "FitSettings":
        """``settings`` with ``overrides`` applied, or new settings from ``overrides``
        alone; TypeError naming an unknown setting or a missing ``epochs``.

        Examples
        --------
        >>> FitSettings.of(FitSettings(epochs=2), lr=0.01).lr
        0.01
        """
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(overrides) - set(names))
        if unknown:
            raise TypeError(f"unknown training setting(s) {', '.join(unknown)}; SESM training takes {', '.join(names)}")
        if settings is None:
            if "epochs" not in overrides:
                raise TypeError("the number of epochs is required (the paper gives none): pass epochs=...")
            return cls(**overrides)
        if not isinstance(settings, cls):
            raise TypeError(f"settings must be a FitSettings, got {type(settings).__name__}")
        return replace(settings, **overrides) if overrides else settings

    def replace(self, **changes) -> "FitSettings":
        """A copy with ``changes`` applied (TypeError naming an unknown setting)."""
        return FitSettings.of(self, **changes)

    def resolved(self, convention: str = DEFAULT_CONVENTION) -> "FitSettings":
        """A copy with ``lr``, ``momentum`` and ``infer_step_size`` written out for the batch
        size and the model's energy convention."""
        return replace(
            self,
            lr=default_lr(self.batch_size, convention) if self.lr is None else self.lr,
            momentum=default_momentum(self.batch_size) if self.momentum is None else self.momentum,
            infer_step_size=(default_infer_step_size(convention) if self.infer_step_size is None
                             else self.infer_step_size),
        )

    def as_dict(self, convention: str = DEFAULT_CONVENTION) -> dict:
        """The resolved settings (for a model of ``convention``) as a plain dict (cache
        keys, reports)."""
        return asdict(self.resolved(convention))


def fit_sweep(
    X: torch.Tensor,
    alphas: Sequence[float] = PAPER_ALPHAS,
    settings: FitSettings | None = None,
    *,
    n_code: int = 200,
    gain: float = 7.0,
    alpha_e: float = 1.0,
    alpha_r: float = 4e-4,
    convention: str = DEFAULT_CONVENTION,
    device: str | torch.device = "auto",
    dtype: torch.dtype = torch.float32,
    progress: bool = True,
    callback: Callable | None = None,
    **changes,
) -> tuple[list[SESM], list[dict]]:
    """Train K SESMs that differ only in alpha_s, in one pass over the data.

    All K models start from the same filters (the settings' ``seed``) and see the samples
    in the same order, so model k is the model ``SESM(..., alpha_s=alphas[k],
    seed=seed).fit(X, settings)`` would give. How the K models are trained
    (``sesmlib._engine.sweep_workers``):

    - on-line on the cpu (``batch_size=1``): each model by its own one-model kernel, so the
      result equals the separate fit bit for bit. On Linux with 2 or more cores, and enough
      data, the models are spread over worker processes (forked, one thread each; nothing
      is needed in the calling script or notebook); elsewhere they are trained one after
      the other in this process. One on-line model's filters fit in a core's cache and K
      stacked ones do not, so the stacked kernel was slower than K separate fits (1.5x on
      2 cores). ``SESMLIB_WORKERS=n`` sets the number of processes (0 or 1: none);
    - minibatches, or on the GPU: one kernel over the K models, every product batched
      over K (equal to the separate fits within float rounding).

    Parameters
    ----------
    X : tensor (P, N)
    alphas : sequence of float
        The sparsity weights; the paper's Figure 1 uses (1, 0.5, 0.2, 0.1, 0.05).
    settings : FitSettings or None
        As for :meth:`SESM.fit`; its ``seed`` also draws the initial filters (None: one
        random draw, shared by the K models).
    n_code, gain, alpha_e, alpha_r, convention, device, dtype
        As for :class:`SESM` (shared by all K models).
    progress : bool
    callback : callable or None
        ``callback(models, epoch, stats_list)`` after each epoch; True stops. It must not
        change the models (with worker processes, training goes on from the workers' copies).
    **changes
        Fields of :class:`FitSettings`, as for :meth:`SESM.fit`.

    Raises
    ------
    DivergenceError, ValueError
        As :meth:`SESM.fit`; on divergence every model keeps its parameters from the start of
        that epoch (the histories so far: the exception's ``histories``).

    Returns
    -------
    models : list of K SESM
    histories : list of K dicts (see :meth:`SESM.fit`)

    Examples
    --------
    >>> import torch
    >>> models, hists = fit_sweep(torch.rand(64, 784), [0.5, 0.1], n_code=8, epochs=1,
    ...                           batch_size=16, seed=0, device="cpu", progress=False)
    >>> [m.alpha_s for m in models]
    [0.5, 0.1]
    """
    settings = FitSettings.of(settings, **changes).resolved(convention)
    seed = settings.seed
    alphas = list(alphas)
    if not alphas:
        raise ValueError("alphas must hold at least one value")
    alphas = [_utils.check_nonnegative("alphas", a) for a in alphas]
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"X must be a torch.Tensor, got {type(X).__name__}")
    models = [
        SESM(X.shape[-1] if X.dim() == 2 else 1, n_code, gain=gain, alpha_e=alpha_e, alpha_s=a, alpha_r=alpha_r,
             convention=convention, seed=seed if seed is not None else 0, device=device, dtype=dtype)
        for a in alphas
    ]
    if seed is None:  # one random initialisation, shared by all K models
        W0 = torch.randn(models[0].W.shape, dtype=torch.float64) * DEFAULT_INIT_STD
        for m in models:
            m.W = W0.to(dtype).to(m.device)
    first = models[0]
    X = first._check("X", X, first.n_visible)
    _utils.warn_if_outside_unit_range("X", X)
    with _engine.cpu_threads(_setup_threads(settings, first.device)):
        histories = _engine.train_sesm(models, X, **asdict(settings), progress=progress, callback=callback)
    return models, histories


def _setup_threads(settings: FitSettings, device) -> int | None:
    """On-line training on the cpu runs on one thread, its set-up included (the centring
    constant ``b_enc + W^T mu`` rounds differently with another number of threads, and
    on-line steps amplify that last bit into a different model)."""
    return 1 if settings.batch_size == 1 and torch.device(device).type == "cpu" else None
