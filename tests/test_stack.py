"""Tests for sesmlib.stack: the second SESM stage, back-projection, the unit/digit table,
and the natural-patch model."""
from __future__ import annotations


import pytest
import torch

from sesmlib import SESM
from sesmlib.stack import (
    back_project,
    first_stage_codes,
    fit_second_stage,
    fit_second_stage_seeds,
    unit_digit_table,
)


def _set(model, W=None, b_enc=None, b_dec=None):
    """Give a model hand-chosen parameters."""
    with torch.no_grad():
        for name, value in (("W", W), ("b_enc", b_enc), ("b_dec", b_dec)):
            if value is not None:
                getattr(model, name).copy_(torch.as_tensor(value, dtype=getattr(model, name).dtype))
    return model


# ------------------------------------------------------------------- back-projection


def _hand_stack():
    # first stage: N = 3 pixels, M1 = 2 codes; second stage: M1 = 2 -> K = 2 units
    first = _set(SESM(3, 2, seed=0, device="cpu"), W=[[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]], b_dec=[0.1, 0.2, 0.3])
    second = _set(SESM(2, 2, seed=0, device="cpu"), W=[[0.5, 2.0], [-0.25, 0.5]], b_dec=[0.25, 0.0])
    return first, second


def test_back_project_decode_matches_hand_computation():
    first, second = _hand_stack()
    # unit 0: C = W2[:,0] + b2 = [0.75, -0.25] -> clipped [0.75, 0]; Y = W1 C + b1 = [0.85, 0.2, 1.05]
    # unit 1: C = [2.25, 0.5] -> clipped [1, 0.5];                  Y = [1.1, 1.2, 1.8]
    Y = back_project(first, second)
    torch.testing.assert_close(Y, torch.tensor([[0.85, 0.2, 1.05], [1.1, 1.2, 1.8]]))
    # without clipping the raw second-decoder output goes through
    Y = back_project(first, second, clip=False)
    torch.testing.assert_close(Y, torch.tensor([[0.85, -0.3, 0.8], [2.35, 1.2, 3.05]]))


def test_back_project_linear_is_composed_filters():
    first, second = _hand_stack()
    torch.testing.assert_close(back_project(first, second, mode="linear"), (first.W @ second.W).T)


def test_back_project_bad_input():
    first, second = _hand_stack()
    with pytest.raises(ValueError, match="mode"):
        back_project(first, second, mode="pixels")
    with pytest.raises(ValueError, match="code units"):
        back_project(first, SESM(5, 2, seed=0, device="cpu"))
    with pytest.raises(TypeError, match="SESM"):
        back_project(first, "not a model")


# ------------------------------------------------------------------ unit/digit table


def test_unit_digit_table_counts_majority_purity():
    # first stage ~ thresholding each pixel; second stage unit j looks at first-stage code j,
    # unit 2 looks at nothing useful (never wins)
    first = _set(SESM(3, 3, seed=0, device="cpu"), W=10 * torch.eye(3), b_enc=[-5.0, -5.0, -5.0])
    second = _set(SESM(3, 3, seed=0, device="cpu"), W=[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]],
                  b_enc=[0.0, 0.0, -1.0])
    X = torch.tensor([[1.0, 0, 0]] * 4 + [[0, 1.0, 0]] * 3)
    labels = torch.tensor([7, 7, 7, 1, 4, 4, 3])
    t = unit_digit_table(first, second, X, labels)
    expected = torch.zeros(3, 10, dtype=torch.long)
    expected[0, 7], expected[0, 1], expected[1, 4], expected[1, 3] = 3, 1, 2, 1
    assert torch.equal(t["counts"], expected)
    assert t["majority"].tolist() == [7, 4, -1]
    torch.testing.assert_close(t["purity"], torch.tensor([0.75, 2 / 3, 0.0], dtype=torch.float64))
    torch.testing.assert_close(t["usage"], torch.tensor([4 / 7, 3 / 7, 0.0], dtype=torch.float64))
    assert t["digits_found"] == [4, 7]
    assert t["accuracy"] == pytest.approx(5 / 7)


