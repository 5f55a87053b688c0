"""sesmlib.store: one store for every trained model and result; every model file validated
on load (checksum, shapes before allocation, finite parameters, kind and configuration)."""
from __future__ import annotations

import json
import re
import os
import stat

import pytest
import torch

from sesmlib import _utils, store
from sesmlib.pca import PCA
from sesmlib.rbm import RBM
from sesmlib.sesm import SESM

KEY = {"model": SESM(6, 3, alpha_s=0.5, seed=0, device="cpu").config, "fit": {"epochs": 1}}


def _maker(calls, seed=0):
    def make():
        calls.append(1)
        return SESM(6, 3, alpha_s=0.5, seed=seed, device="cpu"), {"loss": [1.0, 0.5]}

    return make


def test_fetch_makes_once_then_reads_with_history():
    calls = []
    made = store.fetch("sesm", KEY, _maker(calls))
    assert not made.cached and made.path.is_file() and len(calls) == 1
    again = store.fetch("sesm", KEY, _maker(calls, seed=1))
    assert again.cached and len(calls) == 1 and again.history == {"loss": [1.0, 0.5]}
    assert torch.equal(again.value.W, made.value.W)
    store.fetch("sesm", {**KEY, "fit": {"epochs": 2}}, _maker(calls))  # another key: made
    assert len(calls) == 2
    store.fetch("sesm", KEY, _maker(calls), retrain=True)
    assert len(calls) == 3


