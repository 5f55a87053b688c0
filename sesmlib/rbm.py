"""Bernoulli-Bernoulli Restricted Boltzmann Machine: the paper's RBM baseline.

The model (binary visible units ``v`` in {0,1}^N, binary hidden units ``h`` in {0,1}^M)::

    E(v, h) = - b_vis . v - b_hid . h - v^T W h                 (energy)
    p(v, h) = exp(-E(v, h)) / Z,   Z = sum_{v,h} exp(-E(v, h))   (Gibbs distribution)
    F(v)    = - b_vis . v - sum_j softplus(b_hid_j + v . W_j)   (free energy, h summed out)
    p(h_j = 1 | v) = sigmoid(b_hid_j + v . W_j)                  (the code)
    p(v_i = 1 | h) = sigmoid(b_vis_i + W_i . h)                  (the decoder)

The log-partition function ``log Z`` that SESM drops (the paper, Sections 2-3) is made
concrete here in two ways: exactly, by enumerating the smaller layer
(:meth:`RBM.log_partition_exact`), and by Annealed Importance Sampling
(:meth:`RBM.log_partition_ais`, Salakhutdinov and Murray 2008).

Training uses contrastive divergence (CD-k, Hinton 2002) or persistent CD (Tieleman
2008). The convention for the random numbers is fixed and documented in
:func:`cd1_update`, so that a student's CD-1 update can be compared exactly with the
library's.

MNIST pixels are grey levels in [0, 1], not binary; as is usual for MNIST RBMs (the paper
does not say), they are used directly as the "probabilities" of the data-side statistics.
Log-likelihoods (:meth:`RBM.log_likelihood`) are only log-probabilities for binary data.

References
----------
- G. Hinton, "Training products of experts by minimizing contrastive divergence",
  Neural Computation 14, 2002.
- G. Hinton, "A practical guide to training restricted Boltzmann machines",
  UTML TR 2010-003.
- T. Tieleman, "Training restricted Boltzmann machines using approximations to the
  likelihood gradient", ICML 2008.
- R. Salakhutdinov and I. Murray, "On the quantitative analysis of deep belief
  networks", ICML 2008.
"""
from __future__ import annotations

import math
from pathlib import Path
from dataclasses import asdict, dataclass, fields, replace
from typing import Callable

import torch
import torch.nn.functional as F

from ._device import device as _pick_device
from ._engine import DivergenceError, cpu_threads, train_rbm
from ._utils import (
    check_expected_config,
    check_matrix,
    check_nonnegative,
    check_positive_int,
    check_tensors,
    config_int,
    load_model,
    progress as _progress,
    save_model,
    warn_if_outside_unit_range,
)

__all__ = ["RBM", "RBMSettings", "PAPER_SETTINGS", "PAPER_N_HIDDEN", "AISResult", "DivergenceError", "cd1_update",
           "train_paper_rbm", "MAX_EXACT_STATES"]

#: Largest number of states :meth:`RBM.log_partition_exact` and :meth:`RBM.exact_grads`
#: will enumerate (2^25: a few seconds to a minute on a laptop CPU for small layers).
MAX_EXACT_STATES = 2**25

