"""sesmlib.experiments (Figure 1 end to end, quick profile, real MNIST), sesmlib.report
(verdicts checked on the paper's own numbers) and sesmlib.paper."""
from __future__ import annotations

import copy
import json
import math

import pytest

from sesmlib import experiments as exp
from sesmlib import paper as pp
from sesmlib import report as rp

SIZES_QUICK = ["10", "100"]


def _finite(x):
    return isinstance(x, float) and math.isfinite(x)


@pytest.fixture(scope="module")
def quick_run(mnist_dir, tmp_path_factory):
    """One quick Figure-1 run through the command line, shared by the tests below (its
    own cache folder, so the models are trained from scratch)."""
    mp = pytest.MonkeyPatch()
    cache = tmp_path_factory.mktemp("fig1cache")
    mp.setenv("SESMLIB_CACHE_DIR", str(cache))
    mp.setenv("SESMLIB_DATA_DIR", str(mnist_dir))
    out = tmp_path_factory.mktemp("fig1out")
    rc = exp.main_figure1(["--out", str(out), "--quick", "--no-progress", "--device", "cpu"])
    result = json.loads((out / "figure1.json").read_text())
    yield {"rc": rc, "out": out, "result": result, "cache": cache, "mp": mp}
    mp.undo()


def test_quick_run_writes_json_and_every_panel(quick_run):
    assert quick_run["rc"] == 0
    out = quick_run["out"]
    for tag in "abc":
        for ext in ("png", "svg"):
            f = out / f"figure1_{tag}.{ext}"
            assert f.is_file() and f.stat().st_size > 1000, f


def test_json_schema_and_every_method_has_every_number(quick_run):
    r = quick_run["result"]
    assert r["schema"] == exp.SCHEMA
    for key in ("config", "config_hash", "method_order", "methods", "sigma", "sigma_identification",
                "pca_quantizer_modes", "paper", "timings", "versions", "device", "models_cached"):
        assert key in r, key
    assert r["method_order"] == [f"sesm_{a:g}" for a in pp.ALPHAS] + ["rbm", "pca", "raw"]
    assert r["config"]["sizes"] == [10, 100] and r["config"]["profile"] == "quick"
    for name in r["method_order"]:
        m = r["methods"][name]
        assert set(m["classifier"]) == set(SIZES_QUICK), name
        for s in SIZES_QUICK:
            c = m["classifier"][s]
            assert len(c["test_errors"]) == r["config"]["n_draws"] == len(c["train_errors"])
            assert c["n_train"] == 10 * int(s)
            for k in ("train_error", "test_error"):
                assert _finite(c[k]["mean"]) and 0 <= c[k]["mean"] <= 100
                assert _finite(c[k]["std"])
        if name == "raw":
            continue
        for Q in ("5", "256"):
            q = m["quant"][Q]
            for k in ("bits_per_pixel", "entropy_bits", "rmse", "rmse_std", "rmse_abs"):
                assert _finite(q[k]), (name, Q, k)
            assert 0 <= q["entropy_bits"] <= math.log2(int(Q)) + 1e-9
            assert q["bits_per_pixel"] == pytest.approx(q["entropy_bits"] * 200 / 784)
            # the two sigma readings differ by the constant sqrt(std)
            assert q["rmse_std"] / q["rmse"] == pytest.approx(r["sigma"]["paper"] / r["sigma"]["std"])
        assert m["quant"]["256"]["bits_per_pixel"] > m["quant"]["5"]["bits_per_pixel"]
        assert _finite(m["quant"]["unquantized"]["rmse"])
    # PCA: 256 levels reconstruct far better than 5, and almost as well as no quantisation
    pca = r["methods"]["pca"]["quant"]
    assert pca["5"]["rmse"] > 2 * pca["256"]["rmse"]
    assert pca["256"]["rmse"] == pytest.approx(pca["unquantized"]["rmse"], rel=0.1)
    assert r["sigma"]["paper"] == pytest.approx(math.sqrt(r["sigma"]["std"]))


def test_second_run_hits_the_cache_without_training(quick_run, monkeypatch):
    import sesmlib.zoo

    def no_training(*a, **k):
        raise AssertionError("the second run trained a model instead of using the cache")

    monkeypatch.setattr(sesmlib.zoo, "trained_sweep", no_training)
    monkeypatch.setenv("SESMLIB_CACHE_DIR", str(quick_run["cache"]))
    again = exp.figure1(quick=True, progress=False, device="cpu")
    assert again["cached"] is True
    first = quick_run["result"]
    assert again["config_hash"] == first["config_hash"]
    assert again["methods"]["pca"]["quant"] == first["methods"]["pca"]["quant"]
    loaded = exp.load_figure1(quick=True)
    assert loaded is not None and loaded["config_hash"] == first["config_hash"]


