"""sesmlib.evaluate: quantisation, entropy, RMSE and the linear-classifier protocol,
on hand-made inputs whose answers are known."""
from __future__ import annotations

import math

import pytest
import torch

from sesmlib import evaluate as ev


# ----------------------------------------------------------------------- quantisation


def test_quantize_levels_include_both_ends():
    codes = torch.tensor([[0.0, 0.1, 0.13, 0.5, 0.62, 0.88, 1.0]])
    q = ev.quantize(codes, 5, 0.0, 1.0)
    assert q.index.tolist() == [[0, 0, 1, 2, 2, 4, 4]]
    assert torch.allclose(q.value, torch.tensor([[0.0, 0.0, 0.25, 0.5, 0.5, 1.0, 1.0]]))
    assert q.index.dtype == torch.int64 and q.value.dtype == codes.dtype


def test_quantize_bins_mode_uses_bin_centres():
    codes = torch.tensor([[0.0, 0.19, 0.21, 0.99, 1.0]])
    q = ev.quantize(codes, 5, 0.0, 1.0, mode="bins")
    assert q.index.tolist() == [[0, 0, 1, 4, 4]]
    assert torch.allclose(q.value, torch.tensor([[0.1, 0.1, 0.3, 0.9, 0.9]]))


def test_quantize_clamps_outside_range_and_symmetric_range():
    codes = torch.tensor([[-5.0, -1.0, 0.0, 1.0, 2.0]])
    lo, hi = ev.symmetric_range(codes)
    assert (lo, hi) == (-5.0, 5.0)
    q = ev.quantize(codes, 3, -1.0, 1.0)
    assert q.index.tolist() == [[0, 0, 1, 2, 2]]
    assert q.value.tolist() == [[-1.0, -1.0, 0.0, 1.0, 1.0]]


def test_quantize_256_levels_error_is_at_most_half_a_step():
    codes = torch.rand(50, 20, generator=torch.Generator().manual_seed(0))
    q = ev.quantize(codes, 256, 0.0, 1.0)
    assert float((q.value - codes).abs().max()) <= 0.5 / 255 + 1e-7


# ---------------------------------------------------------------------------- entropy


@pytest.mark.parametrize("Q", [2, 5, 16, 256])
def test_uniform_codes_give_log2_Q_bits_per_unit(Q):
    # every level used equally often, pooled over units and samples
    index = torch.arange(Q * 8).remainder(Q).view(-1, 4)  # (2Q, 4)
    assert ev.entropy_bits(index, Q) == pytest.approx(math.log2(Q), abs=1e-12)
    # bits per pixel = (M / N) H
    assert ev.bits_per_pixel(index, Q, n_pixels=16) == pytest.approx(math.log2(Q) * 4 / 16, abs=1e-12)


def test_entropy_of_a_constant_code_is_zero_and_of_a_skewed_one_by_hand():
    assert ev.entropy_bits(torch.zeros(7, 3, dtype=torch.long), 5) == 0.0
    # 3 of 4 entries at level 0, 1 at level 1: H = -(3/4 log2 3/4 + 1/4 log2 1/4)
    index = torch.tensor([[0, 0], [0, 1]])
    expect = -(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25))
    assert ev.entropy_bits(index, 256) == pytest.approx(expect, abs=1e-12)


def test_entropy_is_pooled_not_per_unit():
    # unit 0 always level 0, unit 1 always level 1: each unit has zero entropy on its own,
    # the pooled histogram has two equally likely levels -> 1 bit
    index = torch.tensor([[0, 1]] * 6)
    assert ev.entropy_bits(index, 2) == pytest.approx(1.0)


# ------------------------------------------------------------------------------- rmse


def test_rmse_by_hand_and_sigma_readings():
    Y = torch.tensor([[0.0, 1.0, 0.0, 1.0]])
    Y_hat = Y + torch.tensor([[0.1, -0.1, 0.3, -0.3]])
    raw = math.sqrt((0.01 + 0.01 + 0.09 + 0.09) / 4)
    std = float(Y.double().std())
    assert ev.rmse(Y, Y_hat, sigma=1.0) == pytest.approx(raw)
    assert ev.rmse(Y, Y_hat, sigma="std") == pytest.approx(raw / std)
    assert ev.rmse(Y, Y_hat, sigma="paper") == pytest.approx(raw / math.sqrt(std))
    assert ev.rmse(Y, Y_hat, sigma="var") == pytest.approx(raw / std**2)
    assert ev.rmse(Y, Y, sigma="paper") == 0.0


