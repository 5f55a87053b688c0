"""The numbers of the paper's Figure 1, as data (for plots, the reproduction report and
the notebooks).

Ranzato, Boureau and LeCun, "Sparse Feature Learning for Deep Belief Networks", NIPS
2007, Figure 1 and Section 4.1. The values were read from the paper's vector drawing
(about +/- 0.05 points for circles and diamonds, up to +/- 0.6 points for triangles).

Conventions: the SESM points are listed in the order of :data:`ALPHAS` (1, 0.5, 0.2, 0.1,
0.05). The paper plots them without labels; sorted from the lowest to the highest
entropy they are taken to be alpha_s = 1 ... 0.05 (a stronger sparsity weight gives
sparser, lower-entropy codes). Dictionary keys are strings so that the data round-trips
through JSON unchanged.

Examples
--------
>>> from sesmlib.paper import FIGURE1, ALPHAS
>>> FIGURE1["panel_c"]["pca"]["256"]
{'bits_per_pixel': 1.08, 'rmse': 0.09}
>>> len(FIGURE1["panel_a"]["1000"]["sesm"]) == len(ALPHAS)
True
"""
from __future__ import annotations

import copy

__all__ = ["ALPHAS", "SIZES", "BINS", "FIGURE1", "CONCLUSIONS", "figure1"]

#: The sparsity weights of the SESM sweep, in the order the SESM lists below use.
ALPHAS = (1.0, 0.5, 0.2, 0.1, 0.05)
#: Training samples per class for the linear classifier.
SIZES = (10, 100, 1000)
#: Quantisation levels of panel C.
BINS = (5, 256)

FIGURE1: dict = {
    # Panel C: RMSE (the paper's sigma) against bits per pixel, test set.
    "panel_c": {
        "pca": {"5": {"bits_per_pixel": 0.02, "rmse": 0.42}, "256": {"bits_per_pixel": 1.08, "rmse": 0.090}},
        "rbm": {"5": {"bits_per_pixel": 0.55, "rmse": 0.193}, "256": {"bits_per_pixel": 1.87, "rmse": 0.197}},
        "sesm": {
            "5": {"bits_per_pixel": [0.09, 0.13, 0.19, 0.23, 0.29], "rmse": [0.292, 0.259, 0.224, 0.208, 0.198]},
            "256": {"bits_per_pixel": [0.35, 0.38, 0.57, 0.74, 0.94], "rmse": [0.289, 0.255, 0.219, 0.202, 0.191]},
        },
    },
    # Panel A: linear-classifier test error (%) against the 256-level entropy.
    "panel_a": {
        "10": {"sesm": [22.4, 21.9, 20.8, 21.3, 23.0], "rbm": 21.4, "raw": 29.6, "pca": 39.7},
        "100": {"sesm": [11.0, 10.2, 8.9, 8.8, 10.1], "rbm": 9.5, "raw": 14.1, "pca": 16.9},
        "1000": {"sesm": [7.65, 6.36, 5.30, 5.33, 6.05], "rbm": 5.92, "raw": 9.08, "pca": 9.12},
    },
    # Training errors (%) at 1000 samples per class (SESM: the range over the sweep).
    "train_error_1000": {"sesm_range": [3.2, 6.1], "rbm": 4.1, "raw": 5.2, "pca": 6.4},
    # Panel B plots the test error against the RMSE: its points pair panel A's errors
    # with panel C's 256-level RMSE of the same models (derived here, not read apart).
    "digitised": "values read from the vector drawing of Figure 1: +/-0.05 points (circles, diamonds), up to +/-0.6 (triangles)",
}

#: The paper's conclusions about Figure 1 (Section 4.1), each with a short key the
#: reproduction report uses.
CONCLUSIONS: dict = {
    "rbm_robust_to_quantisation": "RBM codes are the most robust to quantisation (their RMSE barely changes from 256 to 5 levels).",
    "pca_best_fine_worst_coarse": "PCA has the best RMSE at high precision (256 levels) and the worst at coarse precision (5 levels).",
    "sesm_best_tradeoff": "SESM gives the best RMSE / entropy trade-off.",
    "features_beat_raw": "Learned features beat raw pixels (except PCA).",
    "rbm_competitive_few_labels": "The RBM is competitive with few labels (10 per class).",
    "sesm_best_many_labels": "SESM is best with many labels (1000 per class).",
    "rbm_costs_more_entropy": "At the same error rate the RBM's code costs more entropy than SESM's.",
}


def figure1() -> dict:
    """A deep copy of :data:`FIGURE1` (safe to modify).

    Examples
    --------
    >>> figure1()["panel_a"]["1000"]["raw"]
    9.08
    """
    return copy.deepcopy(FIGURE1)
