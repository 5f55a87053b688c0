"""Is SESM faster to train than the RBM? The paper calls SESM "particularly efficient to
train" (Section 1) and gives no timing; this module measures it.

:func:`speed_comparison` trains the Figure-1 SESM (one alpha_s, the library's settings)
and the Figure-1 RBM (:data:`sesmlib.rbm.PAPER_SETTINGS`) on the same digits, each on one
CPU thread, and stops at checkpoints (SESM: within and at the end of each epoch; the
RBM: at the end of chosen epochs) to measure, on the test digits, the RMSE of the
feed-forward reconstruction (the paper's sigma, unquantised code) and the error of the
linear probe (:mod:`sesmlib.evaluate.probe`) on one draw of labelled digits. Time is the
process CPU time of the training steps only (measurements excluded): on a shared machine
it is far steadier than wall time. Three comparisons:

- training time at each model's own settings (the whole run);
- time to reach the same reconstruction error: the worse of the two final RMSEs, which
  both reach;
- time to reach the same probe error: likewise.

A time to reach a value is read between checkpoints by linear interpolation in CPU time.
The SESM checkpoints come from the library's own training kernel driven digit by digit
(the same steps as :meth:`sesmlib.sesm.SESM.fit`, bit for bit, tested), so that they can
fall inside an epoch.

Examples
--------
>>> r = speed_comparison(quick=True, progress=False)     # doctest: +SKIP
>>> r["verdict"]                                          # doctest: +SKIP
"""
from __future__ import annotations

import json
import time

import torch

from . import _engine, _utils, profiles, store
from . import evaluate as ev

__all__ = ["speed_comparison", "speed_key", "sesm_checkpoints", "RBM_CHECKPOINTS", "SESM_CHECKPOINTS"]

#: RBM epochs at which it is measured (the last is its final epoch).
RBM_CHECKPOINTS = (1, 2, 3, 5, 8, 12, 18, 25)
#: SESM checkpoints as fractions of an epoch of the first epoch, then each epoch's end.
SESM_CHECKPOINTS = (0.125, 0.25, 0.5)


def sesm_checkpoints(model, X: torch.Tensor, settings, at: list[int], on_checkpoint) -> None:
    """Train ``model`` on X with ``settings`` (:class:`sesmlib.sesm.FitSettings`, on-line)
    exactly as :meth:`SESM.fit` does, calling ``on_checkpoint(digits_seen, model)`` after
    each number of digits in ``at`` (counted over the epochs). The model's ``b_enc`` is in
    sync at each call.

    Examples
    --------
    >>> from sesmlib.sesm import SESM, FitSettings
    >>> m = SESM(16, 4, seed=0, device="cpu"); seen = []
    >>> sesm_checkpoints(m, torch.rand(20, 16), FitSettings(epochs=2, seed=0), [10, 40], lambda d, _: seen.append(d))
    >>> seen
    [10, 40]
    """
    s = settings.resolved(model.convention)
    if s.batch_size != 1 or s.momentum:
        raise ValueError("sesm_checkpoints trains on-line (batch_size=1, no momentum), as the paper does")
    N, M = model.n_visible, model.n_code
    X = X.to(model.device, model.dtype)
    with torch.no_grad(), _engine.cpu_threads(1 if model.device.type == "cpu" else None):
        model.W, model.b_enc, model.b_dec = (t.contiguous() for t in (model.W, model.b_enc, model.b_dec))
        kernel = _engine.SESMKernel(
            model.W.view(N, 1, M), model.b_enc.view(1, M), model.b_dec.view(1, 1, N), [model.alpha_s], gain=model.gain,
            alpha_e=model.alpha_e, alpha_r=model.alpha_r, steps=s.infer_steps, step_size=s.infer_step_size,
            mu=X.mean(0) if s.center else None, momentum=0.0, energy_scale=model.energy_scale)
        gen = torch.Generator().manual_seed(int(s.seed))
        n, seen, todo = X.shape[0], 0, sorted(at)
        for epoch in range(s.epochs):
            order = torch.randperm(n, generator=gen).to(X.device) if s.shuffle else None
            Xe = X[order] if s.shuffle else X
            lr = s.lr * s.lr_decay**epoch
            i = 0
            while i < n:
                stop = min(n, i + (todo[0] - seen if todo else n))
                for j in range(i, stop):
                    kernel.train_batch(Xe[j:j + 1], lr)
                seen += stop - i
                i = stop
                while todo and seen >= todo[0]:
                    todo.pop(0)
                    kernel.sync()
                    on_checkpoint(seen, model)
        kernel.sync()


