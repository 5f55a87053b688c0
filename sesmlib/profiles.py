"""The two sizes every experiment comes in: the paper's (``full``) and a small one
(``quick``, what ``make test`` runs) in which every picture still shows something.

One table, :data:`PROFILES`, read by the trained-model zoo (:mod:`sesmlib.zoo`) and the
Figure-1 run (:mod:`sesmlib.experiments`); :func:`get` picks an entry.

Examples
--------
>>> get(quick=True).n_train, get(quick=False).sizes
(2000, (10, 100, 1000))
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["Profile", "PROFILES", "get"]


@dataclass(frozen=True)
class Profile:
    """The sizes of one profile.

    Attributes
    ----------
    name : "full" or "quick"
    n_train : int
        Training digits every model sees (the first ``n_train`` of MNIST's training set;
        the paper: 20000).
    sesm_epochs : int
        Epochs of SESM training (the paper gives none; see :meth:`sesmlib.sesm.SESM.fit`).
    rbm_epochs : int or None
        Epochs of the RBM; None keeps those of :data:`sesmlib.rbm.PAPER_SETTINGS`.
    n_test : int
        Test digits the codes are evaluated on (the paper: all 10000).
    pool : int
        Training digits the classifier draws come from (labels used; the paper: 60000).
    sizes : tuple of int
        Training digits per class of the linear classifier (the paper: 10, 100, 1000).
    n_draws : int
        Random draws per size (the paper: 10).
    classifier_epochs : int or None
        Epochs of the paper's linear classifier; None keeps the protocol's (100).
    model_seeds : tuple of int
        The seeds every SESM and the RBM of the Figure-1 run are trained with (initial
        weights, order of the samples); the tables show the spread over them beside the
        spread over the classifier draws. The paper shows one run.
    """

    name: str
    n_train: int
    sesm_epochs: int
    rbm_epochs: int | None
    n_test: int
    pool: int
    sizes: tuple[int, ...]
    n_draws: int
    classifier_epochs: int | None
    model_seeds: tuple[int, ...] = (0,)

    def as_dict(self) -> dict:
        """The profile as plain data.

        Examples
        --------
        >>> PROFILES["quick"].as_dict()["n_draws"]
        2
        """
        return asdict(self)


#: The full profile is the paper's set-up (SESM: 2 epochs, see :meth:`sesmlib.sesm.SESM.fit`;
#: three model seeds); the quick one trains on 2000 digits for one epoch with one seed and
#: evaluates on 2000 test digits, enough for every picture to show something.
PROFILES: dict[str, Profile] = {
    "full": Profile("full", n_train=20000, sesm_epochs=2, rbm_epochs=None, n_test=10000, pool=60000,
                    sizes=(10, 100, 1000), n_draws=10, classifier_epochs=None, model_seeds=(0, 1, 2)),
    "quick": Profile("quick", n_train=2000, sesm_epochs=1, rbm_epochs=1, n_test=2000, pool=10000,
                     sizes=(10, 100), n_draws=2, classifier_epochs=3),
}


def get(quick: bool = False) -> Profile:
    """The quick profile when ``quick`` is true, else the full one.

    Examples
    --------
    >>> get(quick=True).name
    'quick'
    """
    return PROFILES["quick" if quick else "full"]