@dataclass(frozen=True, kw_only=True)
class RBMSettings:
    """The training settings of :meth:`RBM.fit`, one frozen record.

    ``epochs``, ``batch_size`` and ``lr`` have no default; :data:`PAPER_SETTINGS` is the
    set used for the paper's baseline. :meth:`replace` gives a copy with some changed.

    Attributes
    ----------
    epochs, batch_size : int
        Passes over the data; rows per update (a last partial batch is dropped).
    lr : float
        Learning rate (on gradients averaged over the batch).
    k : int
        Gibbs steps per update (CD-k).
    persistent : bool
        Persistent CD (Tieleman 2008): batch_size negative chains continue from one update
        to the next instead of restarting at the data. The chains' hidden states are
        kept (as scikit-learn's BernoulliRBM does); each update runs k steps
        h -> v ~ p(v|h) -> h ~ p(h|v); each step draws u_h then u_v as CD does
        (u_v samples v, u_h the next h).
    momentum, initial_momentum, momentum_switch_epoch :
        Momentum ``initial_momentum`` for the first ``momentum_switch_epoch`` epochs of a
        call to :meth:`RBM.fit` (when given), ``momentum`` after.
    weight_decay : float
        L2 penalty on W (not on the biases).
    init_vis_bias : bool
        On a model that has never been trained, first set b_vis from the data
        (:meth:`RBM.init_visible_bias`).
    seed : int or None
        Seeds the sampling and the shuffling; None continues the model's own generator.

    Examples
    --------
    >>> s = RBMSettings(epochs=2, batch_size=10, lr=0.1)
    >>> s.k, s.replace(k=3).k
    (1, 3)
    """

    k: int = 1
    persistent: bool = False
    epochs: int
    batch_size: int
    lr: float
    momentum: float = 0.0
    initial_momentum: float | None = None
    momentum_switch_epoch: int = 0
    weight_decay: float = 0.0
    seed: int | None = None
    init_vis_bias: bool = True

    def __post_init__(self):
        check_positive_int("epochs", self.epochs)
        check_positive_int("batch_size", self.batch_size)
        check_positive_int("k", self.k)
        check_nonnegative("lr", self.lr, positive=True)
        for name in ("momentum", "initial_momentum"):
            value = getattr(self, name)
            if value is not None and check_nonnegative(name, value) >= 1:
                raise ValueError(f"{name} must be in [0, 1), got {value}")
        m = self.momentum_switch_epoch
        if isinstance(m, bool) or not isinstance(m, int) or m < 0:
            raise ValueError(f"momentum_switch_epoch must be an int >= 0, got {m!r}")
        check_nonnegative("weight_decay", self.weight_decay)
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)):
            raise TypeError(f"seed must be an int or None, got {self.seed!r}")
        for name in ("persistent", "init_vis_bias"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be True or False, got {getattr(self, name)!r}")

    def replace(self, **changes) -> "RBMSettings":
        """A copy with ``changes`` applied (TypeError naming an unknown setting)."""
        unknown = sorted(set(changes) - {f.name for f in fields(self)})
        if unknown:
            raise TypeError(f"unknown RBM training setting(s) {', '.join(unknown)}; "
                            f"RBMSettings has {', '.join(f.name for f in fields(self))}")
        return replace(self, **changes)

    def as_dict(self) -> dict:
        """The settings as a plain dict (for cache keys and reports)."""
        return asdict(self)


#: The paper's RBM baseline (Figure 1) has 200 hidden units, like the other codes.
PAPER_N_HIDDEN = 200

#: Training settings for the paper's RBM baseline (Figure 1). The paper gives none; these
#: were chosen for good MNIST filters and reconstruction in 20-50 s on a 2-core CPU (50 s
#: measured while other jobs shared the cores), following Hinton's practical guide (2010):
#: CD-1 with probabilities for the negative hidden statistics, weights N(0, 0.01^2), visible
#: biases log(p / (1 - p)) of the pixel means, momentum 0.5 for 5 epochs then 0.9, L2
#: weight decay 2e-4. Measured on the first 20000 MNIST digits (mean-field reconstruction
#: MSE per pixel on the 10000 test digits, 20 epochs): batch 100 / lr 0.05 gave 0.0085 in
#: 20 s, the same as batch 20 / lr 0.01 (0.0085, 25 s); lr 0.1 at batch 100 or 0.02 at
#: batch 20 gave 0.0093; batch 20 / lr 0.05 was worse (0.0122 after 15 epochs, more
#: saturated codes); 40 epochs gave 0.0079. 25 epochs is the compromise with the Figure-1
#: time budget. Use: ``rbm, history = train_paper_rbm(X)`` or
#: ``RBM(784, PAPER_N_HIDDEN).fit(X, PAPER_SETTINGS)``.
PAPER_SETTINGS = RBMSettings(k=1, persistent=False, epochs=25, batch_size=100, lr=0.05, momentum=0.9,
                             initial_momentum=0.5, momentum_switch_epoch=5, weight_decay=2e-4, seed=0)


def _bernoulli_from_uniform(p: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """The library's sampling convention: unit is on exactly when ``u < p``."""
    return (u < p).to(p.dtype)


def cd1_update(
    V: torch.Tensor,
    W: torch.Tensor,
    b_vis: torch.Tensor,
    b_hid: torch.Tensor,
    u_h: torch.Tensor,
    u_v: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The CD-1 estimate of the gradient of the average log-likelihood (a pure function).

    With ``p0 = sigmoid(V W + b_hid)`` (B, M)::

        h0 = 1[u_h < p0]                              sample h0 ~ p(h | v0 = V)
        v1 = 1[u_v < sigmoid(h0 W^T + b_vis)]         sample v1 ~ p(v | h0)
                (or v1 = sigmoid(h0 W^T + b_vis) when u_v is None: "mean-field" v1)
        p1 = sigmoid(v1 W + b_hid)                    probabilities, not samples
        dW     = (V^T p0 - v1^T p1) / B               (N, M)
        db_vis = mean over the batch of (V - v1)      (N,)
        db_hid = mean over the batch of (p0 - p1)     (M,)

    The update a learner applies is ``W += lr * dW`` (and the same for the biases):
    these are ascent directions on log p(V). The random numbers are passed in, so the
    result is deterministic: the convention is that a unit is on exactly when its
    uniform number is strictly below its probability. :meth:`RBM.cd_grads` draws
    ``u_h = torch.rand(B, M)`` then ``u_v = torch.rand(B, N)`` from its generator, in
    that order, and calls this function.

    Parameters
    ----------
    V : Tensor (B, N)
        A batch of data (pixels in [0, 1]).
    W : Tensor (N, M)
    b_vis : Tensor (N,)
    b_hid : Tensor (M,)
    u_h : Tensor (B, M)
        Uniform numbers in [0, 1) for sampling h0.
    u_v : Tensor (B, N) or None
        Uniform numbers for sampling v1; None uses the probabilities instead.

    Returns
    -------
    dW, db_vis, db_hid : Tensors (N, M), (N,), (M,)

    Examples
    --------
    >>> import torch
    >>> from sesmlib.rbm import cd1_update
    >>> g = torch.Generator().manual_seed(0)
    >>> V = (torch.rand(5, 6, generator=g) > 0.5).float()
    >>> W = 0.1 * torch.randn(6, 3, generator=g)
    >>> dW, db_vis, db_hid = cd1_update(V, W, torch.zeros(6), torch.zeros(3),
    ...                                 torch.rand(5, 3, generator=g), torch.rand(5, 6, generator=g))
    >>> dW.shape, db_vis.shape, db_hid.shape
    (torch.Size([6, 3]), torch.Size([6]), torch.Size([3]))
    """
    B = V.shape[0]
    p0 = torch.sigmoid(V @ W + b_hid)  # (B, M)
    h0 = _bernoulli_from_uniform(p0, u_h)  # (B, M)
    pv1 = torch.sigmoid(h0 @ W.T + b_vis)  # (B, N)
    v1 = pv1 if u_v is None else _bernoulli_from_uniform(pv1, u_v)  # (B, N)
    p1 = torch.sigmoid(v1 @ W + b_hid)  # (B, M)
    dW = (V.T @ p0 - v1.T @ p1) / B  # (N, M)
    db_vis = (V - v1).mean(0)  # (N,)
    db_hid = (p0 - p1).mean(0)  # (M,)
    return dW, db_vis, db_hid


#: On the cpu, loops over batches of at most this many rows run on one thread (see
#: :func:`_threads_for`).
SMALL_BATCH_ROWS = 256


def _threads_for(rows: int, num_threads: int | None) -> int | None:
    """The cpu threads for a loop over batches of ``rows`` rows: ``num_threads`` when given,
    else one thread for at most ``SMALL_BATCH_ROWS`` rows (each product is then a few
    microseconds of work, less than waking a second thread costs; on a machine whose cores
    are shared the threads' barriers made the CD loop 4-30x slower, measured on 2 cores),
    else torch's current setting (None)."""
    if num_threads is not None:
        return num_threads
    return 1 if rows <= SMALL_BATCH_ROWS else None


def _all_binary_states(n: int, start: int, stop: int, device, dtype) -> torch.Tensor:
    """Rows ``start..stop-1`` of the table of all 2^n binary vectors (bit j of the row index)."""
    idx = torch.arange(start, stop, device=device, dtype=torch.int64)  # (S,)
    bits = torch.arange(n, device=device, dtype=torch.int64)  # (n,)
    return ((idx[:, None] >> bits[None, :]) & 1).to(dtype)  # (S, n)


@dataclass
class AISResult:
    """The result of :meth:`RBM.log_partition_ais`.

    Attributes
    ----------
    log_z : float
        The estimate log( (1/C) sum_c w_c ) + log Z_base.
    std_err : float
        The standard error of ``log_z`` by the delta method: std(w) / (sqrt(C) mean(w)).
    log_z_low, log_z_high : float
        log(mean(w) -/+ 3 std(w)/sqrt(C)) + log Z_base, Salakhutdinov and Murray's
        "+/- 3 standard deviations" interval (``log_z_low`` is -inf when it reaches 0).
    log_weights : Tensor (C,)
        The log importance weight of each chain (float64, cpu).
    log_z_base : float
        The exact log-partition function of the base-rate model.
    n_chains, n_betas : int
    """

    log_z: float
    std_err: float
    log_z_low: float
    log_z_high: float
    log_weights: torch.Tensor
    log_z_base: float
    n_chains: int
    n_betas: int

    def __float__(self) -> float:
        return self.log_z


def _ais_betas(n_betas: int, dtype=torch.float64) -> torch.Tensor:
    """Salakhutdinov and Murray's schedule scaled to ``n_betas`` temperatures: 500/14500 of
    the steps spaced uniformly in [0, 0.5], 4000/14500 in [0.5, 0.9], 10000/14500 in [0.9, 1]."""
    n1 = max(1, round(n_betas * 500 / 14500))
    n2 = max(1, round(n_betas * 4000 / 14500))
    n3 = max(2, n_betas - n1 - n2)
    return torch.cat(
        [
            torch.linspace(0.0, 0.5, n1 + 1, dtype=dtype)[:-1],
            torch.linspace(0.5, 0.9, n2 + 1, dtype=dtype)[:-1],
            torch.linspace(0.9, 1.0, n3, dtype=dtype),
        ]
    )


class RBM:
    """A Bernoulli-Bernoulli RBM with N visible and M hidden units, in PyTorch.

    ``E(v, h) = - b_vis . v - b_hid . h - v^T W h``. The code of an input is the vector of
    hidden probabilities p(h = 1 | v) (:meth:`code`); the decoder is p(v = 1 | h)
    (:meth:`decode`). Parameters are plain tensors (no autograd); every method works under
    ``torch.no_grad`` semantics.

    Parameters
    ----------
    n_visible : int
        N, the number of visible units (784 for MNIST).
    n_hidden : int
        M, the number of hidden units (200 in the paper).
    seed : int or None
        Seeds the initial weights (drawn on the cpu, so every device starts the same) and
        the model's own random generator used when a method is given none.
    device : str or torch.device
        "auto" (cuda if present, else cpu), "cpu", "cuda", ...
    dtype : torch.float32 or torch.float64

    Attributes
    ----------
    W : Tensor (N, M)
        Weights, initialised N(0, 0.01^2) (Hinton's practical guide); column j is the
        filter of hidden unit j.
    b_vis : Tensor (N,)
        Visible biases (0 at first; :meth:`fit` sets them from the data's pixel means).
    b_hid : Tensor (M,)
        Hidden biases (0 at first).
    history_ : dict
        What :meth:`fit` recorded, epoch by epoch (accumulated over calls).

    Examples
    --------
    >>> import torch
    >>> from sesmlib.rbm import RBM
    >>> rbm = RBM(6, 4, seed=0, device="cpu")
    >>> V = (torch.rand(10, 6, generator=torch.Generator().manual_seed(1)) > 0.5).float()
    >>> rbm.code(V).shape
    torch.Size([10, 4])
    >>> hist = rbm.fit(V, epochs=2, batch_size=5, lr=0.1, progress=False)
    >>> len(hist["recon_error"])
    2
    >>> abs(rbm.log_partition_exact() - rbm.log_partition_ais(n_chains=200, n_betas=2000).log_z) < 0.05
    True
    """

    _KIND = "rbm"

    def __init__(self, n_visible: int, n_hidden: int, *, seed: int | None = None, device="auto", dtype=torch.float32):
        self.n_visible = check_positive_int("n_visible", n_visible)
        self.n_hidden = check_positive_int("n_hidden", n_hidden)
        if dtype not in (torch.float32, torch.float64):
            raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"seed must be an int or None, got {seed!r}")
        self.device = _pick_device(device)
        self.dtype = dtype
        self.seed = seed
        # without a seed, draw one from torch's global generator (so torch.manual_seed still
        # makes a run reproducible, and the global state is not reseeded)
        init_seed = seed if seed is not None else int(torch.randint(0, 2**62, (1,)))
        init_gen = torch.Generator().manual_seed(init_seed)
        self.W = (0.01 * torch.randn(n_visible, n_hidden, generator=init_gen, dtype=torch.float64)).to(
            self.device, dtype
        )  # (N, M)
        self.b_vis = torch.zeros(n_visible, device=self.device, dtype=dtype)  # (N,)
        self.b_hid = torch.zeros(n_hidden, device=self.device, dtype=dtype)  # (M,)
        self._gen = self._make_generator(init_seed + 1)
        self.n_updates_ = 0
        self.history_: dict = {}
        self._persistent_chains: torch.Tensor | None = None

    # ------------------------------------------------------------------ helpers

    def _make_generator(self, seed: int | None) -> torch.Generator:
        g = torch.Generator(device=self.device)
        g.manual_seed(int(torch.randint(0, 2**62, (1,))) if seed is None else int(seed))
        return g

    def _gen_or_default(self, generator: torch.Generator | None) -> torch.Generator:
        if generator is None:
            return self._gen
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
        if generator.device.type != self.device.type:
            raise ValueError(
                f"generator is on {generator.device} but the model is on {self.device}; "
                f"use torch.Generator(device=model.device)"
            )
        return generator

    def _visible(self, name: str, V) -> torch.Tensor:
        return check_matrix(name, V, n_cols=self.n_visible, device=self.device, dtype=self.dtype, allow_1d=True)

    def _hidden(self, name: str, H) -> torch.Tensor:
        return check_matrix(name, H, n_cols=self.n_hidden, device=self.device, dtype=self.dtype, allow_1d=True)

    def __repr__(self) -> str:
        return (
            f"RBM(n_visible={self.n_visible}, n_hidden={self.n_hidden}, device={str(self.device)!r}, "
            f"dtype={self.dtype}, n_updates={self.n_updates_})"
        )

    @property
    def config(self) -> dict:
        """The configuration (everything but the parameters and the training record).

        Examples
        --------
        >>> from sesmlib.rbm import RBM
        >>> RBM(6, 3, seed=0, device="cpu").config
        {'n_visible': 6, 'n_hidden': 3, 'dtype': 'float32', 'seed': 0}
        """
        return {"n_visible": self.n_visible, "n_hidden": self.n_hidden,
                "dtype": str(self.dtype).replace("torch.", ""), "seed": self.seed}

    @property
    def filters(self) -> torch.Tensor:
        """The filters, one per column (N, M): ``W`` (column j: hidden unit j's weights)."""
        return self.W

    def to(self, device) -> "RBM":
        """Move the parameters to ``device`` (in place; returns self)."""
        self.device = _pick_device(device)
        self.W, self.b_vis, self.b_hid = (t.to(self.device) for t in (self.W, self.b_vis, self.b_hid))
        self._gen = self._make_generator(None if self.seed is None else self.seed + 1)
        self._persistent_chains = None
        return self

    # ------------------------------------------------------- the energy functions

    @torch.no_grad()
    def energy(self, V: torch.Tensor, H: torch.Tensor) -> torch.Tensor:
        """E(v, h) = - b_vis . v - b_hid . h - v^T W h, one value per row.

        Parameters
        ----------
        V : Tensor (B, N)
        H : Tensor (B, M)

        Returns
        -------
        Tensor (B,)

        Examples
        --------
        >>> import torch; from sesmlib.rbm import RBM
        >>> rbm = RBM(3, 2, seed=0, device="cpu")
        >>> rbm.energy(torch.zeros(1, 3), torch.zeros(1, 2)).abs().item()
        0.0
        """
        V = self._visible("V", V)
        H = self._hidden("H", H)
        if V.shape[0] != H.shape[0]:
            raise ValueError(f"V and H must have the same number of rows, got {V.shape[0]} and {H.shape[0]}")
        return -(V @ self.b_vis) - (H @ self.b_hid) - ((V @ self.W) * H).sum(1)

    @torch.no_grad()
    def free_energy(self, V: torch.Tensor) -> torch.Tensor:
        """F(v) = - log sum_h exp(-E(v, h)) = - b_vis . v - sum_j softplus(b_hid_j + v . W_j).

        So that p(v) = exp(-F(v)) / Z.

        Parameters
        ----------
        V : Tensor (B, N)

        Returns
        -------
        Tensor (B,)

        Examples
        --------
        >>> import torch, math; from sesmlib.rbm import RBM
        >>> rbm = RBM(3, 2, seed=0, device="cpu")
        >>> round(float(rbm.free_energy(torch.zeros(1, 3))), 4) == round(-2 * math.log(2), 4)
        True
        """
        V = self._visible("V", V)
        return -(V @ self.b_vis) - F.softplus(V @ self.W + self.b_hid).sum(1)

    @torch.no_grad()
    def free_energy_hidden(self, H: torch.Tensor) -> torch.Tensor:
        """The free energy of a hidden configuration, visible units summed out:
        F_h(h) = - b_hid . h - sum_i softplus(b_vis_i + W_i . h).

        Parameters
        ----------
        H : Tensor (B, M)

        Returns
        -------
        Tensor (B,)

        Examples
        --------
        >>> import torch; from sesmlib.rbm import RBM
        >>> RBM(3, 2, seed=0, device="cpu").free_energy_hidden(torch.ones(4, 2)).shape
        torch.Size([4])
        """
        H = self._hidden("H", H)
        return -(H @ self.b_hid) - F.softplus(H @ self.W.T + self.b_vis).sum(1)

    # ------------------------------------------------------ conditionals, sampling

    @torch.no_grad()
    def code(self, V: torch.Tensor) -> torch.Tensor:
        """The code of V: p(h_j = 1 | v) = sigmoid(b_hid_j + v . W_j), in (0, 1).

        Parameters
        ----------
        V : Tensor (B, N)

        Returns
        -------
        Tensor (B, M)

        Examples
        --------
        >>> import torch; from sesmlib.rbm import RBM
        >>> RBM(784, 200, seed=0, device="cpu").code(torch.rand(5, 784)).shape
        torch.Size([5, 200])
        """
        V = self._visible("V", V)
        return torch.sigmoid(V @ self.W + self.b_hid)  # (B, M)

    @torch.no_grad()
    def decode(self, H: torch.Tensor) -> torch.Tensor:
        """p(v_i = 1 | h) = sigmoid(b_vis_i + W_i . h): the reconstruction from a code
        (binary or, as in the paper's evaluation, quantised probabilities).

        Parameters
        ----------
        H : Tensor (B, M)

        Returns
        -------
        Tensor (B, N)

        Examples
        --------
        >>> import torch; from sesmlib.rbm import RBM
        >>> RBM(784, 200, seed=0, device="cpu").decode(torch.rand(5, 200)).shape
        torch.Size([5, 784])
        """
        H = self._hidden("H", H)
        return torch.sigmoid(H @ self.W.T + self.b_vis)  # (B, N)

    #: The contract's name for :meth:`decode`: the reconstruction from a code (the hidden
    #: probabilities, possibly quantised).
    decode_code = decode

    def reconstruct(self, V: torch.Tensor) -> torch.Tensor:
        """The deterministic ("mean-field") reconstruction decode_code(code(V)).

        Examples
        --------
        >>> import torch; from sesmlib.rbm import RBM
        >>> RBM(6, 3, seed=0, device="cpu").reconstruct(torch.rand(2, 6)).shape
        torch.Size([2, 6])
        """
        return self.decode(self.code(V))

    @torch.no_grad()
    def sample_h(self, V: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw h ~ p(h | v): h_j = 1 when u_j < p(h_j = 1 | v), u = torch.rand(B, M).

        Parameters
        ----------
        V : Tensor (B, N)
        generator : torch.Generator or None
            On the model's device; None uses the model's own generator.

        Returns
        -------
        Tensor (B, M) of 0.0 / 1.0

        Examples
        --------
        >>> import torch; from sesmlib.rbm import RBM
        >>> rbm = RBM(6, 3, seed=0, device="cpu")
        >>> h = rbm.sample_h(torch.rand(4, 6), torch.Generator().manual_seed(0))
        >>> sorted(set(h.flatten().tolist())) in ([0.0], [1.0], [0.0, 1.0])
        True
        """
        g = self._gen_or_default(generator)
        P = self.code(V)
        return _bernoulli_from_uniform(P, torch.rand(P.shape, generator=g, device=self.device, dtype=self.dtype))

    @torch.no_grad()
    def sample_v(self, H: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw v ~ p(v | h): v_i = 1 when u_i < p(v_i = 1 | h), u = torch.rand(B, N).

        Parameters
        ----------
        H : Tensor (B, M)
        generator : torch.Generator or None

        Returns
        -------
        Tensor (B, N) of 0.0 / 1.0

        Examples
        --------
        >>> import torch; from sesmlib.rbm import RBM
        >>> RBM(6, 3, seed=0, device="cpu").sample_v(torch.ones(4, 3)).shape
        torch.Size([4, 6])
        """
        g = self._gen_or_default(generator)
        P = self.decode(H)
        return _bernoulli_from_uniform(P, torch.rand(P.shape, generator=g, device=self.device, dtype=self.dtype))

    @torch.no_grad()
    def gibbs(self, V: torch.Tensor, k: int = 1, generator: torch.Generator | None = None) -> torch.Tensor:
        """Run k steps of block Gibbs sampling v -> h ~ p(h|v) -> v ~ p(v|h); return the last v.

        Parameters
        ----------
        V : Tensor (B, N)
            Starting visible states (pixels in [0, 1] are allowed: only p(h|v) uses them).
        k : int
        generator : torch.Generator or None

        Returns
        -------
        Tensor (B, N) of 0.0 / 1.0

        Examples
        --------
        >>> import torch; from sesmlib.rbm import RBM
        >>> RBM(6, 3, seed=0, device="cpu").gibbs(torch.rand(4, 6), k=10).shape
        torch.Size([4, 6])
        """
        k = check_positive_int("k", k)
        V = self._visible("V", V)
        g = self._gen_or_default(generator)
        for _ in range(k):
            V = self.sample_v(self.sample_h(V, g), g)
        return V

    # ------------------------------------------------------------------ gradients

    @torch.no_grad()
    def cd_grads(
        self,
        V: torch.Tensor,
        k: int = 1,
        generator: torch.Generator | None = None,
        *,
        chains: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """The CD-k estimate of the gradient of the average log-likelihood of the batch V.

        d/dW  mean log p(v) = <v h^T>_data - <v h^T>_model
          ~ (V^T p(h|V) - V_k^T p(h|V_k)) / B,

        where V_k comes from k Gibbs steps started at V (or at ``chains`` for persistent
        CD). Each step draws u_h = torch.rand(B, M) then u_v = torch.rand(B, N) from the
        generator; with k = 1 the result equals :func:`cd1_update` given those numbers.
        The negative hidden statistics use probabilities, not samples.

        Parameters
        ----------
        V : Tensor (B, N)
        k : int
        generator : torch.Generator or None
        chains : Tensor (C, N) or None
            Start of the negative chain (persistent CD); default V.

        Returns
        -------
        dict with "W" (N, M), "b_vis" (N,), "b_hid" (M,), and "v_neg" (C, N), the chain's
        end (to be kept for persistent CD).

        Examples
        --------
        >>> import torch; from sesmlib.rbm import RBM
        >>> rbm = RBM(6, 3, seed=0, device="cpu")
        >>> grads = rbm.cd_grads(torch.rand(4, 6), k=1, generator=torch.Generator().manual_seed(0))
        >>> grads["W"].shape
        torch.Size([6, 3])
        """
        k = check_positive_int("k", k)
        V = self._visible("V", V)
        g = self._gen_or_default(generator)
        Vn = V if chains is None else self._visible("chains", chains)
        P0 = torch.sigmoid(V @ self.W + self.b_hid)  # (B, M)
        Pn = P0 if chains is None else torch.sigmoid(Vn @ self.W + self.b_hid)
        for _ in range(k):
            u_h = torch.rand(Pn.shape, generator=g, device=self.device, dtype=self.dtype)
            u_v = torch.rand(Vn.shape, generator=g, device=self.device, dtype=self.dtype)
            Hn = _bernoulli_from_uniform(Pn, u_h)  # (C, M)
            Vn = _bernoulli_from_uniform(torch.sigmoid(Hn @ self.W.T + self.b_vis), u_v)  # (C, N)
            Pn = torch.sigmoid(Vn @ self.W + self.b_hid)  # (C, M)
        B, C = V.shape[0], Vn.shape[0]
        return {
            "W": V.T @ P0 / B - Vn.T @ Pn / C,
            "b_vis": V.mean(0) - Vn.mean(0),
            "b_hid": P0.mean(0) - Pn.mean(0),
            "v_neg": Vn,
        }

    def _enumeration_side(self, what: str, max_states: int) -> str:
        n = min(self.n_visible, self.n_hidden)
        if n > 62 or 2**n > max_states:
            raise ValueError(
                f"{what}: enumerating the smaller layer needs 2^{n} states, more than the limit "
                f"{max_states} (2^{int(math.log2(max_states))}); use a model with at most "
                f"{int(math.log2(max_states))} units in one layer, or log_partition_ais()"
            )
        return "visible" if self.n_visible <= self.n_hidden else "hidden"

    @torch.no_grad()
    def _enumerate(self, max_states: int, chunk: int = 2**15):
        """Yield (states, -free energy) chunks over all states of the smaller layer, float64."""
        side = self._enumeration_side("enumeration", max_states)
        W = self.W.double()
        b_vis, b_hid = self.b_vis.double(), self.b_hid.double()
        n = self.n_visible if side == "visible" else self.n_hidden
        for start in range(0, 2**n, chunk):
            S = _all_binary_states(n, start, min(2**n, start + chunk), self.device, torch.float64)  # (S, n)
            if side == "visible":
                neg_f = S @ b_vis + F.softplus(S @ W + b_hid).sum(1)
            else:
                neg_f = S @ b_hid + F.softplus(S @ W.T + b_vis).sum(1)
            yield side, S, neg_f

    @torch.no_grad()
    def log_partition_exact(self, max_states: int = MAX_EXACT_STATES) -> float:
        """log Z by enumerating all 2^min(N, M) states of the smaller layer, in float64.

        log Z = logsumexp_v (-F(v))  =  logsumexp_h (-F_h(h)).

        Parameters
        ----------
        max_states : int
            Refuse (ValueError) when 2^min(N, M) is larger (default 2^25).

        Returns
        -------
        float

        Examples
        --------
        >>> import math; from sesmlib.rbm import RBM
        >>> rbm = RBM(3, 2, seed=0, device="cpu")
        >>> _ = rbm.W.zero_()
        >>> round(rbm.log_partition_exact(), 6) == round(5 * math.log(2), 6)
        True
        """
        max_states = check_positive_int("max_states", max_states)
        parts = [torch.logsumexp(neg_f, 0) for _, _, neg_f in self._enumerate(max_states)]
        return float(torch.logsumexp(torch.stack(parts), 0))

    @torch.no_grad()
    def exact_grads(self, V: torch.Tensor, max_states: int = MAX_EXACT_STATES) -> dict[str, torch.Tensor]:
        """The exact gradient of the average log-likelihood, the model term by enumeration.

        d/dW mean log p(v) = V^T p(h|V) / B - E_model[v h^T], and likewise
        b_vis: mean(V) - E[v], b_hid: mean p(h|V) - E[h]. The model expectations are sums
        over all states of the smaller layer (weights p(state) = exp(-F(state)) / Z).

        Parameters
        ----------
        V : Tensor (B, N)
        max_states : int

        Returns
        -------
        dict with "W" (N, M), "b_vis" (N,), "b_hid" (M,), in the model's dtype.

        Examples
        --------
        >>> import torch; from sesmlib.rbm import RBM
        >>> rbm = RBM(5, 3, seed=0, device="cpu")
        >>> rbm.exact_grads(torch.rand(8, 5))["W"].shape
        torch.Size([5, 3])
        """
        V = self._visible("V", V)
        log_z = self.log_partition_exact(max_states)
        W = self.W.double()
        b_vis, b_hid = self.b_vis.double(), self.b_hid.double()
        EW = torch.zeros_like(W)
        Ev = torch.zeros_like(b_vis)
        Eh = torch.zeros_like(b_hid)
        for side, S, neg_f in self._enumerate(max_states):
            p = torch.exp(neg_f - log_z)  # (S,) probabilities of the states
            if side == "visible":
                Ph = torch.sigmoid(S @ W + b_hid)  # (S, M) E[h | v]
                EW += (S * p[:, None]).T @ Ph
                Ev += p @ S
                Eh += p @ Ph
            else:
                Pv = torch.sigmoid(S @ W.T + b_vis)  # (S, N) E[v | h]
                EW += (Pv * p[:, None]).T @ S
                Ev += p @ Pv
                Eh += p @ S
        Vd = V.double()
        P0 = torch.sigmoid(Vd @ W + b_hid)  # (B, M)
        B = V.shape[0]
        out = {"W": Vd.T @ P0 / B - EW, "b_vis": Vd.mean(0) - Ev, "b_hid": P0.mean(0) - Eh}
        return {key: val.to(self.dtype) for key, val in out.items()}

    # ------------------------------------------------------------------- training

    @torch.no_grad()
    def init_visible_bias(self, X: torch.Tensor, eps: float = 1e-3) -> None:
        """Set b_vis_i = log(p_i / (1 - p_i)), p_i the mean of pixel i clipped to [eps, 1-eps]
        (Hinton's practical guide, section 8): the model starts out with the data's pixel
        marginals.

        Examples
        --------
        >>> import torch; from sesmlib.rbm import RBM
        >>> rbm = RBM(2, 2, seed=0, device="cpu"); rbm.init_visible_bias(torch.tensor([[0.5, 0.0]]))
        >>> rbm.b_vis.tolist()[0]
        0.0
        """
        self._init_visible_bias(self._visible("X", X), eps)

    def _init_visible_bias(self, X: torch.Tensor, eps: float = 1e-3) -> None:
        p = X.mean(0, dtype=torch.float64).clamp(eps, 1 - eps)
        self.b_vis.copy_(torch.log(p) - torch.log1p(-p))

    @torch.no_grad()
    def fit(
        self,
        X: torch.Tensor,
        settings: RBMSettings | None = None,
        *,
        progress: bool = True,
        callback: Callable | None = None,
        num_threads: int | None = None,
        matmul_dtype: torch.dtype | None = None,
        **changes,
    ) -> dict:
        """Train by CD-k (or persistent CD) with momentum and L2 weight decay.

        For each mini-batch V (B rows, the data shuffled every epoch; a last partial batch
        is dropped), with (dW, db_vis, db_hid) = :meth:`cd_grads` (same sampling
        convention as :func:`cd1_update`)::

            vel_W <- mu vel_W + lr (dW - weight_decay W);   W <- W + vel_W
            vel_b <- mu vel_b + lr db;                      b <- b + vel_b  (both biases)

        mu is ``initial_momentum`` for the first ``momentum_switch_epoch`` epochs of this
        call (when given), ``momentum`` after. The loop is written with preallocated
        buffers and in-place operations (it does the same arithmetic as ``cd_grads``, with
        the gradient's two matrix products fused into one).

        Parameters
        ----------
        X : Tensor (n, N)
            Training data, pixels in [0, 1].
        settings : RBMSettings or None
            The training settings (see :class:`RBMSettings` for each); None builds them
            from ``changes`` (then ``epochs``, ``batch_size`` and ``lr`` are required).
        progress : bool
            A tqdm bar over the epochs.
        callback : callable or None
            ``callback(epoch, rbm, stats)`` after every epoch (stats: that epoch's row of the
            history); returning True stops training.
        num_threads : int or None
            Cpu threads for the loop; None: one thread for batches of at most
            ``SMALL_BATCH_ROWS`` rows (faster there, see ``_threads_for``), else unchanged.
        matmul_dtype : torch.dtype or None
            None (default): every product in the model's dtype. ``torch.bfloat16`` runs the
            five matrix products of each update in bfloat16 (the parameters, the momentum and
            the update stay in the model's dtype; a bfloat16 copy of W is refreshed after each
            update). A departure for speed only: on cpus with AVX512-BF16 (or on GPUs) the
            products are 2-3x faster; the rounding (8-bit mantissa) is small next to the
            sampling noise of CD. Random numbers then differ from :func:`cd1_update`'s
            float32 comparison only where u and p round to the same bfloat16 number.
        **changes
            Any field of :class:`RBMSettings`, replacing the one in ``settings``:
            ``fit(X, PAPER_SETTINGS, epochs=2)`` or ``fit(X, epochs=2, batch_size=10, lr=0.1)``.

        Returns
        -------
        dict of lists, one entry per epoch: "epoch", "recon_error" (mean squared error per
        pixel of the mean-field reconstruction :meth:`reconstruct` of the first 1000
        training rows, after the epoch), "time" (seconds of training, the evaluation
        excluded), "digits_per_s", "momentum". Also appended to ``history_``.

        Raises
        ------
        DivergenceError
            When the parameters or the reconstruction error become NaN/Inf, or the error
            exceeds twice the larger of its value before training and the pixels' variance
            (see ``sesmlib._engine.RBM_DIVERGENCE_FACTOR``); the model keeps the parameters,
            history, update count and generator state of the end of its last good epoch.
            Interrupted (KeyboardInterrupt, an exception from the callback), the model keeps
            the updates made so far and counts them in ``n_updates_``, so that the next
            ``fit`` continues (without re-initialising ``b_vis``).

        Examples
        --------
        >>> import torch; from sesmlib.rbm import RBM
        >>> X = (torch.rand(100, 20, generator=torch.Generator().manual_seed(0)) > 0.7).float()
        >>> rbm = RBM(20, 8, seed=0, device="cpu")
        >>> h = rbm.fit(X, epochs=3, batch_size=10, lr=0.1, momentum=0.5, progress=False)
        >>> sorted(h)
        ['digits_per_s', 'epoch', 'momentum', 'recon_error', 'time']
        """
        s = RBMSettings(**changes) if settings is None else settings.replace(**changes)
        X = self._visible("X", X)
        warn_if_outside_unit_range("X", X)
        if callback is not None and not callable(callback):
            raise TypeError("callback must be callable or None")
        n = X.shape[0]
        if n == 0:
            raise ValueError(f"X has no rows (shape {tuple(X.shape)}): training needs at least one sample")
        if s.batch_size > n:
            raise ValueError(f"batch_size ({s.batch_size}) is larger than the number of samples ({n})")
        if num_threads is not None:
            check_positive_int("num_threads", num_threads)
        if matmul_dtype not in (None, torch.float32, torch.float64, torch.bfloat16, torch.float16):
            raise TypeError(f"matmul_dtype must be None, torch.bfloat16, torch.float16 or a float dtype, got {matmul_dtype}")
        if s.init_vis_bias and self.n_updates_ == 0:
            self._init_visible_bias(X)
        with cpu_threads(_threads_for(s.batch_size, num_threads), self.device):
            return train_rbm(self, X, s.epochs, s.batch_size, s.lr, s.k, s.persistent, s.momentum, s.initial_momentum,
                             s.momentum_switch_epoch, s.weight_decay, s.seed, progress, callback,
                             self.dtype if matmul_dtype is None else matmul_dtype)

    # -------------------------------------------------- log Z and log-likelihood

    @torch.no_grad()
    def log_partition_ais(
        self,
        n_chains: int = 100,
        n_betas: int = 10000,
        seed: int | None = 0,
        *,
        data: torch.Tensor | None = None,
        base_vis_bias: torch.Tensor | None = None,
        betas: torch.Tensor | None = None,
        progress: bool = False,
        num_threads: int | None = None,
    ) -> AISResult:
        """Estimate log Z by Annealed Importance Sampling (Salakhutdinov and Murray, 2008).

        Base-rate model A: no weights, hidden biases 0, visible biases b_A, so
        log Z_A = sum_i softplus(b_A_i) + M log 2, and v ~ Bernoulli(sigmoid(b_A)) exactly.
        Intermediate distributions, 0 = beta_0 < ... < beta_K = 1::

            log f_beta(v) = (1 - beta) b_A . v + beta b_vis . v
                            + sum_j softplus(beta (b_hid_j + v . W_j))

        (the weights and hidden biases scaled by beta; f_0 is A with its hidden units
        summed out, f_1 = exp(-F(v))). Each chain starts with v ~ A and accumulates
        log w += log f_{beta_k}(v) - log f_{beta_{k-1}}(v), then moves v by one Gibbs step
        that leaves f_{beta_k} invariant. Then Z / Z_A is estimated by the mean of w
        (computed as a log-mean-exp).

        Parameters
        ----------
        n_chains : int
            Number of independent AIS runs (C).
        n_betas : int
            Number of inverse temperatures; spaced as in the paper (dense near 1), see
            ``_ais_betas``.
        seed : int or None
        data : Tensor (n, N) or None
            Training data: b_A = log(p / (1 - p)) of its pixel means (the paper's
            base-rate model). Without data or base_vis_bias, b_A = the model's b_vis.
        base_vis_bias : Tensor (N,) or None
            Give b_A directly.
        betas : Tensor (K,) or None
            A custom increasing schedule from 0 to 1 (overrides n_betas).
        progress : bool
        num_threads : int or None
            As for :meth:`fit` (None: one cpu thread for at most ``SMALL_BATCH_ROWS`` chains).

        Returns
        -------
        AISResult
            ``log_z`` with ``std_err`` (delta method) and the +/- 3 sigma interval.

        Notes
        -----
        Validated against :meth:`log_partition_exact` (tests/test_rbm.py, tolerance 0.1
        nats): random RBMs 12x8, 20x10, 8x14 with 200 chains x 3000 betas agree within
        0.003-0.023 nats; MNIST RBMs 784x12 and 784x20 with 100 chains x 10000 betas
        within 0.034 and 0.072 nats (std_err 0.026 and 0.042). Since the estimate of Z is
        unbiased, log Z tends to be underestimated when the schedule is too short.

        Examples
        --------
        >>> from sesmlib.rbm import RBM
        >>> rbm = RBM(10, 6, seed=0, device="cpu")
        >>> res = rbm.log_partition_ais(n_chains=100, n_betas=1000, seed=0)
        >>> abs(res.log_z - rbm.log_partition_exact()) < 0.05
        True
        """
        C = check_positive_int("n_chains", n_chains)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"seed must be an int or None, got {seed!r}")
        if betas is None:
            n_betas = check_positive_int("n_betas", n_betas)
            if n_betas < 3:
                raise ValueError(f"n_betas must be at least 3, got {n_betas}")
            betas = _ais_betas(n_betas)
        else:
            betas = torch.as_tensor(betas, dtype=torch.float64).flatten().cpu()
            if betas.numel() < 2 or float(betas[0]) != 0.0 or float(betas[-1]) != 1.0 or not bool((betas.diff() > 0).all()):
                raise ValueError("betas must increase strictly from 0 to 1")
        if data is not None and base_vis_bias is not None:
            raise ValueError("give data or base_vis_bias, not both")
        if data is not None:
            p = self._visible("data", data).double().mean(0).clamp(1e-3, 1 - 1e-3)
            b_A = (torch.log(p) - torch.log1p(-p)).to(self.dtype)
        elif base_vis_bias is not None:
            b_A = check_matrix("base_vis_bias", base_vis_bias, n_cols=self.n_visible, device=self.device, dtype=self.dtype, allow_1d=True)[0]
        else:
            b_A = self.b_vis.clone()
        if num_threads is not None:
            check_positive_int("num_threads", num_threads)
        with cpu_threads(_threads_for(C, num_threads), self.device):
            return self._ais_loop(C, betas, b_A, seed, progress)

    def _ais_loop(self, C, betas, b_A, seed, progress) -> AISResult:
        g = self._make_generator(seed)
        W, b_vis, b_hid, dt = self.W, self.b_vis, self.b_hid, self.dtype
        N, M = self.n_visible, self.n_hidden
        log_z_A = float(F.softplus(b_A.double()).sum()) + M * math.log(2.0)
        db = b_vis - b_A  # (N,)
        betas_l = betas.tolist()

        V = (torch.rand(C, N, generator=g, device=self.device, dtype=dt) < torch.sigmoid(b_A)).to(dt)  # (C, N)
        log_w = torch.zeros(C, device=self.device, dtype=torch.float64)
        bar = _progress(range(1, len(betas_l)), enable=progress, desc="AIS", unit="beta", miniters=500)
        for i in bar:
            b_prev, b_new = betas_l[i - 1], betas_l[i]
            X = torch.addmm(b_hid, V, W)  # (C, M) = b_hid + v W
            # log f_new(v) - log f_prev(v)
            delta = (b_new - b_prev) * (V @ db) + (F.softplus(b_new * X) - F.softplus(b_prev * X)).sum(1)
            log_w += delta.double()
            if i == len(betas_l) - 1:
                break  # the last sample is not needed
            # one Gibbs step leaving f_new invariant
            H = (torch.rand(C, M, generator=g, device=self.device, dtype=dt) < torch.sigmoid(b_new * X)).to(dt)
            pv = torch.sigmoid((1 - b_new) * b_A + b_new * torch.addmm(b_vis, H, W.T))  # (C, N)
            V = (torch.rand(C, N, generator=g, device=self.device, dtype=dt) < pv).to(dt)
        if hasattr(bar, "close"):
            bar.close()
        log_w = log_w.cpu()
        lme = float(torch.logsumexp(log_w, 0)) - math.log(C)  # log mean w
        # mean and std of w / max(w), for the error bar
        w = torch.exp(log_w - log_w.max())
        mean_w, std_w = float(w.mean()), float(w.std()) if C > 1 else float("nan")
        rel = std_w / (math.sqrt(C) * mean_w)  # std of mean(w) relative to mean(w)
        log_z = log_z_A + lme
        return AISResult(
            log_z=log_z,
            std_err=rel,
            log_z_low=log_z + (math.log(1 - 3 * rel) if 3 * rel < 1 else -math.inf),
            log_z_high=log_z + math.log(1 + 3 * rel),
            log_weights=log_w,
            log_z_base=log_z_A,
            n_chains=C,
            n_betas=len(betas_l),
        )

    @torch.no_grad()
    def log_likelihood(self, V: torch.Tensor, log_z) -> float:
        """The average log-likelihood (nats) of the rows of V: mean(-F(v)) - log Z.

        Parameters
        ----------
        V : Tensor (B, N)
            Binary test data (grey pixels are accepted: F is defined on [0, 1]^N, but the
            number is then not a log-probability; binarise first for that).
        log_z : float or AISResult
            From :meth:`log_partition_exact` or :meth:`log_partition_ais`.

        Returns
        -------
        float

        Examples
        --------
        >>> import torch, math; from sesmlib.rbm import RBM
        >>> rbm = RBM(4, 3, seed=0, device="cpu"); _ = rbm.W.zero_()
        >>> round(rbm.log_likelihood(torch.ones(2, 4), rbm.log_partition_exact()), 6) == round(-4 * math.log(2), 6)
        True
        """
        V = self._visible("V", V)
        if isinstance(log_z, AISResult):
            log_z = log_z.log_z
        if isinstance(log_z, bool) or not isinstance(log_z, (int, float)):
            raise TypeError(f"log_z must be a float or an AISResult, got {type(log_z).__name__}")
        if not math.isfinite(log_z):
            raise ValueError(f"log_z must be finite, got {log_z}")
        return float(-self.free_energy(V).double().mean()) - log_z

    # ------------------------------------------------------------------ files

    def save(self, path) -> Path:
        """Save the parameters and configuration (atomically; safe to load).

        Examples
        --------
        >>> import tempfile, os; from sesmlib.rbm import RBM
        >>> rbm = RBM(6, 3, seed=0, device="cpu")
        >>> p = rbm.save(os.path.join(tempfile.mkdtemp(), "rbm.pt"))
        >>> bool((RBM.load(p, device="cpu").W == rbm.W).all())
        True
        """
        config = {**self.config, "n_updates": self.n_updates_, "history": self.history_}
        return save_model(path, self._KIND, config, {"W": self.W, "b_vis": self.b_vis, "b_hid": self.b_hid})

    @classmethod
    def load(cls, path, device="auto", *, expected_config: dict | None = None) -> "RBM":
        """Load a model written by :meth:`save`.

        Raises FileNotFoundError, or ValueError naming the file for a corrupt file (bad
        checksum, shapes that disagree with its configuration, NaN or Inf, a malformed
        training record), a file of another kind, or a configuration that differs from
        ``expected_config`` (entries of :attr:`config`).

        Examples
        --------
        See :meth:`save`.
        """
        config, tensors = load_model(path, cls._KIND)
        check_expected_config(path, config, expected_config)
        N, M = config_int(path, config, "n_visible"), config_int(path, config, "n_hidden")
        dtype = {"float32": torch.float32, "float64": torch.float64}.get(config.get("dtype"))
        seed, n_updates, history = config.get("seed"), config.get("n_updates", 0), config.get("history", {})
        if dtype is None:
            raise ValueError(f"model file {path} is corrupt: unsupported dtype {config.get('dtype')!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"model file {path} is corrupt: seed {seed!r} is not an int")
        if isinstance(n_updates, bool) or not isinstance(n_updates, int) or n_updates < 0:
            raise ValueError(f"model file {path} is corrupt: n_updates {n_updates!r} is not a count")
        if not isinstance(history, dict) or not all(isinstance(v, list) for v in history.values()):
            raise ValueError(f"model file {path} is corrupt: its training record is not a dict of lists")
        check_tensors(path, tensors, {"W": (N, M), "b_vis": (N,), "b_hid": (M,)})  # before allocating
        rbm = cls(N, M, seed=seed, device=device, dtype=dtype)
        for name in ("W", "b_vis", "b_hid"):
            setattr(rbm, name, tensors[name].to(rbm.device, dtype).contiguous())
        rbm.n_updates_ = n_updates
        rbm.history_ = dict(history)
        return rbm


def train_paper_rbm(
    X: torch.Tensor,
    settings: RBMSettings = PAPER_SETTINGS,
    *,
    n_hidden: int = PAPER_N_HIDDEN,
    device="auto",
    progress: bool = True,
    callback: Callable | None = None,
    **overrides,
) -> tuple[RBM, dict]:
    """Train the paper's RBM baseline: ``n_hidden`` units, :data:`PAPER_SETTINGS`.

    Parameters
    ----------
    X : Tensor (n, N)
        Training data in [0, 1] (the paper: the first 20000 MNIST training digits).
    settings : RBMSettings
        The training settings (default: the paper's).
    n_hidden : int
        Hidden units (the paper: 200).
    device : str or torch.device
    progress : bool
    callback : callable or None
        Passed to :meth:`RBM.fit`.
    **overrides
        Replace settings (e.g. ``epochs=2`` for a quick run), or other :meth:`RBM.fit`
        arguments (``matmul_dtype``, ``num_threads``).

    Returns
    -------
    (RBM, dict)
        The trained model (the same seed gives the same weights) and its history.

    Examples
    --------
    >>> import torch; from sesmlib.rbm import train_paper_rbm
    >>> X = torch.rand(200, 784, generator=torch.Generator().manual_seed(0))
    >>> rbm, hist = train_paper_rbm(X, device="cpu", progress=False, epochs=1)
    >>> rbm.W.shape, len(hist["epoch"])
    (torch.Size([784, 200]), 1)
    """
    names = {f.name for f in fields(RBMSettings)}
    settings = settings.replace(**{k: v for k, v in overrides.items() if k in names})
    options = {k: v for k, v in overrides.items() if k not in names}
    X = check_matrix("X", X)
    rbm = RBM(X.shape[1], n_hidden, seed=settings.seed, device=device)
    history = rbm.fit(X.to(rbm.device), settings, progress=progress, callback=callback, **options)
    return rbm, history
