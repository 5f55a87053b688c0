"""The exercise-check framework (sesmlib/checks/_core.py) and the warm-up checks of
notebook 00, each run against a correct and several deliberately wrong implementations.
Assertions are on the content of the verdict (what a student must read), not its exact text."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import numpy as np
import pytest
import torch

from sesmlib import checks
from sesmlib.checks import _core
from sesmlib.checks._core import FAIL, PASS, TODO, Case, prefer, random_tensor, run_check


def _ref(x, gain):
    return torch.sigmoid(gain * x)


CASES = [
    Case("x = 0, gain = 1", torch.zeros(3), 1.0),
    Case("a random (4, 5) batch, gain = 7", random_tensor((4, 5), seed=1), 7.0),
    Case("large |x|", torch.tensor([-50.0, 50.0]), 7.0),
    Case("float64 input", random_tensor((3,), dtype=torch.float64, seed=2), 2.0),
]


def verdict(capsys, fn, **kw):
    ok = run_check("logistic", fn, _ref, CASES, hint="think about the gain", **kw)
    out = capsys.readouterr().out
    assert "Traceback" not in out and "File \"" not in out, out
    return ok, out


# ----------------------------------------------------------------------------- verdicts


def test_correct_function_passes(capsys):
    ok, out = verdict(capsys, lambda x, gain: torch.sigmoid(gain * x), grad=True)
    assert bool(ok) is True
    assert out.startswith(PASS) and "4 inputs" in out and "gradients" in out
    assert len(out.strip().splitlines()) == 1


def test_stub_is_not_done_yet(capsys):
    def stub(x, gain):
        raise NotImplementedError("Exercise: l(x) = 1 / (1 + exp(-g x))")

    ok, out = verdict(capsys, stub)
    assert bool(ok) is False
    assert out.startswith(TODO) and "not done yet" in out
    assert "NotImplementedError" in out  # tells the student which line to replace


def test_exception_gives_one_short_line(capsys):
    def broken(x, gain):
        y = x.sum(dim=7)
        return y

    ok, out = verdict(capsys, broken)
    assert bool(ok) is False and out.startswith(FAIL)
    problem = [ln for ln in out.splitlines() if "problem:" in ln]
    assert len(problem) == 1
    assert "IndexError" in problem[0] and "line 2 of your function" in problem[0]
    assert "x.sum(dim=7)" in problem[0]


def test_multiline_exception_message_is_one_line(capsys):
    def broken(x, gain):
        raise ValueError("first line\nsecond line\n" + "x" * 1000)

    ok, out = verdict(capsys, broken)
    line = next(ln for ln in out.splitlines() if "problem:" in ln)
    assert "ValueError: first line second line" in line and len(line) < 400


def test_returns_none(capsys):
    def forgot_return(x, gain):
        torch.sigmoid(gain * x)

    ok, out = verdict(capsys, forgot_return)
    assert not ok and "None" in out and "return" in out


def test_wrong_shape(capsys):
    ok, out = verdict(capsys, lambda x, gain: torch.sigmoid(gain * x).reshape(-1))
    assert not ok
    assert "shape" in out and "(20,)" in out and "(4, 5)" in out
    assert "passed: 1 of 4" in out  # the (3,) case passed before the (4, 5) one failed
    assert "a random (4, 5) batch" in out  # names the failing input


def test_nan_output(capsys):
    ok, out = verdict(capsys, lambda x, gain: torch.exp(gain * x) / (1 + torch.exp(gain * x)))
    assert not ok and "NaN" in out and "large |x|" in out


def test_wrong_values_name_input_gap_and_hint(capsys):
    ok, out = verdict(capsys, lambda x, gain: torch.sigmoid(x))  # forgot the gain
    assert not ok
    assert "wrong values" in out and "yours" in out and "expected" in out
    assert "hint: think about the gain" in out
    assert "x = " in out and "gain = 7" in out  # the failing input, with argument names


def test_wrong_dtype(capsys):
    ok, out = verdict(capsys, lambda x, gain: torch.sigmoid(gain * x).float())
    assert not ok and "float64" in out and "dtype" in out


def test_dtype_not_checked_when_asked(capsys):
    ok, _ = verdict(capsys, lambda x, gain: torch.sigmoid(gain * x).float(), check_dtype=False)
    assert ok


def test_numpy_result(capsys):
    ok, out = verdict(capsys, lambda x, gain: 1 / (1 + np.exp(-gain * x.numpy())))
    assert not ok and "numpy" in out


def test_python_float_result(capsys):
    ok, out = verdict(capsys, lambda x, gain: 0.5)
    assert not ok and "Python float" in out


def test_in_place_change_of_input(capsys):
    def in_place(x, gain):
        x.mul_(-gain)
        return 1 / (1 + x.exp())

    ok, out = verdict(capsys, in_place)
    assert not ok and "in place" in out


def test_detached_output_has_no_gradient(capsys):
    ok, out = verdict(capsys, lambda x, gain: torch.sigmoid(gain * x).detach(), grad=True)
    assert not ok and "no gradient" in out


def test_right_values_wrong_gradient(capsys):
    class WrongBackward(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, gain):
            ctx.save_for_backward(x)
            ctx.gain = gain
            return torch.sigmoid(gain * x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            s = torch.sigmoid(ctx.gain * x)
            return g * s * (1 - s), None  # forgot the gain

    ok, out = verdict(capsys, lambda x, gain: WrongBackward.apply(x, gain), grad=True)
    assert not ok and "gradient with respect to" in out and "x" in out


def test_not_a_function(capsys):
    ok = run_check("logistic", torch.zeros(3), _ref, CASES, check_name="check_logistic")
    out = capsys.readouterr().out
    assert not ok and "expected a function" in out and "check_logistic(my_function)" in out


def test_never_prints_reference_source(capsys):
    def secret_reference(x, gain):
        very_secret_intermediate = gain * x
        return torch.sigmoid(very_secret_intermediate)

    run_check("logistic", lambda x, gain: x, secret_reference, CASES)
    run_check("logistic", lambda x, gain: torch.sigmoid(gain * x), secret_reference, CASES)
    out = capsys.readouterr().out
    assert "very_secret_intermediate" not in out


def test_tuple_outputs_name_the_item(capsys):
    def ref(x):
        return x.sum(), x * 2

    ok = run_check("pair", lambda x: (x.sum(), x * 3), ref, [Case("ones", torch.ones(3))])
    out = capsys.readouterr().out
    assert not ok and "output[1]" in out


def test_number_outputs(capsys):
    ref = lambda n: float(n) ** 0.5  # noqa: E731
    assert run_check("root", lambda n: n ** 0.5, ref, [Case("n = 4", 4)])
    assert not run_check("root", lambda n: n / 2, ref, [Case("n = 9", 9)])
    out = capsys.readouterr().out
    assert "4.5" in out and "expected 3" in out


def test_custom_compare(capsys):
    # equal up to sign, as principal directions are
    sign_free = lambda a, b, case: None if torch.allclose(a.abs(), b.abs()) else "differs beyond a sign"  # noqa: E731
    cases = [Case("v", torch.tensor([1.0, -2.0]))]
    assert run_check("direction", lambda v: -v, lambda v: v, cases, compare=sign_free)
    assert not run_check("direction", lambda v: 2 * v, lambda v: v, cases, compare=sign_free)
    assert "differs beyond a sign" in capsys.readouterr().out


def test_random_functions_see_the_same_seed_and_global_rng_is_untouched(capsys):
    state = torch.get_rng_state()
    ref = lambda p: torch.bernoulli(p)  # noqa: E731
    ok = run_check("sampling", lambda p: (torch.rand(p.shape) < p).float(), lambda p: (torch.rand(p.shape) < p).float(),
                   [Case("p = 0.5", torch.full((50,), 0.5))])
    assert ok and torch.equal(state, torch.get_rng_state())
    assert ref  # a Bernoulli sample compared with itself is stable too
    assert run_check("bernoulli", ref, ref, [Case("p = 0.3", torch.full((50,), 0.3))])


def test_reference_errors_are_not_hidden():
    def buggy_reference(x, gain):
        raise RuntimeError("bug in the check")

    with pytest.raises(RuntimeError, match="bug in the check"):
        run_check("logistic", _ref, buggy_reference, CASES)


def test_empty_cases_refused():
    with pytest.raises(ValueError, match="cases"):
        run_check("logistic", _ref, _ref, [])


def test_case_label_must_be_text():
    with pytest.raises(TypeError, match="label"):
        Case(torch.zeros(2))


def test_random_tensor_is_reproducible_and_leaves_global_rng():
    state = torch.get_rng_state()
    a = random_tensor((3, 4), low=-1, high=2, seed=5)
    b = random_tensor((3, 4), low=-1, high=2, seed=5)
    assert torch.equal(a, b) and a.dtype == torch.float32
    assert float(a.min()) >= -1 and float(a.max()) < 2
    assert torch.equal(state, torch.get_rng_state())


# --------------------------------------------------------------------------------- prefer


def test_prefer_follows_the_last_check(capsys):
    def mine(x, gain):
        return torch.sigmoid(x)  # forgot the gain

    assert prefer(mine, _ref, name="logistic") is _ref
    assert "not been checked" in capsys.readouterr().out

    run_check("logistic", mine, _ref, CASES, check_name="check_logistic")
    capsys.readouterr()
    assert prefer(mine, _ref, name="logistic") is _ref
    note = capsys.readouterr().out
    assert "library's logistic" in note and "check_logistic" in note and len(note.strip().splitlines()) == 1

    def fixed(x, gain):
        return torch.sigmoid(gain * x)

    run_check("logistic", fixed, _ref, CASES)
    capsys.readouterr()
    assert prefer(fixed, _ref) is fixed
    assert capsys.readouterr().out == ""


def test_prefer_with_objects_that_cannot_be_weakly_referenced(capsys):
    run_check("abs", abs, abs, [Case("-2", -2.0)])
    assert prefer(abs, lambda v: v) is abs


# ------------------------------------------------------------------------- the package


def test_topic_modules_are_discovered_and_reexported():
    import sesmlib.checks as pkg

    topics = [m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_")]
    assert "warmup" in topics
    for topic in topics:
        module = importlib.import_module(f"sesmlib.checks.{topic}")
        for name in module.__all__:
            assert getattr(pkg, name) is getattr(module, name), (topic, name)
            assert name in pkg.__all__
    assert pkg.prefer is _core.prefer


def test_every_exported_check_takes_one_function_and_returns_bool(capsys):
    def stub(*args, **kwargs):
        raise NotImplementedError("Exercise: ...")

    names = [n for n in checks.__all__ if n.startswith("check_")]
    assert {"check_logistic", "check_logistic_grad"} <= set(names)
    for name in names:
        fn = getattr(checks, name)
        assert len(inspect.signature(fn).parameters) >= 1
        assert bool(fn(stub)) is False, name
        out = capsys.readouterr().out
        assert "not done yet" in out and "Traceback" not in out, name


# ------------------------------------------------------------------------ warm-up (00)


def test_warmup_correct_answers_pass(capsys):
    def logistic(x, gain):  # a hand-written form that cannot overflow: l = exp(-softplus(-g x))
        return torch.exp(-torch.nn.functional.softplus(-gain * x))

    def logistic_grad(x, gain):
        l = torch.sigmoid(gain * x)
        return gain * l * (1 - l)

    assert bool(checks.check_logistic(logistic)) is True
    assert bool(checks.check_logistic_grad(logistic_grad)) is True
    out = capsys.readouterr().out
    assert out.count(PASS) == 2 and "gradients" in out


@pytest.mark.parametrize(
    "wrong, expect",
    [
        (lambda x, gain: 1 / (1 + torch.exp(-x)), ["wrong values", "gain = 7", "hint:"]),  # no gain
        (lambda x, gain: 1 / (1 + torch.exp(gain * x)), ["gradient with respect to x ", "x = 0"]),  # sign
        (lambda x, gain: torch.exp(gain * x) / (1 + torch.exp(gain * x)), ["NaN", "large |x|"]),
        (lambda x, gain: torch.sigmoid(gain * x).float(), ["dtype", "float64"]),
    ],
)
def test_warmup_wrong_logistic_gets_a_readable_verdict(capsys, wrong, expect):
    assert bool(checks.check_logistic(wrong)) is False
    out = capsys.readouterr().out
    assert out.startswith(FAIL + " logistic") and "Traceback" not in out
    for text in expect:
        assert text in out, (text, out)
    assert len(out.splitlines()) <= 6


def test_warmup_derivative_without_the_gain(capsys):
    def forgot_gain(x, gain):
        l = torch.sigmoid(gain * x)
        return l * (1 - l)

    assert bool(checks.check_logistic_grad(forgot_gain)) is False
    out = capsys.readouterr().out
    assert "derivative of the logistic" in out and "wrong values" in out and "gain" in out
    assert prefer(forgot_gain, lambda x, gain: x) is not forgot_gain
    assert "check_logistic_grad" in capsys.readouterr().out


def test_numpy_and_dict_outputs(capsys):
    ref_np = lambda n: np.arange(n, dtype=np.float64)  # noqa: E731
    assert run_check("arange", lambda n: np.arange(n, dtype=np.float64), ref_np, [Case("n = 3", 3)])
    assert not run_check("arange", lambda n: np.arange(n, dtype=np.float64) + 1, ref_np, [Case("n = 3", 3)])
    ref_d = lambda x: {"mean": x.mean(), "max": x.max()}  # noqa: E731
    cases = [Case("ones", torch.ones(4))]
    assert run_check("stats", ref_d, ref_d, cases)
    assert not run_check("stats", lambda x: {"mean": x.mean()}, ref_d, cases)
    assert not run_check("stats", lambda x: {"mean": x.mean(), "max": x.min() - 1}, ref_d, cases)
    out = capsys.readouterr().out
    assert "wrong values" in out and "keys" in out and "output['max']" in out


# ----------------------------------------------------- what a check returns and displays


def test_result_is_truthy_and_jupyter_displays_nothing(capsys):
    from IPython.core.formatters import DisplayFormatter

    ok, _ = verdict(capsys, _ref)
    bad, _ = verdict(capsys, lambda x, gain: x)
    assert isinstance(ok, _core.CheckResult) and ok and ok.passed and ok.name == "logistic"
    assert not bad and not bad.passed and bad.verdict.startswith(FAIL)
    assert ok == True and bad == False  # noqa: E712  (compares like the bool it stands for)
    # what IPython would show under the cell: nothing (a plain bool shows 'True')
    assert DisplayFormatter().format(ok) == ({}, {})
    assert DisplayFormatter().format(True)[0] == {"text/plain": "True"}
    assert "passed=True" in repr(ok)


def test_naive_logistic_fails_on_its_nan_gradient(capsys):
    naive = lambda x, gain: 1 / (1 + torch.exp(-gain * x))  # noqa: E731
    assert not checks.check_logistic(naive)
    out = capsys.readouterr().out
    assert out.startswith(FAIL) and "NaN" in out and "gradient" in out and "large |x|" in out
    # the same formula on inputs that do not overflow passes: only the gradient gives it away
    ok, _ = verdict(capsys, naive, grad=False)
    assert ok


# ---------------------------------------------------------------------------- time limit


def test_endless_loop_gets_a_verdict_not_a_hang(capsys):
    def endless(x, gain):
        n = 0
        while True:
            try:
                n += 1
            except Exception:  # a student's blanket except must not swallow the stop
                pass

    ok = run_check("logistic", endless, _ref, CASES, time_limit=0.3)
    out = capsys.readouterr().out
    assert not ok and out.startswith(FAIL)
    assert "took longer than 0.3 s" in out and "loop that never ends" in out
    assert "x = 0, gain = 1" in out and "Traceback" not in out


def test_endless_loop_in_the_gradient_is_stopped_too(capsys):
    class Forever(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, g):
            while True:
                pass

    ok = run_check("logistic", lambda x, gain: torch.sigmoid(gain * Forever.apply(x)), _ref, CASES[:1],
                   grad=True, time_limit=0.3)
    assert not ok and "took longer than 0.3 s" in capsys.readouterr().out


def test_time_limit_keeps_an_outer_timer_and_handler():
    import signal

    if not hasattr(signal, "setitimer"):
        pytest.skip("no interval timer on this platform")
    fired = []
    old = signal.signal(signal.SIGALRM, lambda *a: fired.append(1))
    old_timer = signal.setitimer(signal.ITIMER_REAL, 50.0)
    try:
        assert run_check("logistic", _ref, _ref, CASES, time_limit=5.0)
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 40.0 < left <= 50.0  # the outer timer is armed again
        assert signal.getsignal(signal.SIGALRM) is not _core.signal.default_int_handler
        signal.setitimer(signal.ITIMER_REAL, 0.05)  # the outer handler is back in place
        import time as _time

        t0 = _time.monotonic()
        while not fired and _time.monotonic() - t0 < 2:
            _time.sleep(0.01)
        assert fired
    finally:
        signal.setitimer(signal.ITIMER_REAL, *old_timer)
        signal.signal(signal.SIGALRM, old)


def test_no_limit_where_it_cannot_be_enforced(capsys, monkeypatch):
    import time as _time

    def slow(x, gain):
        _time.sleep(0.2)
        return torch.sigmoid(gain * x)

    monkeypatch.setattr(_core, "_can_interrupt", lambda: False)
    assert run_check("logistic", slow, _ref, CASES[:1], time_limit=0.05)


def test_check_from_a_thread_runs_without_a_limit(capsys):
    import threading

    box = []
    t = threading.Thread(target=lambda: box.append(run_check("logistic", _ref, _ref, CASES, time_limit=0.5)))
    t.start()
    t.join(30)
    assert box and box[0]


def test_time_limit_from_the_environment(monkeypatch):
    monkeypatch.setenv("SESMLIB_CHECK_TIME_LIMIT", "7.5")
    assert _core._time_limit_default() == 7.5
    monkeypatch.setenv("SESMLIB_CHECK_TIME_LIMIT", "soon")
    with pytest.raises(ValueError, match="SESMLIB_CHECK_TIME_LIMIT"):
        _core._time_limit_default()
    monkeypatch.delenv("SESMLIB_CHECK_TIME_LIMIT")
    assert _core._time_limit_default() == _core.TIME_LIMIT_S


# ------------------------------------------------------------ an unfinished earlier exercise


def test_unfinished_upstream_exercise_is_named(capsys):
    def sesm_energy(x, gain):
        raise NotImplementedError("Exercise: the energy")

    def sesm_loss(x, gain):
        return sesm_energy(x, gain) + 1

    ok = run_check("SESM loss", sesm_loss, _ref, CASES)
    out = capsys.readouterr().out
    assert not ok and out.startswith(TODO)
    assert "`sesm_energy`" in out and "earlier exercise" in out and "`sesm_loss`" in out


def test_own_stub_still_says_not_done_yet(capsys):
    def sesm_loss(x, gain):
        raise NotImplementedError("Exercise: the loss")

    run_check("SESM loss", sesm_loss, _ref, CASES)
    out = capsys.readouterr().out
    assert out.startswith(TODO) and "not done yet" in out and "earlier exercise" not in out


def test_reveal_is_shown_only_after_a_pass(capsys):
    run_check("logistic", lambda x, gain: x, _ref, CASES, reveal="$$ l = SECRET $$")
    assert "SECRET" not in capsys.readouterr().out
    run_check("logistic", _ref, _ref, CASES, reveal="$$ l = SECRET $$")
    out = capsys.readouterr().out
    assert out.startswith(PASS) and "SECRET" in out