def test_sigma_paper_reading_on_mnist_like_scale():
    # pixels with std 0.31 (MNIST): the "paper" sigma is 1.8x the std, so its RMSE is
    # 1.8x smaller than RMSE/std, as the paper's PCA points are relative to ours
    g = torch.Generator().manual_seed(0)
    Y = (torch.rand(1000, 784, generator=g) < 0.13).float()
    r_std = ev.rmse(Y, Y * 0.9, sigma="std")
    r_paper = ev.rmse(Y, Y * 0.9, sigma="paper")
    std = float(Y.double().std())
    assert r_std / r_paper == pytest.approx(1 / math.sqrt(std), rel=1e-9)


# ------------------------------------------------------------------------ classifier


def _separable(n=400, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]])
    y = torch.arange(n) % 3
    X = centres[y] + 0.5 * torch.randn(n, 2, generator=g)
    return X, y


def test_sample_draws_are_balanced_reproducible_and_differ_between_draws():
    y = torch.arange(300) % 3
    d1 = ev.sample_draws(y, 20, n_draws=4, seed=1)
    d2 = ev.sample_draws(y, 20, n_draws=4, seed=1)
    assert d1.shape == (4, 60)
    assert torch.equal(d1, d2)
    for row in d1:
        assert torch.bincount(y[row], minlength=3).tolist() == [20, 20, 20]
        assert len(set(row.tolist())) == 60  # without replacement
    assert not torch.equal(d1[0].sort().values, d1[1].sort().values)
    assert not torch.equal(d1, ev.sample_draws(y, 20, n_draws=4, seed=2))


@pytest.mark.parametrize("output", ["logistic", "linear", "tanh"])
def test_classifier_on_linearly_separable_toy_set_is_near_perfect(output):
    X, y = _separable()
    Xte, yte = _separable(seed=1)
    draws = ev.sample_draws(y, 30, n_draws=5, seed=0)
    targets = (-1.0, 1.0) if output == "tanh" else (0.0, 1.0)
    proto = ev.ClassifierProtocol(output=output, lr=0.005, epochs=50, targets=targets, ridge=1e-4)
    r = ev.linear_classifier(X, y, Xte, yte, draws, protocol=proto)
    assert r["test_error"]["mean"] < 1.0
    assert r["train_error"]["mean"] < 1.0
    assert len(r["test_errors"]) == 5 and r["n_train"] == 90


def test_classifier_errors_are_measured_not_assumed():
    # labels unrelated to the features: test error must be near chance (66.7 % for 3 classes)
    X, _ = _separable(900)
    y = torch.randint(0, 3, (900,), generator=torch.Generator().manual_seed(3))
    draws = ev.sample_draws(y, 30, n_draws=3, seed=0)
    r = ev.linear_classifier(X, y, X, y, draws, protocol=ev.ClassifierProtocol(epochs=20, lr=0.01))
    assert 55 < r["test_error"]["mean"] < 78


def test_batched_draws_equal_one_by_one():
    X, y = _separable(300)
    draws = ev.sample_draws(y, 10, n_draws=3, seed=0)
    proto = ev.ClassifierProtocol(epochs=10, batch_size=7, ridge=1e-3, lr=0.05)
    together = ev.linear_classifier(X, y, X, y, draws, protocol=proto)
    for k in range(3):
        alone = ev.linear_classifier(X, y, X, y, draws[k:k + 1], protocol=proto)
        assert alone["test_errors"][0] == pytest.approx(together["test_errors"][k], abs=1e-9)