def speed_key(*, quick: bool = False, alpha_s: float = 0.2, seed: int = 0) -> dict:
    """Everything a :func:`speed_comparison` depends on (its key in the store).

    Examples
    --------
    >>> k = speed_key(quick=True)
    >>> k["probe_size"], k["sesm"]["model"]["alpha_s"]
    (100, 0.2)
    """
    from . import zoo

    prof = profiles.get(quick)
    return {"sesm": zoo.sesm_config(alpha_s, quick=quick, seed=seed), "rbm": zoo.rbm_config(quick=quick, seed=seed),
            "probe": ev.PROBE_PROTOCOL.as_dict(), "probe_size": prof.sizes[-1] if not quick else 100,
            "pool": prof.pool, "n_test": prof.n_test,
            "checkpoints": {"sesm": list(SESM_CHECKPOINTS), "rbm": list(RBM_CHECKPOINTS)}, "version": 1}


def speed_comparison(*, quick: bool = False, alpha_s: float = 0.2, seed: int = 0, progress: bool = True,
                     use_cache: bool = True, reference: bool = False) -> dict:
    """Measure SESM against the RBM (see the module docstring); the result is kept in the
    store (a second call returns it).

    Parameters
    ----------
    quick : bool
        The quick profile's data (2000 digits, 1 SESM epoch, 1 RBM epoch, probe at
        100/class on a 10000-digit pool).
    alpha_s : float
        The SESM measured (the paper's filters use 0.2).
    seed : int
        Seeds both models and the probe's draw.
    progress, use_cache : bool
        Progress bars; return the stored result when there is one.
    reference : bool
        When this machine has none stored, return the reference measurement shipped
        with sesmlib when there is one for these settings (the full profile's: the
        maintainers' ``make figure1``) instead of measuring; its numbers are CPU seconds
        of the maintainers' machine, in ``description``.

    Returns
    -------
    dict: "sesm", "rbm" ({"label", "settings", "checkpoints": [{"at", "digits", "cpu_seconds",
    "rmse", "probe_error"}]}), "comparisons" ({"full_training", "same_rmse", "same_probe"}:
    each with the numbers and a "text"), "verdict" (text), "description".
    """
    from .sesm import SESM, FitSettings

    prof = profiles.get(quick)
    key = speed_key(quick=quick, alpha_s=alpha_s, seed=seed)
    sesm_key, rbm_key, size = key["sesm"], key["rbm"], key["probe_size"]

    def make():
        from .data import load_mnist
        from .rbm import RBMSettings, train_paper_rbm

        X_pool, y_pool = load_mnist("train", prof.pool)
        X_test, y_test = load_mnist("test", prof.n_test)
        X = X_pool[: prof.n_train]
        draw = ev.sample_draws(y_pool, size, 1, seed=seed)

        def measure(model) -> dict:
            with torch.no_grad(), _engine.cpu_threads(1):
                rmse = ev.rmse(X_test, model.decode_code(model.code(X_test)), sigma="paper")
                r = ev.probe_classifiers({"m": (model.code(X_pool), model.code(X_test))}, y_pool, y_test, draw,
                                         num_threads=1)["m"]
            return {"rmse": float(rmse), "probe_error": r["test_error"]["mean"]}

        # ---- SESM, checkpointed inside the first epoch and at every epoch's end
        settings = FitSettings(**sesm_key["fit"])
        n = X.shape[0]
        at = sorted({max(1, int(f * n)) for f in SESM_CHECKPOINTS} | {n * (e + 1) for e in range(settings.epochs)})
        m = sesm_key["model"]
        model = SESM(784, m["n_code"], gain=m["gain"], alpha_e=m["alpha_e"], alpha_s=m["alpha_s"], alpha_r=m["alpha_r"],
                     convention=m["convention"], seed=seed, device="cpu")
        sesm_rows, clock = [], {"cpu": 0.0, "t": time.process_time()}

        def sesm_cp(digits, model):
            clock["cpu"] += time.process_time() - clock["t"]
            sesm_rows.append({"at": f"{digits / n:g} epoch(s)", "digits": digits, "cpu_seconds": clock["cpu"], **measure(model)})
            clock["t"] = time.process_time()

        bar = _utils.progress(total=2, enable=progress, desc="speed: SESM, then the RBM")
        clock["t"] = time.process_time()
        sesm_checkpoints(model, X, settings, at, sesm_cp)
        bar.update(1)

        # ---- the RBM, measured at the end of chosen epochs
        rbm_settings = RBMSettings(**rbm_key["fit"])
        wanted = {e for e in RBM_CHECKPOINTS if e <= rbm_settings.epochs} | {rbm_settings.epochs}
        rbm_rows, clock = [], {"cpu": 0.0, "t": time.process_time()}

        def rbm_cp(epoch, rbm, row):
            clock["cpu"] += time.process_time() - clock["t"]
            if epoch in wanted:
                rbm_rows.append({"at": f"{epoch} epoch(s)", "digits": epoch * n, "cpu_seconds": clock["cpu"], **measure(rbm)})
            clock["t"] = time.process_time()

        clock["t"] = time.process_time()
        train_paper_rbm(X, rbm_settings, device="cpu", progress=False, callback=rbm_cp)
        bar.update(1)
        bar.close()
        result = _summarise(sesm_rows, rbm_rows, alpha_s, sesm_key, rbm_key, size)
        return json.loads(json.dumps(result, sort_keys=True)), {}  # keys in the order a stored copy has

    return store.fetch("speed", key, make, retrain=not use_cache, check=_check, reference=reference).value


