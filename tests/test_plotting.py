"""Tests for sesmlib.plotting: grid geometry, scaling, files and errors (Agg backend)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.image  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from sesmlib.plotting import (  # noqa: E402
    filter_grid,
    image_grid,
    save_image_grid,
    show_filters,
    show_images,
    show_reconstructions,
)


def test_grid_geometry_and_placement():
    imgs = torch.zeros(5, 2, 3)
    imgs[4] = 1.0
    g = image_grid(imgs, ncols=2, pad=1)
    assert g.shape == (3 * 3 + 1, 2 * 4 + 1)
    assert (g[7:9, 1:4] == 1.0).all()  # fifth tile: row 2, column 0
    assert (g[7:9, 5:8] == 0.5).all()  # the empty sixth tile stays background
    assert (g[1:3, 1:4] == 0.0).all()
    assert image_grid(torch.rand(16, 9)).shape == (4 * 4 + 1, 4 * 4 + 1)  # square by default


def test_normalisation_modes():
    x = torch.tensor([[-2.0, 0.0, 1.0, 2.0], [0.1, 0.2, 0.0, 0.0]])
    each = image_grid(x, shape=(2, 2), ncols=2, normalize="each", pad=0)
    assert each[0, 0] == pytest.approx(0.0) and each[1, 1] == pytest.approx(1.0) and each[0, 1] == pytest.approx(0.5)
    assert each[0, 3] == pytest.approx(1.0)  # the second tile scaled on its own
    both = image_grid(x, shape=(2, 2), ncols=2, normalize="all", pad=0)
    assert both[0, 3] == pytest.approx(0.5 + 0.2 / 4)
    raw = image_grid(x, shape=(2, 2), ncols=2, pad=0)
    assert raw.min() == 0.0 and raw.max() == 1.0  # clipped


def test_filter_grid_tiles_the_columns():
    W = torch.zeros(784, 3)
    W[0, 1] = 1.0  # top-left pixel of the second filter
    g = filter_grid(W, ncols=3)
    assert g.shape == (29 + 1, 3 * 29 + 1)
    assert g[1, 30] == pytest.approx(1.0) and g[1, 1] == pytest.approx(0.5)


def test_save_image_grid_writes_a_png(tmp_path):
    p = save_image_grid(tmp_path / "sub" / "f.png", torch.randn(784, 20), filters=True, ncols=10, scale=2)
    img = matplotlib.image.imread(p)
    assert img.shape[:2] == (2 * (2 * 29 + 1), 2 * (10 * 29 + 1))
    q = save_image_grid(tmp_path / "d.png", np.random.rand(4, 28, 28), scale=1)
    assert matplotlib.image.imread(q).shape[:2] == (2 * 29 + 1, 2 * 29 + 1)


def test_show_functions_return_figures():
    import matplotlib.pyplot as plt

    ax = show_filters(torch.randn(784, 8), title="t")
    assert ax.get_title() == "t"
    ax = show_images(torch.rand(4, 784))
    fig = show_reconstructions(torch.rand(6, 784), torch.rand(6, 784), torch.rand(6, 784), n=4)
    assert len(fig.axes) == 3 and fig.axes[0].get_title(loc="left") == "original"
    plt.close("all")


def test_bad_input():
    with pytest.raises(ValueError, match="square"):
        image_grid(torch.rand(3, 10))
    with pytest.raises(ValueError, match="shape"):
        image_grid(torch.rand(3, 10), shape=(3, 3))
    with pytest.raises(ValueError, match="normalize"):
        image_grid(torch.rand(3, 9), normalize="max")
    with pytest.raises(ValueError, match="images"):
        image_grid(torch.rand(9))
    with pytest.raises(ValueError, match="ncols"):
        image_grid(torch.rand(3, 9), ncols=0)
    with pytest.raises(ValueError, match="W"):
        filter_grid(torch.rand(784))
    with pytest.raises(ValueError, match="labels"):
        show_reconstructions(torch.rand(3, 784), torch.rand(3, 784), labels=["a"])
