"""sesmlib.experiments (Figure 1 end to end, quick profile, real MNIST, through the
command line of sesmlib.reproduce), sesmlib.results (the typed result), sesmlib.report
(verdicts checked on the paper's own numbers) and sesmlib.paper."""
from __future__ import annotations

import json
import math

import pytest
import torch

from sesmlib import experiments as exp
from sesmlib import paper as pp
from sesmlib import report as rp
from sesmlib import reproduce
from sesmlib.results import SCHEMA, Figure1Result

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
    rc = reproduce.main(["--out", str(out), "--quick", "--no-progress", "--device", "cpu"])
    result = Figure1Result.from_dict(json.loads((out / "figure1.json").read_text()))
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
    d = r.to_dict()
    assert d["schema"] == SCHEMA
    for key in ("config", "config_hash", "methods", "rate_distortion", "classifier", "sigma", "sigma_identification",
                "pca_quantizer_modes", "paper", "timings", "versions", "device", "models_cached", "models"):
        assert key in d, key
    assert [m.name for m in r.methods] == [f"sesm_{a:g}" for a in pp.ALPHAS] + ["rbm", "pca", "raw"]
    assert [m.alpha_s for m in r.sesm] == list(pp.ALPHAS) and r.sesm_method(0.2).name == "sesm_0.2"
    assert r.sizes == [10, 100] and r.config["profile"] == "quick" and r.protocols == list(exp.PROTOCOLS)
    assert r.config["model_seeds"] == [0] and r.config["threads"] == exp.DEFAULT_THREADS
    for m in r.methods:
        for s in r.sizes:
            for p in r.protocols:
                assert len(r.errors(m, s, protocol=p)) == r.config["n_draws"] == len(r.errors(m, s, protocol=p, split="train"))
                for split in ("train", "test"):
                    e = r.error(m, s, protocol=p, split=split)
                    assert _finite(e.mean) and 0 <= e.mean <= 100 and _finite(e.std)
                summ = r.error_summary(m, s, protocol=p)
                assert summ.mean == pytest.approx(r.error(m, s, protocol=p).mean) and summ.seed_std == 0.0
            assert r.error(m, s).mean == pytest.approx(sum(r.errors(m, s)) / len(r.errors(m, s)))
        if m.name == "raw":
            assert not r.has_code(m)
            continue
        for Q in (5, 256):
            for v in (r.bits(m, Q), r.entropy(m, Q), r.rmse(m, Q), r.rmse(m, Q, sigma="std"), r.rmse(m, Q, sigma="abs")):
                assert _finite(v), (m, Q)
            assert 0 <= r.entropy(m, Q) <= math.log2(Q) + 1e-9
            assert r.bits(m, Q) == pytest.approx(r.entropy(m, Q) * 200 / 784)
            # the two sigma readings differ by the constant sqrt(std)
            assert r.rmse(m, Q, sigma="std") / r.rmse(m, Q) == pytest.approx(r.sigma["paper"] / r.sigma["std"])
        assert r.bits(m, 256) > r.bits(m, 5)
        assert _finite(r.rmse(m, None))
    # PCA: 256 levels reconstruct far better than 5, and almost as well as no quantisation
    assert r.rmse("pca", 5) > 2 * r.rmse("pca", 256)
    assert r.rmse("pca", 256) == pytest.approx(r.rmse("pca", None), rel=0.1)
    assert r.sigma["paper"] == pytest.approx(math.sqrt(r.sigma["std"]))


def test_second_run_hits_the_cache_without_training(quick_run, monkeypatch):
    import sesmlib.zoo

    def no_training(*a, **k):
        raise AssertionError("the second run trained a model instead of using the cache")

    for name in ("trained_sweep", "trained_sesm", "trained_rbm", "trained_pca"):
        monkeypatch.setattr(sesmlib.zoo, name, no_training)
    monkeypatch.setenv("SESMLIB_CACHE_DIR", str(quick_run["cache"]))
    again = exp.figure1(quick=True, progress=False, device="cpu")
    assert again.cached is True
    first = quick_run["result"]
    assert again.config_hash == first.config_hash
    assert again.to_dict()["rate_distortion"] == first.to_dict()["rate_distortion"]
    loaded = exp.load_figure1(quick=True)
    assert loaded is not None and loaded.config_hash == first.config_hash and loaded.cached


