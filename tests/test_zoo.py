"""sesmlib.zoo: trained SESMs cached by configuration and shared between notebooks."""
from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from sesmlib import zoo
from sesmlib import sesm
from sesmlib._utils import cache_dir, config_hash
from sesmlib.sesm import SESM

# Small enough for a unit test: 300 digits, 16 units, one epoch, a 50-digit probe.
TINY = dict(n_train=300, n_code=16, epochs=1)


@pytest.fixture(autouse=True)
def _small_probe(monkeypatch):
    monkeypatch.setattr(zoo, "PROBE_SIZE", 50)


def test_config_profiles_and_overrides():
    full, quick = zoo.sesm_config(0.2), zoo.sesm_config(0.2, quick=True)
    assert (full["n_train"], full["fit"]["epochs"], full["model"]["n_code"]) == (20000, 2, 200)
    assert (quick["n_train"], quick["fit"]["epochs"]) == (2000, 1)
    assert full["model"]["gain"] == 7.0 and full["model"]["alpha_r"] == 4e-4 and full["fit"]["batch_size"] == 1
    c = zoo.sesm_config(0.5, quick=True, n_train=500, epochs=3, batch_size=50)
    assert (c["n_train"], c["fit"]["epochs"], c["fit"]["batch_size"], c["model"]["alpha_s"]) == (500, 3, 50, 0.5)
    # every training setting is written out, defaults resolved (no None left), so that a
    # change of a library default changes the key
    assert set(c["fit"]) == {f.name for f in dataclasses.fields(sesm.FitSettings)}
    assert all(v is not None for v in c["fit"].values())
    assert c["fit"]["lr"] == sesm.default_lr(50) and zoo.sesm_config(0.2, lr=0.001)["fit"]["lr"] == 0.001
    # settings given as a dataclass, or as keywords: the same key
    s = sesm.FitSettings(epochs=2, batch_size=10, seed=0)
    assert zoo.sesm_config(0.2, settings=s) == zoo.sesm_config(0.2, batch_size=10)
    # different settings, different keys; same settings, same key
    keys = {config_hash(zoo.sesm_config(a, batch_size=b)) for a in (0.2, 0.5) for b in (1, 10)}
    assert len(keys) == 4 and config_hash(zoo.sesm_config(0.2)) == config_hash(zoo.sesm_config(0.2))


