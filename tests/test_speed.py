"""sesmlib.speed: the SESM-against-RBM training-speed comparison (its checkpointed SESM
training is SESM.fit bit for bit; times to a target read between checkpoints; verdicts)."""
from __future__ import annotations

import pytest
import torch

from sesmlib import speed
from sesmlib.sesm import SESM, FitSettings


@pytest.mark.parametrize("center", [True, False])
def test_checkpointed_training_is_fit_bit_for_bit(center):
    X = torch.rand(50, 30, generator=torch.Generator().manual_seed(0)) * 0.9
    settings = FitSettings(epochs=2, seed=3, center=center, infer_steps=4)
    a, b = SESM(30, 8, seed=1, device="cpu"), SESM(30, 8, seed=1, device="cpu")
    seen = []
    speed.sesm_checkpoints(a, X, settings, [7, 50, 60, 100], lambda d, m: seen.append((d, m.W.clone())))
    b.fit(X, settings, progress=False)
    assert [d for d, _ in seen] == [7, 50, 60, 100]
    for name in ("W", "b_enc", "b_dec"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    assert not torch.equal(seen[0][1], seen[-1][1])
    with pytest.raises(ValueError, match="on-line"):
        speed.sesm_checkpoints(a, X, settings.replace(batch_size=5), [5], lambda d, m: None)


def test_time_to_a_target_is_interpolated_between_checkpoints():
    rows = [{"cpu_seconds": 1.0, "rmse": 0.5}, {"cpu_seconds": 3.0, "rmse": 0.3}, {"cpu_seconds": 5.0, "rmse": 0.35}]
    assert speed._time_to(rows, "rmse", 0.4) == pytest.approx(2.0)
    assert speed._time_to(rows, "rmse", 0.6) == 1.0  # met at the first checkpoint
    assert speed._time_to(rows, "rmse", 0.2) is None


def test_verdict_follows_the_three_comparisons():
    def rows(t, rmse, err):
        return [{"at": "", "digits": 0, "cpu_seconds": t, "rmse": rmse, "probe_error": err}]

    key = {"n_train": 10, "fit": {"epochs": 1, "infer_steps": 10, "k": 1, "batch_size": 100}}
    fast = speed._summarise(rows(1.0, 0.2, 5.0), rows(2.0, 0.2, 5.0), 0.2, key, key, 1000)
    assert fast["verdict"].startswith("confirmed")
    slow = speed._summarise(rows(3.0, 0.2, 5.0), rows(2.0, 0.2, 5.0), 0.2, key, key, 1000)
    assert slow["verdict"].startswith("refuted")
    mixed = speed._summarise([*rows(1.0, 0.24, 9.0), *rows(4.0, 0.2, 5.0)], [*rows(2.0, 0.25, 5.0)], 0.2, key, key, 1000)
    assert mixed["verdict"].startswith("mixed")
    assert mixed["comparisons"]["same_rmse"]["target"] == 0.25


def test_quick_comparison_on_mnist(mnist_dir):
    r = speed.speed_comparison(quick=True, progress=False)
    assert r["sesm"]["checkpoints"][-1]["digits"] == 2000 and len(r["rbm"]["checkpoints"]) == 1
    for name in ("sesm", "rbm"):
        cps = r[name]["checkpoints"]
        assert all(b["cpu_seconds"] >= a["cpu_seconds"] > 0 for a, b in zip(cps, cps[1:]))
        assert all(0 < c["rmse"] < 1 and 0 <= c["probe_error"] <= 100 for c in cps)
    assert r["verdict"].split(":")[0] in ("confirmed", "refuted", "mixed")
    assert speed.speed_comparison(quick=True, progress=False) == r  # read from the store