def test_report_from_the_quick_run(quick_run, tmp_path):
    r = quick_run["result"]
    path = rp.write_report(r, tmp_path / "reproduction.md")
    text = path.read_text()
    assert "do not edit by hand" in text
    for m in r.methods:
        assert m.label in text
    assert "## Panel C" in text and "## Panel A" in text and "## Sigma" in text
    assert "### Protocol `paper`" in text and "### Protocol `probe`" in text
    assert text.count("| SESM alpha_s=") >= 10
    for key in pp.CONCLUSIONS:
        assert pp.CONCLUSIONS[key] in text


def test_bad_arguments(tmp_path, capsys):
    with pytest.raises(TypeError, match="protocol"):
        exp.figure1_config(protocol="logistic")
    with pytest.raises(TypeError, match="probe"):
        exp.figure1_config(probe="logistic")
    with pytest.raises(ValueError, match="seeds"):
        exp.figure1_config(seeds=[0, 0])
    with pytest.raises(ValueError, match="seeds=..."):
        exp.figure1_config(sesm_settings={"seed": 3})
    with pytest.raises(ValueError, match="threads"):
        exp.figure1_config(threads=0)
    with pytest.raises(SystemExit):
        reproduce.main(["--quick"])  # --out is required
    with pytest.raises(TypeError, match="result must be"):
        rp.write_report({"x": 1}, "nowhere.md")