def test_unit_digit_table_bad_labels():
    first, second = SESM(4, 3, seed=0, device="cpu"), SESM(3, 2, seed=0, device="cpu")
    X = torch.rand(5, 4)
    with pytest.raises(ValueError, match="labels"):
        unit_digit_table(first, second, X, torch.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="labels"):
        unit_digit_table(first, second, X, torch.zeros(5))
    with pytest.raises(ValueError, match="labels"):
        unit_digit_table(first, second, X, torch.tensor([0, 1, 2, 3, 10]))
    with pytest.raises(ValueError, match="X"):
        unit_digit_table(first, second, torch.rand(5, 7), torch.zeros(5, dtype=torch.long))


# ----------------------------------------------------------------- the second stage


def test_first_stage_codes_is_chunked_code():
    first = SESM(6, 4, seed=3, device="cpu")
    X = torch.rand(10, 6)
    C = first_stage_codes(first, X, batch_size=3)
    torch.testing.assert_close(C, first.code(X))
    assert float(C.min()) >= 0 and float(C.max()) <= 1
    with pytest.raises(ValueError, match="X"):
        first_stage_codes(first, torch.rand(10, 5))


def _clustered(n=240, n_pix=20, seed=0):
    """Three well separated binary prototypes with a little noise."""
    g = torch.Generator().manual_seed(seed)
    protos = torch.zeros(3, n_pix)
    for k in range(3):
        protos[k, k * 6 : k * 6 + 6] = 1.0
    labels = torch.arange(n) % 3
    X = (protos[labels] + 0.05 * torch.randn(n, n_pix, generator=g)).clamp(0, 1)
    return X, labels


def test_fit_second_stage_trains_on_codes_and_caches():
    X, _ = _clustered()
    first = SESM(X.shape[1], 8, seed=0, device="cpu")
    kw = dict(n_code=3, epochs=2, batch_size=20, progress=False)
    second, history = fit_second_stage(first, X, seed=1, **kw)
    assert second.W.shape == (8, 3)
    assert (second.n_visible, second.n_code, second.alpha_s, second.gain) == (8, 3, 1.0, 7.0)
    assert history is not None
    # cached: same settings give the same model without training
    again, history2 = fit_second_stage(first, X, seed=1, **kw)
    assert history2 is None
    torch.testing.assert_close(again.W, second.W)
    # another seed, or another first stage, is another model
    other, history3 = fit_second_stage(first, X, seed=2, **kw)
    assert history3 is not None and not torch.allclose(other.W, second.W)
    _, history4 = fit_second_stage(SESM(X.shape[1], 8, seed=5, device="cpu"), X, seed=1, **kw)
    assert history4 is not None


def test_stack_finds_prototypes_without_labels():
    """Three prototypes, a 6-unit second stage on a trained first stage's codes: most seeds
    give every prototype a unit of its own (some initialisations miss one, as the paper
    says of the "4"), the units split the data by prototype, and each used unit's
    back-projection looks most like its own prototype."""
    X, labels = _clustered(n=300)
    first = SESM(X.shape[1], 12, seed=0, device="cpu")
    first.fit(X, epochs=3, batch_size=1, seed=0, progress=False)
    seconds = fit_second_stage_seeds(first, X, [0, 1, 2], n_code=6, epochs=3, batch_size=1, cache=False,
                                     progress=False)
    protos = torch.stack([X[labels == k].mean(0) for k in range(3)])  # (3, 20)
    found_all = 0
    for second in seconds:
        table = unit_digit_table(first, second, X, labels, n_classes=3)
        if table["digits_found"] != [0, 1, 2]:
            continue
        found_all += 1
        assert table["accuracy"] > 0.95
        used = table["majority"] >= 0
        images = back_project(first, second)[used]  # (used, 20)
        corr = torch.corrcoef(torch.cat([images, protos]))[: len(images), len(images):]  # unit x prototype
        assert torch.equal(corr.argmax(dim=1), table["majority"][used]), corr
    assert found_all >= 2