def test_ridge_shrinks_the_weights():
    X, y = _separable(300)
    draws = ev.sample_draws(y, 20, n_draws=1, seed=0)
    Xd = X[draws]
    T = torch.nn.functional.one_hot(y[draws], 3).float()
    W0, _ = ev.train_linear_classifiers(Xd, T, ev.ClassifierProtocol(epochs=30, lr=0.01, ridge=0.0))
    W1, _ = ev.train_linear_classifiers(Xd, T, ev.ClassifierProtocol(epochs=30, lr=0.01, ridge=0.1))
    assert float(W1.norm()) < 0.8 * float(W0.norm())


# ------------------------------------------------------------------------ bad input


def test_bad_inputs_give_clear_errors():
    good = torch.rand(4, 3)
    with pytest.raises(ValueError, match="codes.*NaN"):
        ev.quantize(torch.tensor([[0.1, float("nan")]]), 5)
    with pytest.raises(ValueError, match="n_bins must be at least 2"):
        ev.quantize(good, 1)
    with pytest.raises(TypeError, match="n_bins"):
        ev.quantize(good, 2.5)
    with pytest.raises(ValueError, match="hi must be larger than lo"):
        ev.quantize(good, 5, 1.0, 0.0)
    with pytest.raises(ValueError, match="mode"):
        ev.quantize(good, 5, mode="round")
    with pytest.raises(ValueError, match="n_bins must be at least 2"):
        ev.entropy_bits(torch.zeros(2, 2, dtype=torch.long), 1)
    with pytest.raises(ValueError, match="index values must lie in 0..4"):
        ev.entropy_bits(torch.tensor([[0, 5]]), 5)
    with pytest.raises(TypeError, match="index must hold integer"):
        ev.entropy_bits(torch.rand(2, 2), 5)
    with pytest.raises(ValueError, match="same shape"):
        ev.rmse(good, torch.rand(4, 2))
    with pytest.raises(ValueError, match="Y_hat.*NaN"):
        ev.rmse(good, torch.full((4, 3), float("nan")))
    with pytest.raises(ValueError, match="sigma must be one of"):
        ev.rmse(good, good, sigma="mad")
    with pytest.raises(ValueError, match="sigma must be > 0"):
        ev.rmse(good, good, sigma=0.0)


def test_bad_classifier_inputs_give_clear_errors():
    X, y = _separable(60)
    with pytest.raises(ValueError, match="n_per_class=25 is larger than the 20 samples of class 0"):
        ev.sample_draws(y, 25)
    with pytest.raises(TypeError, match="labels must hold integer"):
        ev.sample_draws(y.float(), 5)
    draws = ev.sample_draws(y, 5, n_draws=2)
    with pytest.raises(ValueError, match="train_codes.*NaN"):
        ev.linear_classifier(torch.full_like(X, float("nan")), y, X, y, draws)
    with pytest.raises(ValueError, match="test_codes must have 2 columns"):
        ev.linear_classifier(X, y, torch.rand(5, 3), y[:5], draws)
    with pytest.raises(ValueError, match="train_labels has 59 labels"):
        ev.linear_classifier(X, y[:59], X, y, draws)
    with pytest.raises(ValueError, match="draws index rows outside"):
        ev.linear_classifier(X[:10], y[:10], X, y, draws)
    with pytest.raises(ValueError, match="output must be"):
        ev.ClassifierProtocol(output="softplus")
    with pytest.raises(ValueError, match="lr must be > 0"):
        ev.ClassifierProtocol(lr=0.0)


def test_divergence_is_reported():
    X, y = _separable(60)
    draws = ev.sample_draws(y, 5, n_draws=1)
    with pytest.raises(FloatingPointError, match="diverged"):
        ev.linear_classifier(X * 1e3, y, X, y, draws,
                             protocol=ev.ClassifierProtocol(output="linear", lr=1.0, epochs=50, batch_size=5))


def test_methods_batched_together_equal_one_by_one():
    X, y = _separable(300)
    draws = ev.sample_draws(y, 10, n_draws=2, seed=0)
    proto = ev.ClassifierProtocol(epochs=10, lr=0.01)
    feats = {"a": (X, X), "b": (X * 0.5 + 1, X * 0.5 + 1), "c3": (torch.cat([X, X[:, :1]], 1),) * 2}
    together = ev.linear_classifiers(feats, y, y, draws, protocol=proto)
    assert list(together) == ["a", "b", "c3"]
    for name, (tr, te) in feats.items():
        alone = ev.linear_classifier(tr, y, te, y, draws, protocol=proto)
        assert alone["test_errors"] == pytest.approx(together[name]["test_errors"], abs=1e-9)
        assert alone["train_errors"] == pytest.approx(together[name]["train_errors"], abs=1e-9)


