"""Shared fixtures. Real MNIST comes only through the library's normal loader, from the
folder that $SESMLIB_DATA_DIR names (.ci/run sets it)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own cache folder, so nothing leaks into ~/.cache or between tests."""
    monkeypatch.setenv("SESMLIB_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The folder with the real MNIST files, or skip when it is not configured."""
    root = os.environ.get("SESMLIB_DATA_DIR")
    if not root or not Path(root).is_dir():
        pytest.skip("real MNIST not available: set SESMLIB_DATA_DIR to a folder with the four IDX files")
    return Path(root)


def pytest_collection_modifyitems(config, items):
    skip_cuda = pytest.mark.skip(reason="no CUDA device on this machine")
    for item in items:
        if "cuda" in item.keywords and not torch.cuda.is_available():
            item.add_marker(skip_cuda)
