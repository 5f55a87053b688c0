"""The shared helpers every module leans on: argument checks, atomic writes, model files."""
from __future__ import annotations

import os

import pytest
import torch

from sesmlib import _utils as U


def test_check_positive_int():
    assert U.check_positive_int("n", 3) == 3
    for bad, err in [(0, ValueError), (-2, ValueError), (2.0, TypeError), (True, TypeError), ("3", TypeError)]:
        with pytest.raises(err, match="n must be a positive integer"):
            U.check_positive_int("n", bad)


def test_check_nonnegative():
    assert U.check_nonnegative("alpha_s", 0) == 0.0
    with pytest.raises(ValueError, match="alpha_s must be >= 0"):
        U.check_nonnegative("alpha_s", -0.1)
    with pytest.raises(ValueError, match="gain must be > 0"):
        U.check_nonnegative("gain", 0.0, positive=True)
    with pytest.raises(ValueError, match="lr must be finite"):
        U.check_nonnegative("lr", float("nan"))
    with pytest.raises(TypeError, match="lr must be a number"):
        U.check_nonnegative("lr", "0.1")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_check_matrix_refuses_non_finite(bad):
    x = torch.rand(4, 3)
    x[2, 1] = bad
    with pytest.raises(ValueError, match="X contains NaN or Inf"):
        U.check_matrix("X", x)


def test_check_matrix_shapes_types_and_conversion():
    x = torch.rand(4, 3, dtype=torch.float64)
    assert U.check_matrix("X", x, n_cols=3, dtype=torch.float32).dtype == torch.float32
    assert U.check_matrix("X", torch.full((2, 2), 3e38)).shape == (2, 2)  # huge but finite is fine
    assert U.check_matrix("X", torch.rand(3), allow_1d=True).shape == (1, 3)
    with pytest.raises(ValueError, match="X must have 5 columns"):
        U.check_matrix("X", x, n_cols=5)
    with pytest.raises(ValueError, match="X must be 2-D"):
        U.check_matrix("X", torch.rand(3))
    with pytest.raises(TypeError, match="floating dtype"):
        U.check_matrix("X", torch.ones(2, 2, dtype=torch.int64))
    with pytest.raises(TypeError, match="torch.Tensor"):
        U.check_matrix("X", [[1.0]])


def test_atomic_write_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "sub" / "f.bin"
    U.atomic_write_bytes(target, b"abc")
    assert target.read_bytes() == b"abc"
    U.atomic_write_bytes(target, b"xyz")
    assert target.read_bytes() == b"xyz"
    assert os.listdir(target.parent) == ["f.bin"]


def test_cache_dir_respects_env_and_create_flag(tmp_path, monkeypatch):
    monkeypatch.setenv("SESMLIB_CACHE_DIR", str(tmp_path / "c"))
    p = U.cache_dir("models", create=False)
    assert p == tmp_path / "c" / "models" and not p.exists()
    assert U.cache_dir("models").is_dir()


def test_model_file_round_trip_and_errors(tmp_path):
    path = tmp_path / "m.pt"
    U.save_model(path, "toy", {"n": 3}, {"w": torch.arange(3.0)})
    config, tensors = U.load_model(path, "toy")
    assert config == {"n": 3} and torch.equal(tensors["w"], torch.arange(3.0))
    with pytest.raises(ValueError, match="holds a 'toy' model, not a 'rbm' model"):
        U.load_model(path, "rbm")
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(ValueError, match="corrupt"):
        U.load_model(path, "toy")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        U.load_model(tmp_path / "missing.pt", "toy")


def test_config_hash_is_order_independent():
    assert U.config_hash({"a": 1, "b": 2}) == U.config_hash({"b": 2, "a": 1})
    assert U.config_hash({"a": 1}) != U.config_hash({"a": 2})