def test_report_from_the_quick_run(quick_run, tmp_path):
    r = quick_run["result"]
    path = rp.write_report(r, tmp_path / "reproduction.md")
    text = path.read_text()
    assert "do not edit by hand" in text
    for name in r["method_order"]:
        assert r["methods"][name]["label"] in text
    assert "## Panel C" in text and "## Panel A" in text and "## Sigma" in text
    assert text.count("| SESM alpha_s=") >= 10
    for key in pp.CONCLUSIONS:
        assert pp.CONCLUSIONS[key] in text


def test_bad_arguments():
    with pytest.raises(TypeError, match="protocol"):
        exp.figure1_config(protocol="logistic")
    with pytest.raises(SystemExit):
        exp.main_figure1(["--quick"])  # --out is required
    with pytest.raises(TypeError, match="result must be"):
        rp.write_report({"x": 1}, "nowhere.md")


# ----------------------------------------------------------- verdicts on the paper's data


def _result_from_paper() -> dict:
    """A result dict whose 'ours' numbers are the paper's own Figure-1 numbers."""
    P = pp.figure1()
    sn = [f"sesm_{a:g}" for a in pp.ALPHAS]
    methods = {}
    for k, n in enumerate(sn):
        methods[n] = {"label": f"SESM alpha_s={pp.ALPHAS[k]:g}", "kind": "sesm", "quant": {
            Q: {"bits_per_pixel": P["panel_c"]["sesm"][Q]["bits_per_pixel"][k], "rmse": P["panel_c"]["sesm"][Q]["rmse"][k]}
            for Q in ("5", "256")}}
    for n in ("rbm", "pca"):
        methods[n] = {"label": n.upper(), "kind": n, "quant": {Q: dict(P["panel_c"][n][Q]) for Q in ("5", "256")}}
    methods["raw"] = {"label": "raw pixels", "kind": "raw"}
    for s in ("10", "100", "1000"):
        for k, n in enumerate(sn):
            methods[n].setdefault("classifier", {})[s] = {"test_error": {"mean": P["panel_a"][s]["sesm"][k], "std": 0.0}}
        for n in ("rbm", "pca", "raw"):
            methods[n].setdefault("classifier", {})[s] = {"test_error": {"mean": P["panel_a"][s][n], "std": 0.0}}
    return {"methods": methods, "method_order": sn + ["rbm", "pca", "raw"], "config": {"sizes": [10, 100, 1000]},
            "paper": P, "conclusions_text": dict(pp.CONCLUSIONS), "timings": {}, "models_cached": {"sesm": True}}


def test_the_papers_own_numbers_confirm_its_conclusions():
    v = rp.verdicts(_result_from_paper())
    assert [x["key"] for x in v] == list(pp.CONCLUSIONS)
    assert all(x["confirmed"] is True for x in v), [x for x in v if not x["confirmed"]]
    # and the panel-C SESM curve matches itself with zero gap where comparable
    gaps = [g["gap"] for g in rp.panel_c_gaps(_result_from_paper()) if g["gap"] is not None]
    assert gaps and max(abs(g) for g in gaps) < 1e-12


def test_verdicts_turn_false_when_the_numbers_say_otherwise():
    r = _result_from_paper()
    r["methods"]["rbm"]["quant"]["5"]["rmse"] = 0.5  # RBM no longer robust to 5 levels
    r["methods"]["raw"]["classifier"]["1000"]["test_error"]["mean"] = 4.0  # raw pixels beat everything
    v = {x["key"]: x["confirmed"] for x in rp.verdicts(r)}
    assert v["rbm_robust_to_quantisation"] is False
    assert v["features_beat_raw"] is False
    assert v["sesm_best_many_labels"] is False
    assert v["pca_best_fine_worst_coarse"] is False  # the RBM is now the worst at 5 levels
    assert v["rbm_competitive_few_labels"] is True


def test_paper_numbers_are_consistent():
    P = pp.figure1()
    for Q in ("5", "256"):
        assert len(P["panel_c"]["sesm"][Q]["bits_per_pixel"]) == len(pp.ALPHAS)
        # listed from the strongest sparsity (fewest bits) to the weakest
        assert P["panel_c"]["sesm"][Q]["bits_per_pixel"] == sorted(P["panel_c"]["sesm"][Q]["bits_per_pixel"])
    for s in ("10", "100", "1000"):
        assert len(P["panel_a"][s]["sesm"]) == len(pp.ALPHAS)
    P["panel_a"]["10"]["raw"] = 0.0
    assert pp.FIGURE1["panel_a"]["10"]["raw"] == 29.6  # figure1() returns a copy
