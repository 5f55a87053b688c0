"""Going deeper: a second SESM stage trained on the first stage's codes.

Ranzato, Boureau and LeCun, "Sparse Feature Learning for Deep Belief Networks", NIPS 2007,
Section 5.1.1 (notebook ``07_going_deeper``; Section 5.2, natural image patches, is
:mod:`sesmlib.natural`):

- A second SESM with 10 code units and alpha_s = 1 is trained
  on the first stage's codes *after the logistic*, l(f_enc1(Y)), of the 20000 training
  digits. Its filters, back-projected to the pixels through both decoders, look like digit
  prototypes although no label was used (Fig. 1-G); some initialisations find two kinds of
  "9" and no "4". :func:`fit_second_stage`, :func:`fit_second_stage_seeds`,
  :func:`back_project` and :func:`unit_digit_table` (labels used only to *describe* the
  units, never to train them).

The numbers that say what one sees in a filter picture (spread, orientation) are in
:mod:`sesmlib.evaluate` (:func:`sesmlib.evaluate.filter_stats`).

Trained second stages are kept in the store (:mod:`sesmlib.store`), keyed by their full
settings and fingerprints of the first stage and of its codes, so a second run only
loads them.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch

from ._utils import check_matrix, check_nonnegative, check_positive_int

__all__ = [
    "STAGE2_SETTINGS",
    "STAGE2_EPOCHS",
    "STAGE2_TRAINING",
    "first_stage_codes",
    "fit_second_stage",
    "fit_second_stage_seeds",
    "back_project",
    "back_project_params",
    "unit_digit_table",
]

#: The paper's second stage (Section 5.1.1): 10 code units, alpha_s = 1. The paper gives
#: nothing else for it, so the other settings are those of the first MNIST stage
#: (g = 7, alpha_e = 1, alpha_r = 0.0004), which keep the code quasi-binary and the
#: filters' L1 penalty on the same scale as the first stage's.
STAGE2_SETTINGS: dict[str, Any] = {
    "n_code": 10,
    "alpha_s": 1.0,
    "gain": 7.0,
    "alpha_e": 1.0,
    "alpha_r": 4e-4,
}

#: Epochs of the paper's on-line algorithm (the paper gives none): two passes over the
#: 20000 codes (measured: the loss changes by under 1 % in a second pass, and the
#: prototypes are clear after it).
STAGE2_EPOCHS = 2

#: How the second stage is trained where the paper is silent: the energy of eq. 7 as
#: printed, 2 code-inference steps of 0.2 and learning rate 0.0025 on-line (0.02 for
#: minibatches), the library's defaults when the measurements above were made. (The first
#: stage uses the half convention of the paper's own code, see :class:`sesmlib.sesm.SESM`;
#: it was not measured on the second stage.)
STAGE2_TRAINING: dict[str, Any] = {"convention": "eq7", "infer_steps": 2, "infer_step_size": 0.2,
                                   "lr_online": 0.0025, "lr_minibatch": 0.02}

# ----------------------------------------------------------------------------- helpers


def _sesm_class():
    from .sesm import SESM  # imported here: ``import sesmlib.stack`` stays light

    return SESM


def _model_params(model) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    for name in ("W", "b_enc", "b_dec"):
        if not isinstance(getattr(model, name, None), torch.Tensor):
            raise TypeError(f"expected a trained SESM (with tensors W, b_enc, b_dec), got {type(model).__name__}")
    return model.W, model.b_enc, model.b_dec


# ----------------------------------------------------------------- the two-layer stack


@torch.no_grad()
def first_stage_codes(first, X: torch.Tensor, *, batch_size: int = 4096) -> torch.Tensor:
    """The first stage's codes after the logistic, the input of the second stage.

    ``C = l(W1^T Y + b_enc1)``, i.e. ``first.code(Y)``, computed in chunks.

    Parameters
    ----------
    first : SESM
        The trained first stage (N -> M1).
    X : torch.Tensor, shape (B, N)
        Images, pixels in [0, 1].
    batch_size : int
        Rows per chunk (memory only; the result does not depend on it).

    Returns
    -------
    torch.Tensor, shape (B, M1), values in [0, 1]

    Examples
    --------
    >>> import torch
    >>> from sesmlib import SESM
    >>> first = SESM(16, 8, seed=0, device="cpu")
    >>> first_stage_codes(first, torch.rand(5, 16)).shape
    torch.Size([5, 8])
    """
    W1, _, _ = _model_params(first)
    X = check_matrix("X", X, n_cols=W1.shape[0], device=W1.device, dtype=W1.dtype)
    batch_size = check_positive_int("batch_size", batch_size)
    return torch.cat([first.code(X[i : i + batch_size]) for i in range(0, X.shape[0], batch_size)])  # (B, M1)


def fit_second_stage(
    first,
    X: torch.Tensor,
    *,
    seed: int = 0,
    epochs: int = STAGE2_EPOCHS,
    n_code: int = STAGE2_SETTINGS["n_code"],
    alpha_s: float = STAGE2_SETTINGS["alpha_s"],
    gain: float = STAGE2_SETTINGS["gain"],
    alpha_e: float = STAGE2_SETTINGS["alpha_e"],
    alpha_r: float = STAGE2_SETTINGS["alpha_r"],
    cache: bool = True,
    progress: bool = True,
    **fit_kwargs,
):
    """Train the paper's second SESM stage on the first stage's codes (Section 5.1.1).

    The second stage is an ordinary SESM (eq. 7-8) whose input is
    ``C = l(f_enc1(Y))`` (:func:`first_stage_codes`), M1 values in [0, 1] per digit, and
    whose code has ``n_code`` units. It is trained with :meth:`SESM.fit`, the same
    coordinate descent as the first stage.

    Parameters
    ----------
    first : SESM
        The trained first stage (N -> M1).
    X : torch.Tensor, shape (B, N)
        The training images (the paper: the first 20000 training digits).
    seed : int
        Initialisation and shuffling seed of the second stage.
    epochs : int
        Passes over the codes (:data:`STAGE2_EPOCHS`; the paper gives none).
    n_code, alpha_s, gain, alpha_e, alpha_r : see :data:`STAGE2_SETTINGS`.
    cache : bool
        Load the model from the store when the same first stage, data and
        settings were trained before; save it after training otherwise.
    progress : bool
        Show training progress.
    **fit_kwargs
        Passed to :meth:`SESM.fit` (``batch_size``, ``lr``, ...); with the library's
        defaults written out, they are part of the cache key.

    Returns
    -------
    second : SESM
        The trained second stage (M1 -> n_code).
    history : dict or None
        ``SESM.fit``'s history, None when the model came from the cache.

    Examples
    --------
    >>> import torch
    >>> from sesmlib import SESM
    >>> first = SESM(16, 8, seed=0, device="cpu")
    >>> second, _ = fit_second_stage(first, torch.rand(64, 16), n_code=3, epochs=1,
    ...                              batch_size=16, cache=False, progress=False)
    >>> second.W.shape
    torch.Size([8, 3])
    """
    W1, b1e, b1d = _model_params(first)
    seed = int(seed)
    n_code = check_positive_int("n_code", n_code)
    epochs = check_positive_int("epochs", epochs)
    for name, value in (("alpha_s", alpha_s), ("alpha_e", alpha_e), ("alpha_r", alpha_r)):
        check_nonnegative(name, value)
    check_nonnegative("gain", gain, positive=True)
    C = first_stage_codes(first, X)  # (B, M1)
    from . import store, zoo
    from .sesm import FitSettings

    t = STAGE2_TRAINING
    lr = t["lr_online"] if fit_kwargs.get("batch_size", 1) == 1 else t["lr_minibatch"]
    fit = {"infer_steps": t["infer_steps"], "infer_step_size": t["infer_step_size"], "lr": lr}
    settings = FitSettings.of(**{**fit, **fit_kwargs, "epochs": epochs, "seed": seed})
    SESM = _sesm_class()

    def make():
        return SESM(C.shape[1], n_code, gain=gain, alpha_e=alpha_e, alpha_s=alpha_s, alpha_r=alpha_r,
                    convention=t["convention"], seed=seed, device=W1.device, dtype=W1.dtype)

    key = {"first": store.fingerprint(W1, b1e, b1d), "data": store.fingerprint(C)}
    return zoo.stored_fit("sesm-stage2", key, make, C, settings, cache=cache, progress=progress, device=W1.device)


def fit_second_stage_seeds(first, X: torch.Tensor, seeds: Sequence[int], **kwargs) -> list:
    """Train one second stage per seed (same data and settings), to show how much the
    prototypes found depend on the initialisation (the paper: "some initialisations find
    two kinds of 9 and no 4").

    Parameters
    ----------
    first, X, **kwargs
        As for :func:`fit_second_stage`.
    seeds : sequence of int
        One model per seed.

    Returns
    -------
    list of SESM, one per seed, in the order of ``seeds``.

    Examples
    --------
    >>> import torch
    >>> from sesmlib import SESM
    >>> first = SESM(16, 8, seed=0, device="cpu")
    >>> models = fit_second_stage_seeds(first, torch.rand(64, 16), [0, 1], n_code=3, epochs=1,
    ...                                 batch_size=16, cache=False, progress=False)
    >>> len(models)
    2
    """
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    return [fit_second_stage(first, X, seed=s, **kwargs)[0] for s in seeds]


def back_project_params(
    W1: torch.Tensor, b_dec1: torch.Tensor, W2: torch.Tensor, b_dec2: torch.Tensor, *, clip: bool = True
) -> torch.Tensor:
    """Each second-stage unit in pixel space, from the two decoders' parameters (Fig. 1-G).

    Unit j of the second code alone on, l(Z2) = e_j, goes through the second decoder,
    ``C_j = W2 e_j + b_dec2`` (a first-stage code after the logistic), clipped to [0, 1]
    with ``clip`` (the range such codes live in), then through the first decoder, whose
    logistic ``C_j`` already is: ``Y_j = W1 C_j + b_dec1``. All units at once::

        C = clip(W2^T + b_dec2)      (K, M1)
        Y = C W1^T + b_dec1          (K, N)

    Parameters
    ----------
    W1 : Tensor (N, M1)
        First-stage filters.
    b_dec1 : Tensor (N,)
        First-stage decoder bias.
    W2 : Tensor (M1, K)
        Second-stage filters.
    b_dec2 : Tensor (M1,)
        Second-stage decoder bias.
    clip : bool
        Clip the intermediate code to [0, 1].

    Returns
    -------
    Tensor (K, N): one image per second-stage unit.

    Examples
    --------
    >>> import torch
    >>> W1, b1 = torch.tensor([[1.0, 0.0], [0.0, 2.0]]), torch.zeros(2)
    >>> W2, b2 = torch.tensor([[1.0], [0.5]]), torch.zeros(2)
    >>> back_project_params(W1, b1, W2, b2)
    tensor([[1., 1.]])
    """
    C = W2.T + b_dec2  # (K, M1): row j = W2 e_j + b_dec2
    if clip:
        C = C.clamp(0.0, 1.0)
    return C @ W1.T + b_dec1  # (K, N)


@torch.no_grad()
def back_project(first, second, *, mode: str = "decode", clip: bool = True) -> torch.Tensor:
    """Each second-stage unit seen in pixel space, through both decoders (Fig. 1-G).

    ``mode="decode"`` (the default) asks what the stack reconstructs when only unit j of
    the second code is on, l(Z2) = e_j (:func:`back_project_params`):

    - second decoder: ``C_j = W2 e_j + b_dec2`` (a first-stage code after the logistic);
      with ``clip`` it is clipped to [0, 1], the range such codes live in;
    - first decoder, whose logistic ``C_j`` already is: ``Y_j = W1 C_j + b_dec1``.

    ``mode="linear"`` composes the filters alone, ``Y_j = W1 W2[:, j]`` (no biases, no
    clipping): the linear back-projection of the filter. It shows what the unit adds to the
    common background that the biases draw.

    Parameters
    ----------
    first : SESM
        First stage (N -> M1).
    second : SESM
        Second stage (M1 -> K), trained on ``first``'s codes.
    mode : {"decode", "linear"}
    clip : bool
        Clip the intermediate code to [0, 1] (``mode="decode"`` only).

    Returns
    -------
    torch.Tensor, shape (K, N)
        One image per second-stage unit (for MNIST, N = 784: reshape to 28 x 28).

    Examples
    --------
    >>> from sesmlib import SESM
    >>> first, second = SESM(16, 8, seed=0, device="cpu"), SESM(8, 3, seed=1, device="cpu")
    >>> back_project(first, second).shape
    torch.Size([3, 16])
    """
    W1, _, b1d = _model_params(first)
    W2, _, b2d = _model_params(second)
    if W2.shape[0] != W1.shape[1]:
        raise ValueError(
            f"second has {W2.shape[0]} visible units but first has {W1.shape[1]} code units; "
            "the second stage must be trained on the first stage's codes"
        )
    if W2.device.type != W1.device.type:
        raise ValueError(f"first is on {W1.device} but second is on {W2.device}")
    if mode == "linear":
        return (W1 @ W2).T.contiguous()  # (K, N)
    if mode != "decode":
        raise ValueError(f"mode must be 'decode' or 'linear', got {mode!r}")
    return back_project_params(W1, b1d, W2, b2d, clip=clip)  # (K, N)


@torch.no_grad()
def unit_digit_table(first, second, X: torch.Tensor, labels: torch.Tensor, *, n_classes: int = 10) -> dict:
    """Which digits each second-stage unit stands for, read off *after* training.

    Every image is assigned to its most active second-stage unit,
    ``argmax_j l(f_enc2(l(f_enc1(Y))))_j``; the labels only describe these groups (they
    never entered training).

    Parameters
    ----------
    first, second : SESM
        The two stages.
    X : torch.Tensor, shape (B, N)
        Images (for example the test digits).
    labels : torch.Tensor, shape (B,)
        Their digit classes, integers in [0, n_classes).
    n_classes : int

    Returns
    -------
    dict with
        ``counts`` (K, n_classes) long tensor: images of each class won by each unit;
        ``usage`` (K,): fraction of the images each unit wins;
        ``majority`` (K,) long: the most frequent class of each unit (-1 for a unit
        that wins no image);
        ``purity`` (K,): the fraction of the unit's images in its majority class (0 for
        an unused unit);
        ``digits_found``: sorted list of the classes that are the majority of some unit;
        ``accuracy``: the fraction of images whose class is their unit's majority class
        (the "cluster purity" of the stack seen as a clustering).

    Examples
    --------
    >>> import torch
    >>> from sesmlib import SESM
    >>> first, second = SESM(16, 8, seed=0, device="cpu"), SESM(8, 3, seed=1, device="cpu")
    >>> t = unit_digit_table(first, second, torch.rand(20, 16), torch.arange(20) % 10)
    >>> t["counts"].shape, int(t["counts"].sum())
    (torch.Size([3, 10]), 20)
    """
    n_classes = check_positive_int("n_classes", n_classes)
    if not isinstance(labels, torch.Tensor) or labels.dim() != 1:
        raise TypeError("labels must be a 1-D torch.Tensor of class indices")
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise TypeError(f"labels must hold integers, got {labels.dtype}")
    if labels.shape[0] != X.shape[0]:
        raise ValueError(f"labels has {labels.shape[0]} entries but X has {X.shape[0]} rows")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes}), got values in [{int(labels.min())}, {int(labels.max())}]")
    W2, _, _ = _model_params(second)
    C = first_stage_codes(first, X)  # (B, M1)
    if C.shape[1] != W2.shape[0]:
        raise ValueError(f"second has {W2.shape[0]} visible units but first has {C.shape[1]} code units")
    winner = second.code(C).argmax(dim=1).cpu()  # (B,)
    K = W2.shape[1]
    counts = torch.zeros(K * n_classes, dtype=torch.long)
    counts.index_add_(0, winner * n_classes + labels.cpu().long(), torch.ones_like(winner))
    counts = counts.view(K, n_classes)  # (K, n_classes)
    won = counts.sum(dim=1)  # (K,)
    top, majority = counts.max(dim=1)
    majority = torch.where(won > 0, majority, torch.full_like(majority, -1))
    purity = torch.where(won > 0, top.double() / won.clamp(min=1).double(), torch.zeros(K, dtype=torch.float64))
    n = max(int(labels.numel()), 1)
    return {
        "counts": counts,
        "usage": won.double() / n,
        "majority": majority,
        "purity": purity,
        "digits_found": sorted({int(c) for c in majority.tolist() if c >= 0}),
        "accuracy": float(top[won > 0].sum()) / n,
    }