def test_cli_checks_out_and_device_before_any_computation(tmp_path, capsys, monkeypatch):
    def no_run(*a, **k):
        raise AssertionError("the command computed something before refusing its arguments")

    monkeypatch.setattr(exp, "figure1", no_run)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert reproduce.main(["--out", str(blocker / "out"), "--quick"]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "cannot be written" in err and len(err.strip().splitlines()) == 1
    assert reproduce.main(["--out", str(tmp_path / "o"), "--report", str(blocker / "r.md"), "--quick"]) == 2
    assert "--report" in capsys.readouterr().err
    assert reproduce.main(["--out", str(tmp_path / "o"), "--device", "tpu", "--quick"]) == 2
    assert "unknown device" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert reproduce.main(["--out", str(tmp_path / "o"), "--device", "cuda", "--quick"]) == 2
        err = capsys.readouterr().err
        assert "no CUDA device" in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_cuda_request_without_cuda_exits_2_through_the_module(tmp_path):
    import subprocess
    import sys

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    r = subprocess.run([sys.executable, "-m", "sesmlib", "reproduce", "figure1", "--out", str(tmp_path / "o"),
                        "--device", "cuda", "--quick"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "CUDA" in r.stderr


def test_typed_result_refuses_other_layouts():
    with pytest.raises(ValueError, match="layout"):
        Figure1Result.from_dict({"schema": "sesmlib-figure1-v1"})
    data = _paper_data()
    data["classifier"] = [row for row in data["classifier"] if row["method"] != "rbm"]
    with pytest.raises(KeyError, match="rbm"):
        Figure1Result.from_dict(data)
    r = Figure1Result.from_dict(_paper_data())
    with pytest.raises(KeyError, match="no method"):
        r.error("svm", 10)
    with pytest.raises(ValueError, match="sigma"):
        r.rmse("pca", 5, sigma="var")


def test_errors_pool_the_draws_of_every_seed():
    data = _paper_data()
    extra = [dict(row, seed=1, test_errors=[e + 2.0 for e in row["test_errors"]],
                  test_error={"mean": row["test_error"]["mean"] + 2.0, "std": 0.0})
             for row in data["classifier"] if row["method"] == "rbm"]
    data["classifier"] += extra
    r = Figure1Result.from_dict(data)
    one = r.error("rbm", 10, seed=0).mean
    assert r.error("rbm", 10, seed=1).mean == pytest.approx(one + 2.0)
    assert r.error("rbm", 10).mean == pytest.approx(one + 1.0)  # pooled over both seeds
    assert r.error("raw", 10, seed=1).mean == r.error("raw", 10).mean  # raw pixels have no seed


# ----------------------------------------------------------- verdicts on the paper's data


def _paper_data() -> dict:
    """The data of a result whose 'ours' numbers are the paper's own Figure-1 numbers."""
    P = pp.figure1()
    sn = [f"sesm_{a:g}" for a in pp.ALPHAS]
    methods = [{"name": n, "label": f"SESM alpha_s={a:g}", "kind": "sesm", "alpha_s": a} for n, a in zip(sn, pp.ALPHAS)]
    methods += [{"name": n, "label": n.upper(), "kind": n} for n in ("rbm", "pca")]
    methods.append({"name": "raw", "label": "raw pixels", "kind": "raw"})
    rates = []
    for Q in ("5", "256"):
        for k, n in enumerate(sn):
            c = P["panel_c"]["sesm"][Q]
            rates.append({"method": n, "seed": 0, "levels": int(Q), "bits_per_pixel": c["bits_per_pixel"][k], "rmse": c["rmse"][k]})
        for n in ("rbm", "pca"):
            rates.append({"method": n, "seed": 0 if n == "rbm" else None, "levels": int(Q), **P["panel_c"][n][Q]})
    classifier = []
    for s in ("10", "100", "1000"):
        errors = {n: P["panel_a"][s]["sesm"][k] for k, n in enumerate(sn)}
        errors.update({n: P["panel_a"][s][n] for n in ("rbm", "pca", "raw")})
        for n, e in errors.items():
            for p in ("paper", "probe"):
                classifier.append({"method": n, "seed": None if n in ("pca", "raw") else 0, "protocol": p, "size": int(s),
                                   "test_errors": [e], "train_errors": [0.0],
                                   "test_error": {"mean": e, "std": 0.0}, "train_error": {"mean": 0.0, "std": 0.0}})
    config = {"sizes": [10, 100, 1000], "bins": [5, 256], "protocols": {"paper": {}, "probe": {}},
              "sesm": {"alphas": list(pp.ALPHAS)}, "model_seeds": [0]}
    return {"schema": SCHEMA, "config": config, "methods": methods, "rate_distortion": rates, "classifier": classifier,
            "paper": P, "conclusions_text": dict(pp.CONCLUSIONS), "timings": {}, "models_cached": {"sesm": True}}


def _result_from_paper() -> Figure1Result:
    return Figure1Result.from_dict(_paper_data())


def test_the_papers_own_numbers_confirm_its_conclusions():
    v = rp.verdicts(_result_from_paper())
    assert [x["key"] for x in v] == list(pp.CONCLUSIONS)
    assert all(x["verdict"] == "confirmed" and x["confirmed"] is True for x in v), [x for x in v if not x["confirmed"]]
    # one test per protocol (classifier conclusions) or per seed only (rate-distortion ones)
    by_key = {x["key"]: x for x in v}
    assert len(by_key["sesm_best_many_labels"]["tests"]) == 2 and len(by_key["sesm_best_tradeoff"]["tests"]) == 1
    # and the panel-C SESM curve matches itself with zero gap where comparable
    gaps = [g["gap"] for g in rp.panel_c_gaps(_result_from_paper()) if g["gap"] is not None]
    assert gaps and max(abs(g) for g in gaps) < 1e-12


def test_verdicts_turn_false_when_the_numbers_say_otherwise():
    data = _paper_data()
    for row in data["rate_distortion"]:
        if (row["method"], row["levels"]) == ("rbm", 5):
            row["rmse"] = 0.5  # RBM no longer robust to 5 levels
    for row in data["classifier"]:
        if (row["method"], row["size"]) == ("raw", 1000):
            row["test_errors"], row["test_error"] = [4.0], {"mean": 4.0, "std": 0.0}  # raw pixels beat everything
    v = {x["key"]: x["confirmed"] for x in rp.verdicts(Figure1Result.from_dict(data))}
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


def test_a_conclusion_is_mixed_when_protocols_or_seeds_disagree():
    data = _paper_data()
    # under the probe only, raw pixels beat everything at 1000/class
    for row in data["classifier"]:
        if (row["method"], row["size"], row["protocol"]) == ("raw", 1000, "probe"):
            row["test_errors"], row["test_error"] = [4.0], {"mean": 4.0, "std": 0.0}
    v = {x["key"]: x for x in rp.verdicts(Figure1Result.from_dict(data))}
    x = v["sesm_best_many_labels"]
    assert x["verdict"] == "mixed" and x["confirmed"] is None
    assert x["by_protocol"] == {"paper": "confirmed", "probe": "refuted"} and "probe protocol: refuted" in x["reason"]
    # a second seed whose RBM beats every SESM at 1000/class: mixed within the paper protocol too
    data = _paper_data()
    extra = []
    for row in data["classifier"]:
        if row["seed"] == 0:
            e = 1.0 if row["method"] == "rbm" and row["size"] == 1000 else row["test_errors"][0]
            extra.append(dict(row, seed=1, test_errors=[e], test_error={"mean": e, "std": 0.0}))
    data["classifier"] += extra
    data["rate_distortion"] += [dict(row, seed=1) for row in data["rate_distortion"] if row["seed"] == 0]
    data["config"]["model_seeds"] = [0, 1]
    v = {x["key"]: x for x in rp.verdicts(Figure1Result.from_dict(data))}
    x = v["sesm_best_many_labels"]
    assert x["by_protocol"]["paper"] == "mixed" and "seed(s) 0 of 2" in x["reason"]


def test_ordering_uses_the_spread_over_seeds():
    data = _paper_data()
    r = Figure1Result.from_dict(data)
    o = rp.ordering(r, 1000, "paper")
    assert o["a"] == "SESM alpha_s=0.2" and o["diff"] == pytest.approx(5.30 - 5.92) and o["decided"]
    # two seeds that disagree in sign: undecided
    extra = [dict(row, seed=1, test_errors=[e], test_error={"mean": e, "std": 0.0})
             for row in data["classifier"] if row["seed"] == 0
             for e in [5.0 if row["method"] == "rbm" and row["size"] == 1000 else row["test_errors"][0]]]
    data["classifier"] += extra
    data["rate_distortion"] += [dict(row, seed=1) for row in data["rate_distortion"] if row["seed"] == 0]
    o = rp.ordering(Figure1Result.from_dict(data), 1000, "paper")
    assert not o["decided"] and o["better"] is None and len(o["per_seed"]) == 2


def test_error_summary_separates_draws_from_seeds():
    from sesmlib.results import example_data

    r = Figure1Result.from_dict(example_data())
    e = r.error_summary("rbm", 10, protocol="probe")
    assert (e.mean, e.draw_std, e.n_seeds, e.n_draws, e.per_seed) == (22.5, 0.0, 2, 2, (22.0, 23.0))
    assert e.seed_std == pytest.approx(math.sqrt(0.5))
    assert r.error_summary("raw", 10).n_seeds == 0 and r.error_summary("raw", 10).seed_std == 0.0
    rs = r.rate_summary("rbm", 5)
    assert rs.bits == pytest.approx(0.5) and rs.bits_seed_std == 0.0 and rs.n_seeds == 2


def _quick_json(tmp, threads: int, workers: int) -> dict:
    import os
    import subprocess
    import sys

    env = {**os.environ, "SESMLIB_CACHE_DIR": str(tmp / "cache"), "OMP_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads), "SESMLIB_WORKERS": str(workers)}
    r = subprocess.run([sys.executable, "-m", "sesmlib", "reproduce", "figure1", "--quick", "--no-progress",
                        "--device", "cpu", "--out", str(tmp / "out")], env=env, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads((tmp / "out" / "figure1.json").read_text())


def _numbers(d: dict) -> dict:
    """Every measured number of a figure1.json (timings, dates and machine facts left out)."""
    drop = {"seconds", "cpu_seconds"}
    return {"rate_distortion": d["rate_distortion"], "sigma": d["sigma"], "pca_quantizer_modes": d["pca_quantizer_modes"],
            "classifier": [{k: v for k, v in row.items() if k not in drop} for row in d["classifier"]],
            "models": [{k: v for k, v in row.items() if k not in ("train_history", "train_seconds", "cached")}
                       for row in d["models"]],
            "loss": [row["train_history"].get("loss") for row in d["models"]], "config_hash": d["config_hash"]}


def test_two_quick_runs_give_identical_numbers(mnist_dir, tmp_path):
    """The same configuration on the same machine gives the same numbers: two quick runs
    from empty caches in fresh processes, one with 1 ambient thread and every task in
    the process, one with 2 threads and 2 worker processes."""
    a = _quick_json(tmp_path / "a", threads=1, workers=1)
    b = _quick_json(tmp_path / "b", threads=2, workers=2)
    assert a["timings"]["workers"] != b["timings"]["workers"]
    na, nb = _numbers(a), _numbers(b)
    for key in na:
        assert na[key] == nb[key], key


# ---- the reference run shipped with sesmlib (what notebook 06 shows)

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
REGENERATE = "run `make figure1` (about 18 min on 2 cores) and commit sesmlib/reference/ with docs/reproduction.md"


def _reference():
    from sesmlib import speed, store

    fig = store.load_reference("figure1", exp.figure1_config(), check=Figure1Result.from_dict)
    sp = store.load_reference("speed", speed.speed_key())
    return fig, sp


def test_the_shipped_reference_run_matches_the_code():
    """A code version bump or a new default changes the configuration: the shipped run
    then no longer matches, and notebook 06 would compute for 12 minutes."""
    fig, sp = _reference()
    assert fig is not None, f"no shipped reference Figure-1 run matches figure1_config(): {REGENERATE}"
    assert sp is not None, f"no shipped reference speed comparison matches speed_key(): {REGENERATE}"
    r = fig.value
    assert r.config["profile"] == "full" and r.seeds_of("rbm") == [0, 1, 2] and r.protocol_search


def test_docs_reproduction_is_the_report_of_the_shipped_run():
    fig, sp = _reference()
    assert fig is not None and sp is not None, REGENERATE
    text = (ROOT / "docs" / "reproduction.md").read_text()
    assert text == rp.render_report(fig.value, sp.value), f"docs/reproduction.md is not the shipped run's report: {REGENERATE}"


def test_figure1_reads_the_reference_only_when_asked_and_after_the_users_own_run(monkeypatch, tmp_path):
    from sesmlib import store

    fig, _ = _reference()
    assert fig is not None, REGENERATE
    monkeypatch.setattr(exp, "_compute", lambda *a, **k: pytest.fail("computed instead of reading"))
    r = exp.figure1(reference=True, progress=False)  # the test's cache is empty
    assert r.reference and r.cached and r.to_dict() == fig.value.to_dict()
    assert exp.load_figure1() is None  # reading the reference stores nothing
    # without reference=True the shipped run is not read: it would be computed
    monkeypatch.setattr(exp, "_compute", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("would compute")))
    with pytest.raises(RuntimeError, match="would compute"):
        exp.figure1(progress=False)
    # the user's own run of the same configuration comes first
    own = fig.value.to_dict()
    own["created"] = "this machine"
    store.save("figure1", exp.figure1_config(), own)
    r = exp.figure1(reference=True, progress=False)
    assert not r.reference and r.cached and r.created == "this machine"
    # a configuration without a shipped run is computed, reference=True or not
    with pytest.raises(RuntimeError, match="would compute"):
        exp.figure1(seed=1, reference=True, progress=False)


def test_speed_comparison_reads_the_reference_only_when_asked(monkeypatch):
    from sesmlib import speed, store

    _, sp = _reference()
    assert sp is not None, REGENERATE
    assert speed.speed_comparison(reference=True, progress=False) == sp.value
    asked = []

    def fetch(*args, **kwargs):  # records what speed_comparison asks the store for, measures nothing
        asked.append(kwargs)
        raise RuntimeError("would measure")

    monkeypatch.setattr(store, "fetch", fetch)
    with pytest.raises(RuntimeError, match="would measure"):
        speed.speed_comparison(progress=False)
    assert asked[-1]["reference"] is False