def _check(value):
    if not isinstance(value, dict) or "verdict" not in value:
        raise ValueError("not a speed comparison")
    return value


def _time_to(rows: list[dict], field: str, target: float) -> float | None:
    """CPU seconds at which ``field`` first reaches ``target`` or below, interpolated
    linearly between checkpoints (from 0 s at the first checkpoint's left: no earlier
    reading exists, so a target met at the first checkpoint is reported at its time)."""
    prev = None
    for r in rows:
        if r[field] <= target:
            if prev is None:
                return r["cpu_seconds"]
            f = (prev[field] - target) / (prev[field] - r[field])
            return prev["cpu_seconds"] + f * (r["cpu_seconds"] - prev["cpu_seconds"])
        prev = r
    return None


def _summarise(sesm_rows, rbm_rows, alpha_s, sesm_key, rbm_key, size) -> dict:
    S, R = f"SESM alpha_s={alpha_s:g}", "RBM"
    ts, tr = sesm_rows[-1]["cpu_seconds"], rbm_rows[-1]["cpu_seconds"]
    comps = {"full_training": {"sesm": ts, "rbm": tr, "faster": S if ts < tr else R,
                               "text": f"Training at their own settings: {S} {ts:.1f} s CPU, {R} {tr:.1f} s CPU "
                                       f"({'SESM' if ts < tr else 'the RBM'} faster by {max(ts, tr) / min(ts, tr):.1f}x)."}}
    for key, field, what in (("same_rmse", "rmse", "test RMSE"), ("same_probe", "probe_error", f"probe error at {size}/class")):
        target = max(sesm_rows[-1][field], rbm_rows[-1][field])  # the worse final value: both reach it
        a, b = _time_to(sesm_rows, field, target), _time_to(rbm_rows, field, target)
        faster = S if a < b else R
        comps[key] = {"target": target, "sesm": a, "rbm": b, "faster": faster,
                      "text": f"Time to reach a {what} of {target:.3f} (the worse of the two final values): {S} {a:.1f} s, "
                              f"{R} {b:.1f} s ({'SESM' if a < b else 'the RBM'} faster by {max(a, b) / max(min(a, b), 1e-9):.1f}x)."}
    sesm_wins = [c["faster"] == S for c in comps.values()]
    verdict = ("confirmed: SESM is faster in every comparison" if all(sesm_wins) else
               "refuted: the RBM is faster in every comparison" if not any(sesm_wins) else
               "mixed: " + "; ".join(f"{k.replace('_', ' ')}: {c['faster']}" for k, c in comps.items()))
    verdict += (". Inference costs the same for both (the code is one matrix product and a logistic); "
                "SESM's training step costs more code-inference steps per digit, the RBM's one Gibbs step per batch.")
    return {
        "description": f"one CPU thread, process CPU time of the training steps; {sesm_key['n_train']} training digits; "
                       f"SESM: {sesm_key['fit']['epochs']} epoch(s), {sesm_key['fit']['infer_steps']} code steps per digit; "
                       f"RBM: {rbm_key['fit']['epochs']} epochs of CD-{rbm_key['fit']['k']}, batch {rbm_key['fit']['batch_size']}; "
                       f"probe on one draw of {size} digits per class",
        "sesm": {"label": S, "settings": sesm_key, "checkpoints": sesm_rows},
        "rbm": {"label": R, "settings": rbm_key, "checkpoints": rbm_rows},
        "comparisons": comps,
        "verdict": verdict,
    }