def _flip_a_byte(path, needle: bytes):
    data = bytearray(path.read_bytes())
    i = data.find(needle)
    assert i >= 0
    data[i + len(needle) // 2] ^= 0x10
    path.write_bytes(bytes(data))


def _damages():
    def truncate(payload, meta):
        payload.write_bytes(payload.read_bytes()[:100])

    def flip(payload, meta):
        W = SESM(6, 3, alpha_s=0.5, seed=0, device="cpu").W
        _flip_a_byte(payload, W.numpy().tobytes())

    def meta_not_a_dict(payload, meta):
        meta.write_text(json.dumps([1, 2, 3]))

    def meta_wrong_shape(payload, meta):
        m = json.loads(meta.read_text())
        m["history"] = {"loss": 3}
        meta.write_text(json.dumps(m))

    def meta_other_key(payload, meta):
        m = json.loads(meta.read_text())
        m["key"]["fit"] = {"epochs": 7}
        meta.write_text(json.dumps(m))

    def meta_garbage(payload, meta):
        meta.write_bytes(b"\x00\xff not json")

    def other_model(payload, meta):  # a sound file of another configuration, checksum updated
        SESM(6, 3, alpha_s=0.9, seed=0, device="cpu").save(payload)
        m = json.loads(meta.read_text())
        m["sha256"] = store._sha256(payload)
        meta.write_text(json.dumps(m))

    def nan_weights(payload, meta):
        bad = SESM(6, 3, alpha_s=0.5, seed=0, device="cpu")
        bad.W[0, 0] = float("nan")
        bad.save(payload)
        m = json.loads(meta.read_text())
        m["sha256"] = store._sha256(payload)
        meta.write_text(json.dumps(m))

    return [truncate, flip, meta_not_a_dict, meta_wrong_shape, meta_other_key, meta_garbage, other_model, nan_weights]


@pytest.mark.parametrize("damage", _damages(), ids=lambda f: f.__name__)
def test_any_damage_is_reported_and_remade(damage):
    calls = []
    made = store.fetch("sesm", KEY, _maker(calls))
    meta = made.path.with_name(made.path.name.replace(".pt", ".meta.json"))
    damage(made.path, meta)
    with pytest.warns(UserWarning, match=re.escape(made.path.name) + ".* is damaged or unreadable"):
        again = store.fetch("sesm", KEY, _maker(calls))
    assert not again.cached and len(calls) == 2 and torch.equal(again.value.W, made.value.W)
    assert store.fetch("sesm", KEY, _maker(calls)).cached  # the damaged copy was replaced


def test_a_result_whose_check_fails_is_remade():
    calls = []

    def make():
        calls.append(1)
        return {"rows": [1]}, {}

    def check(value):
        return value["rows"]  # KeyError on a result of the wrong shape

    store.fetch("figure1-search", {"n": 1}, make, check=check)
    entry = store.fetch("figure1-search", {"n": 1}, make, check=check)
    assert entry.cached and entry.value == [1]
    entry.path.write_text(json.dumps({"other": 1}))
    m = json.loads(entry.path.with_name(entry.path.name.replace(".json", ".meta.json")).read_text())
    m["sha256"] = store._sha256(entry.path)
    entry.path.with_name(entry.path.name.replace(".json", ".meta.json")).write_text(json.dumps(m))
    with pytest.warns(UserWarning, match="KeyError"):
        again = store.fetch("figure1-search", {"n": 1}, make, check=check)
    assert not again.cached and len(calls) == 2


def test_files_are_readable_as_the_umask_allows():
    old = os.umask(0o022)
    try:
        made = store.fetch("sesm", KEY, _maker([]))
    finally:
        os.umask(old)
    for f in made.path.parent.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o644, f


def test_an_unwritable_cache_folder_is_found_before_training(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SESMLIB_CACHE_DIR", str(blocker / "cache"))  # cannot be created, even by root
    events = []

    def make():
        events.append("make")
        return SESM(6, 3, alpha_s=0.5, seed=0, device="cpu"), {}

    with pytest.warns(UserWarning, match="cannot be written.*kept in memory only") as record:
        entry = store.fetch("sesm", KEY, make)
    assert events == ["make"] and len(record) == 1
    assert entry.path is None and not entry.cached and entry.value.n_code == 3


def test_unknown_kind_and_bad_key():
    with pytest.raises(ValueError, match="unknown kind"):
        store.fetch("nope", {}, lambda: (None, {}))
    with pytest.raises(TypeError, match="key"):
        store.key_of("sesm", [1])


# ------------------------------------------------------- every model class validates on load


def _models():
    X = torch.rand(20, 6, generator=torch.Generator().manual_seed(0))
    return {
        "SESM": (SESM(6, 3, seed=0, device="cpu"), "W", lambda p: SESM.load(p, device="cpu")),
        "rbm": (RBM(6, 3, seed=0, device="cpu"), "W", lambda p: RBM.load(p, device="cpu")),
        "pca": (PCA(3, device="cpu").fit(X), "components_", lambda p: PCA.load(p, device="cpu")),
    }


@pytest.mark.parametrize("name", ["SESM", "rbm", "pca"])
def test_model_load_refuses_nan_weights(tmp_path, name):
    model, attr, load = _models()[name]
    getattr(model, attr)[0, 0] = float("nan")
    model.save(tmp_path / "m.pt")
    with pytest.raises(ValueError, match="NaN"):
        load(tmp_path / "m.pt")


@pytest.mark.parametrize("name", ["SESM", "rbm", "pca"])
def test_model_load_checks_shapes_before_allocating(tmp_path, name):
    model, _, load = _models()[name]
    path = model.save(tmp_path / "m.pt")
    config, tensors = _utils.load_model(path, name)
    huge = {"SESM": ("n_visible", "n_code"), "rbm": ("n_visible", "n_hidden"), "pca": ("n_components", "n_features")}
    for k in huge[name]:
        config[k] = 10**6  # a 10^6 x 10^6 model would need terabytes
    _utils.save_model(path, name, config, tensors)  # a crafted file with a valid checksum
    with pytest.raises(ValueError, match="shape"):
        load(path)


@pytest.mark.parametrize("name", ["SESM", "rbm", "pca"])
def test_model_load_notices_a_flipped_byte(tmp_path, name):
    model, attr, load = _models()[name]
    path = model.save(tmp_path / "m.pt")
    _flip_a_byte(path, getattr(model, attr).contiguous().numpy().tobytes())
    with pytest.raises(ValueError, match="corrupt"):
        load(path)


@pytest.mark.parametrize("name", ["SESM", "rbm", "pca"])
def test_model_load_checks_kind_and_expected_config(tmp_path, name):
    models = _models()
    model, _, load = models[name]
    path = model.save(tmp_path / "m.pt")
    other = "rbm" if name != "rbm" else "pca"
    with pytest.raises(ValueError, match="model"):
        models[other][2](path)  # a file of another kind
    cls = type(model)
    key, value = next(iter(model.config.items()))
    with pytest.raises(ValueError, match="different configuration"):
        cls.load(path, device="cpu", expected_config={key: "something else"})
    assert cls.load(path, device="cpu", expected_config={key: value}).config == model.config


def test_model_file_of_an_older_format_is_refused(tmp_path):
    import io

    buf = io.BytesIO()
    torch.save({"format": "sesmlib-model-v1", "kind": "SESM", "config": "{}", "tensors": {}}, buf)
    (tmp_path / "old.pt").write_bytes(buf.getvalue())
    with pytest.raises(ValueError, match="another version"):
        SESM.load(tmp_path / "old.pt", device="cpu")


# ---- the reference results shipped with sesmlib


def test_a_reference_round_trips_and_replaces_the_older_one(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "reference_folder", lambda: tmp_path)
    first = store.save_reference("speed", {"n": 1}, {"verdict": "old"})
    store.save_reference("speed", {"n": 2}, {"verdict": "new"})
    assert not first.exists()  # one reference per kind
    got = store.load_reference("speed", {"n": 2})
    assert got.reference and got.cached and got.value == {"verdict": "new"}
    assert store.load_reference("speed", {"n": 1}) is None  # another key (or an older code version): none
    assert store.load("speed", {"n": 2}) is None  # the user's store is another place


def test_a_damaged_reference_is_named_and_not_used(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "reference_folder", lambda: tmp_path)
    payload = store.save_reference("figure1", {"n": 1}, {"rows": [1, 2, 3]})
    payload.write_text(payload.read_text().replace("3", "4"))
    with pytest.warns(UserWarning, match=re.escape(payload.name)):
        assert store.load_reference("figure1", {"n": 1}) is None


def test_references_exist_for_result_kinds_only():
    with pytest.raises(ValueError, match="ships no reference 'sesm'"):
        store.load_reference("sesm", {"n": 1})
    with pytest.raises(ValueError, match="ships no reference 'rbm'"):
        store.save_reference("rbm", {"n": 1}, {})


def test_fetch_reads_a_matching_reference_only_when_asked(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "reference_folder", lambda: tmp_path)
    store.save_reference("speed", {"n": 1}, {"verdict": "shipped"})
    calls = []
    make = lambda: (calls.append(1), ({"verdict": "made"}, {}))[1]  # noqa: E731
    got = store.fetch("speed", {"n": 1}, make, reference=True)
    assert got.reference and got.value == {"verdict": "shipped"} and not calls
    assert store.load("speed", {"n": 1}) is None  # nothing copied into the user's store
    assert store.fetch("speed", {"n": 1}, make, reference=True, retrain=True).value == {"verdict": "made"}
    assert store.fetch("speed", {"n": 1}, make).value == {"verdict": "made"} and len(calls) == 1  # the user's copy now
    assert not store.fetch("speed", {"n": 1}, make, reference=True).reference  # the user's copy comes first