# ------------------------------------------------------- the paper protocol's normalisation


def test_normalised_protocol_does_not_depend_on_the_features_scale():
    X, y = _separable(300)
    draws = ev.sample_draws(y, 20, n_draws=2, seed=0)
    proto = ev.ClassifierProtocol(epochs=10, lr=0.05, ridge=1e-6, normalise=True)
    a = ev.linear_classifier(X, y, X, y, draws, protocol=proto)
    b = ev.linear_classifier(X * 8.0, y, X * 8.0, y, draws, protocol=proto)  # a power of 2: exact in floats
    assert a["test_errors"] == b["test_errors"] and a["train_errors"] == b["train_errors"]
    # without it the step is in the features' units: shorter vectors, a different (slower) fit
    raw = ev.ClassifierProtocol(epochs=10, lr=0.05, ridge=1e-6)
    c = ev.linear_classifier(X / 8.0, y, X / 8.0, y, draws, protocol=raw)
    d = ev.linear_classifier(X, y, X, y, draws, protocol=raw)
    assert c["train_errors"] != d["train_errors"] or c["test_errors"] != d["test_errors"]


def test_paper_protocol_is_the_documented_one():
    p = ev.PAPER_PROTOCOL
    assert (p.output, p.epochs, p.lr, p.ridge, p.normalise, p.batch_size) == ("logistic", 100, 0.03, 1e-6, True, None)


# ------------------------------------------------------------------------- the probe


def _digits_like(n=600, d=20, k=4, seed=0):
    centres = torch.randn(k, d, generator=torch.Generator().manual_seed(99)) * 1.5
    y = torch.arange(n) % k
    X = centres[y] + torch.randn(n, d, generator=torch.Generator().manual_seed(seed))
    return X.abs(), y  # non-negative, overlapping classes: not separable


def test_fit_logistic_matches_scikit_learn():
    sk = pytest.importorskip("sklearn.linear_model")
    X, y = _digits_like()
    Xc = X - X.mean(0)
    for lam in (1e-1, 1e-3):
        W, b, info = ev.fit_logistic(Xc[None].double(), y[None], torch.tensor([lam]), 4, tol=1e-9, max_iter=5000)
        assert info["converged"]
        clf = sk.LogisticRegression(C=1.0 / (lam * len(y)), tol=1e-12, max_iter=10000).fit(Xc.double().numpy(), y.numpy())
        # the same objective has one minimiser: weights equal up to a shift shared by the classes
        Ws, Wt = torch.tensor(clf.coef_.T), W[0]
        torch.testing.assert_close(Wt - Wt.mean(1, keepdim=True), Ws - Ws.mean(1, keepdim=True), rtol=1e-4, atol=1e-5)
        pred = (Xc.double() @ Wt + b[0]).argmax(1)
        assert (pred.numpy() == clf.predict(Xc.double().numpy())).all()


def test_probe_agrees_with_scikit_learn_at_the_chosen_strength():
    sk = pytest.importorskip("sklearn.linear_model")
    X, y = _digits_like(900, seed=1)
    Xte, yte = _digits_like(900, seed=5)
    draws = ev.sample_draws(y, 40, n_draws=2, seed=0)
    r = ev.probe_classifiers({"x": (X, Xte)}, y, yte, draws)["x"]
    assert r["converged"] and len(r["lambda"]) == 2
    for j in range(2):
        Xd, yd = X[draws[j]], y[draws[j]]
        s = float(Xd.pow(2).sum(1).mean().sqrt())
        clf = sk.LogisticRegression(C=1.0 / (r["lambda"][j] * len(yd)), tol=1e-10, max_iter=10000)
        clf.fit((Xd / s).double().numpy(), yd.numpy())
        err = 100.0 * float((torch.tensor(clf.predict((Xte / s).double().numpy())) != yte).double().mean())
        assert r["test_errors"][j] == pytest.approx(err, abs=0.25)  # at most 2 of 900 test points differ