@pytest.mark.parametrize(
    "kwargs, exc, word",
    [
        ({"alpha_s": -1.0}, ValueError, "alpha_s"),
        ({"n_train": 0}, ValueError, "n_train"),
        ({"n_train": 70000}, ValueError, "n_train"),
        ({"epochs": 1.5}, TypeError, "epochs"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"lr": 0.0}, ValueError, "lr"),
        ({"seed": "0"}, TypeError, "seed"),
        ({"learning_rate": 0.1}, TypeError, "learning_rate"),
    ],
)
def test_config_bad_input(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        zoo.sesm_config(**kwargs)


def test_encoder_gap_is_zero_without_inference_and_positive_with_it():
    m = SESM(784, 12, seed=0, device="cpu")
    m.W = torch.randn(784, 12, generator=torch.Generator().manual_seed(1)) * 0.05
    Y = torch.rand(6, 784, generator=torch.Generator().manual_seed(2))
    g0 = zoo.encoder_gap(m, Y, steps=0)
    assert g0 == {"gap_code": 0.0, "gap_units": 0.0, "gap_loss": 0.0}
    g = zoo.encoder_gap(m, Y, steps=10, step_size=0.1)
    assert g["gap_code"] > 0 and g["gap_loss"] > 0  # inference lowers the loss below the encoder's


def test_trained_sesm_trains_once_then_loads(mnist_dir):
    first = zoo.trained_sesm(0.2, progress=False, device="cpu", **TINY)
    assert not first.cached and first.path.is_file()
    h = first.history
    assert len(h["loss"]) == 1 and h["gap_epoch"] == [0, 1]
    assert len(h["gap_code"]) == len(h["gap_units"]) == len(h["gap_loss"]) == 2
    assert h["gap_code"][1] < h["gap_code"][0]  # training pulls the encoder towards Z*
    assert first.digits_per_second > 0
    again = zoo.trained_sesm(0.2, progress=False, device="cpu", **TINY)
    assert again.cached and again.history == json.loads(json.dumps(h))
    torch.testing.assert_close(again.model.W, first.model.W, rtol=0, atol=0)
    assert again.model.alpha_s == 0.2 and again.model.n_code == 16
    # another setting is another model
    other = zoo.trained_sesm(0.5, progress=False, device="cpu", **TINY)
    assert not other.cached and other.path != first.path


def test_corrupt_cache_entry_is_retrained(mnist_dir):
    run = zoo.trained_sesm(0.2, progress=False, device="cpu", **TINY)
    run.path.write_bytes(b"not a model")
    with pytest.warns(UserWarning, match="damaged"):
        again = zoo.trained_sesm(0.2, progress=False, device="cpu", **TINY)
    assert not again.cached
    torch.testing.assert_close(again.model.W, run.model.W)  # same seed, same model
    assert zoo.trained_sesm(0.2, progress=False, device="cpu", **TINY).cached


def test_sweep_shares_the_cache_with_single_models(mnist_dir):
    single = zoo.trained_sesm(0.2, progress=False, device="cpu", **TINY)
    runs = zoo.trained_sweep((1.0, 0.2, 0.05), progress=False, device="cpu", **TINY)
    assert list(runs) == [1.0, 0.2, 0.05]
    assert runs[0.2].cached and not runs[1.0].cached and not runs[0.05].cached
    for a, r in runs.items():
        assert r.model.alpha_s == a and r.history["gap_epoch"] == [0, 1]
    # a sweep model is the model trained alone, within float rounding
    alone = zoo.trained_sesm(1.0, progress=False, device="cpu", retrain=True, **TINY)
    torch.testing.assert_close(runs[1.0].model.W, alone.model.W, rtol=1e-4, atol=1e-5)
    # more sparsity, fewer active units
    assert runs[1.0].history["active"][-1] < runs[0.05].history["active"][-1]
    assert all(r.cached for r in zoo.trained_sweep((1.0, 0.2, 0.05), progress=False, device="cpu", **TINY).values())
    assert len(list(cache_dir("store").glob("sesm-*.pt"))) == 3


def test_sweep_bad_alphas():
    with pytest.raises(ValueError, match="alphas"):
        zoo.trained_sweep((), progress=False)
    with pytest.raises(ValueError, match="alphas"):
        zoo.trained_sweep((0.2, 0.2), progress=False)
    with pytest.raises(ValueError, match="alphas"):
        zoo.trained_sweep((0.2, -1.0), progress=False)


def test_rbm_and_pca_are_stored_once(mnist_dir):
    rbm = zoo.trained_rbm(n_train=200, epochs=1, progress=False, device="cpu")
    assert not rbm.cached and rbm.model.n_hidden == 200 and rbm.config["fit"]["epochs"] == 1
    again = zoo.trained_rbm(n_train=200, epochs=1, progress=False, device="cpu")
    assert again.cached and torch.equal(again.model.W, rbm.model.W)
    assert zoo.rbm_config(quick=True)["fit"]["epochs"] == 1 and zoo.rbm_config()["fit"]["epochs"] == 25
    pca = zoo.trained_pca(n_train=300, n_components=5, device="cpu")
    assert not pca.cached and zoo.trained_pca(n_train=300, n_components=5, device="cpu").cached


def test_the_sweep_and_a_lone_fit_give_the_same_bits_on_line(mnist_dir):
    # on-line on the cpu the sweep trains each model alone: the store holds one model per
    # key, whichever function trained it first
    a = zoo.trained_sweep([0.5, 0.2], quick=True, device="cpu", progress=False, n_train=200, infer_steps=2)
    lone = zoo.trained_sesm(0.2, quick=True, device="cpu", progress=False, n_train=200, infer_steps=2, retrain=True)
    assert torch.equal(a[0.2].model.W, lone.model.W) and torch.equal(a[0.2].model.b_enc, lone.model.b_enc)
    assert a[0.2].config == lone.config


def _no_time(history: dict) -> dict:
    return {k: v for k, v in history.items() if k != "time"}  # wall-clock seconds differ


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sweep_stores_what_trained_sesm_stores(mnist_dir, monkeypatch, tmp_path, workers):
    # on-line on the cpu the sweep trains its models in this process (1) or in worker
    # processes (2); either way each stored model and its history (the encoder gap measured
    # before training and after each epoch included) are trained_sesm's, bit for bit
    monkeypatch.setenv("SESMLIB_WORKERS", workers)
    kw = dict(device="cpu", progress=False, n_train=200, n_code=16, epochs=2)
    monkeypatch.setenv("SESMLIB_CACHE_DIR", str(tmp_path / "sweep"))
    runs = zoo.trained_sweep([0.5, 0.1], **kw)
    monkeypatch.setenv("SESMLIB_CACHE_DIR", str(tmp_path / "lone"))
    for a, run in runs.items():
        lone = zoo.trained_sesm(a, retrain=True, **kw)
        assert not run.cached and not lone.cached and run.config == lone.config
        for name in ("W", "b_enc", "b_dec"):
            assert torch.equal(getattr(run.model, name), getattr(lone.model, name)), (a, name)
        assert list(run.history) == list(lone.history)
        assert _no_time(run.history) == _no_time(lone.history)
        assert run.history["gap_epoch"] == [0, 1, 2] and len(run.history["time"]) == 2
    assert not torch.equal(runs[0.5].model.W, runs[0.1].model.W)