def test_fit_second_stage_seeds_one_model_per_seed():
    X, _ = _clustered(n=60)
    first = SESM(X.shape[1], 6, seed=0, device="cpu")
    models = fit_second_stage_seeds(first, X, [0, 1, 2], n_code=2, epochs=1, batch_size=20, cache=False, progress=False)
    assert len(models) == 3
    assert not torch.allclose(models[0].W, models[1].W)
    with pytest.raises(ValueError, match="seeds"):
        fit_second_stage_seeds(first, X, [])


def test_fit_second_stage_bad_settings():
    X, _ = _clustered(n=20)
    first = SESM(X.shape[1], 6, seed=0, device="cpu")
    with pytest.raises(ValueError, match="n_code"):
        fit_second_stage(first, X, n_code=0, cache=False)
    with pytest.raises(ValueError, match="alpha_s"):
        fit_second_stage(first, X, alpha_s=-1.0, cache=False)
    with pytest.raises(TypeError, match="SESM"):
        fit_second_stage(object(), X, cache=False)


def test_corrupt_cache_file_is_retrained():
    from sesmlib._utils import cache_dir

    X, _ = _clustered(n=40)
    first = SESM(X.shape[1], 6, seed=0, device="cpu")
    kw = dict(n_code=2, epochs=1, batch_size=20, progress=False)
    fit_second_stage(first, X, **kw)
    files = list(cache_dir("store").glob("sesm-stage2-*.pt"))
    assert len(files) == 1
    files[0].write_bytes(b"not a model")
    with pytest.warns(UserWarning, match="damaged"):
        model, history = fit_second_stage(first, X, **kw)
    assert history is not None and model.W.shape == (6, 2)


# ------------------------------------------------------------ the notebook-07 check


def _right(W1, b_dec1, W2, b_dec2):
    return (W2.T + b_dec2).clamp(0, 1) @ W1.T + b_dec1


@pytest.mark.parametrize(
    "wrong, why",
    [
        (lambda W1, b1, W2, b2: (W2.T + b2) @ W1.T + b1, "no clipping"),
        (lambda W1, b1, W2, b2: torch.sigmoid(7 * (W2.T + b2)) @ W1.T + b1, "logistic applied twice"),
        (lambda W1, b1, W2, b2: W2.T.clamp(0, 1) @ W1.T + b1, "second decoder bias forgotten"),
        (lambda W1, b1, W2, b2: (W2.T + b2).clamp(0, 1) @ W1.T, "first decoder bias forgotten"),
        (lambda W1, b1, W2, b2: (W2 + b2).clamp(0, 1) @ W1.T + b1, "W2 not transposed"),
        (lambda W1, b1, W2, b2: ((W2.T + b2).clamp(0, 1) @ W1.T + b1).float(), "dtype not kept"),
        (lambda W1, b1, W2, b2: None, "returns None"),
    ],
)
def test_check_back_project_rejects_wrong_answers(capsys, wrong, why):
    from sesmlib.checks import check_back_project

    assert not check_back_project(wrong), why
    out = capsys.readouterr().out
    assert "❌" in out and "Traceback" not in out


def test_check_back_project_accepts_right_answer_and_stub(capsys):
    from sesmlib.checks import check_back_project

    assert check_back_project(_right)
    assert "✅" in capsys.readouterr().out

    def stub(W1, b_dec1, W2, b_dec2):
        raise NotImplementedError("Exercise: write it")

    assert not check_back_project(stub)
    assert "not done yet" in capsys.readouterr().out


def test_check_back_project_reference_is_the_library():
    first, second = _hand_stack()
    torch.testing.assert_close(_right(first.W, first.b_dec, second.W, second.b_dec), back_project(first, second))


def test_cache_key_holds_every_fit_setting():
    X, _ = _clustered(n=40)
    first = SESM(X.shape[1], 6, seed=0, device="cpu")
    fit_second_stage(first, X, n_code=2, epochs=1, batch_size=20, progress=False)
    _, history = fit_second_stage(first, X, n_code=2, epochs=1, batch_size=20, infer_steps=7, progress=False)
    assert history is not None  # another inference setting: trained, not loaded