def test_probe_chooses_its_strength_without_the_test_labels():
    X, y = _digits_like(600, seed=2)
    draws = ev.sample_draws(y, 30, n_draws=2, seed=0)
    a = ev.probe_classifiers({"x": (X, X)}, y, y, draws)["x"]
    shuffled = y[torch.randperm(len(y), generator=torch.Generator().manual_seed(0))]
    b = ev.probe_classifiers({"x": (X, X)}, y, shuffled, draws)["x"]
    assert a["lambda"] == b["lambda"] and a["train_errors"] == b["train_errors"]
    assert b["test_error"]["mean"] > a["test_error"]["mean"] + 20  # the test labels matter only to the test error


def test_probe_draws_together_equal_one_by_one_and_scale_does_not_matter():
    X, y = _digits_like(600, seed=3)
    draws = ev.sample_draws(y, 30, n_draws=2, seed=0)
    both = ev.probe_classifiers({"x": (X, X)}, y, y, draws)["x"]
    for j in range(2):
        one = ev.probe_classifiers({"x": (X, X)}, y, y, draws[j:j + 1])["x"]
        assert one["lambda"][0] == both["lambda"][j]
        assert one["test_errors"][0] == pytest.approx(both["test_errors"][j], abs=0.34)
    scaled = ev.probe_classifiers({"x": (4.0 * X, 4.0 * X)}, y, y, draws)["x"]
    assert scaled["lambda"] == both["lambda"] and scaled["test_errors"] == pytest.approx(both["test_errors"], abs=0.34)


def test_probe_cross_validates_large_draws_on_their_own_grid():
    X, y = _digits_like(600, seed=6)
    draws = ev.sample_draws(y, 75, n_draws=2, seed=0)  # 4 classes: 300 samples per draw
    wide = ev.ProbeProtocol(lambdas=(1e-1, 1e-4), large_n=None)
    assert wide.grid(300) == (3, (1e-1, 1e-4))
    small = ev.probe_classifiers({"x": (X, X)}, y, y, draws, protocol=wide)["x"]
    large = ev.ProbeProtocol(lambdas=(1e-1, 1e-4), large_n=300, large_lambdas=(3e-3,), large_folds=2)
    assert large.grid(299) == (3, (1e-1, 1e-4)) and large.grid(300) == (2, (3e-3,))
    big = ev.probe_classifiers({"x": (X, X)}, y, y, draws, protocol=large)["x"]
    assert all(v == pytest.approx(1e-1) or v == pytest.approx(1e-4) for v in small["lambda"])
    assert big["lambda"] == pytest.approx([3e-3, 3e-3])
    with pytest.raises(ValueError, match="large_folds must be at least 2"):
        ev.ProbeProtocol(large_folds=1)
    with pytest.raises(ValueError, match="large_lambdas"):
        ev.ProbeProtocol(large_lambdas=(1e-3, -1.0))
    assert ev.protocol_from_dict(large.as_dict()) == large


def test_classify_runs_either_protocol_by_name():
    X, y = _digits_like(400, seed=4)
    draws = ev.sample_draws(y, 20, n_draws=1, seed=0)
    paper = ev.classify({"x": (X, X)}, y, y, draws, protocol=ev.ClassifierProtocol(epochs=5, lr=0.03, normalise=True))
    probe = ev.classify({"x": (X, X)}, y, y, draws, protocol="probe")
    assert "lambda" in probe["x"] and "lambda" not in paper["x"]
    with pytest.raises(ValueError, match="protocol must be one of"):
        ev.classify({"x": (X, X)}, y, y, draws, protocol="svm")
    with pytest.raises(ValueError, match="folds must be at least 2"):
        ev.ProbeProtocol(folds=1)
    with pytest.raises(ValueError, match="lambdas"):
        ev.ProbeProtocol(lambdas=())
    assert ev.protocol_from_dict(ev.PROBE_PROTOCOL.as_dict()) == ev.PROBE_PROTOCOL
