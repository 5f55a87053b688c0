"""sesmlib.natural: SESM on natural image patches (the paper's Section 5.2)."""
from __future__ import annotations

import pytest
import torch

from sesmlib.natural import PATCH_SETTINGS, contrast_patches, fit_patch_model


def test_fit_patch_model_settings_and_cache():
    g = torch.Generator().manual_seed(0)
    patches = 1.7 * torch.rand(64, 16, generator=g)
    model, history = fit_patch_model(patches, n_code=5, epochs=1, batch_size=16, device="cpu", progress=False)
    assert model.W.shape == (16, 5) and history is not None
    again, history2 = fit_patch_model(patches, n_code=5, epochs=1, batch_size=16, device="cpu", progress=False)
    assert history2 is None
    torch.testing.assert_close(again.W, model.W)
    with pytest.raises(ValueError, match="lr"):
        fit_patch_model(patches, lr=0.0, cache=False)
    with pytest.raises(ValueError, match="patches"):
        fit_patch_model(patches.unsqueeze(0), cache=False)


def test_contrast_patches_keeps_the_highest_contrast():
    from sesmlib.data import load_patches

    P = contrast_patches(200, 8, keep=0.25, seed=3)
    assert P.shape == (200, 64) and P.dtype == torch.float32
    drawn = load_patches(800, 8, seed=3)
    threshold = drawn.std(dim=1).sort(descending=True).values[199]
    assert float(P.std(dim=1).min()) >= float(threshold) - 1e-6
    assert float(P.std(dim=1).median()) > float(drawn.std(dim=1).median())
    assert not torch.equal(P.std(dim=1), P.std(dim=1).sort(descending=True).values)  # shuffled
    torch.testing.assert_close(contrast_patches(200, 8, keep=0.25, seed=3), P)
    assert torch.equal(contrast_patches(50, 8, keep=1.0, seed=1).sort(dim=0).values,
                       load_patches(50, 8, seed=1).sort(dim=0).values)
    with pytest.raises(ValueError, match="keep"):
        contrast_patches(10, keep=1.5)
    with pytest.raises(ValueError, match="keep"):
        contrast_patches(10, keep=0.0)


def test_settings_are_the_papers():
    assert (PATCH_SETTINGS["n_code"], PATCH_SETTINGS["alpha_s"], PATCH_SETTINGS["alpha_r"]) == (128, 0.4, 0.025)
