"""The exercise-check framework behind every ``sesmlib.checks.check_<name>``.

A check runs the student's function and the library's reference on the same list of
inputs (random and edge cases) and compares what comes back: type, shape, dtype,
NaN/Inf, values, that the inputs were left alone, and, on request, the gradients that
autograd finds through both. It prints a short verdict (what passed, which input failed
and why, a hint) and returns a :class:`CheckResult`, true when the check passed, which
Jupyter does not display (so a check cell shows the verdict and nothing else). It never
raises for the student's mistakes and never prints library source; a stub that still
raises ``NotImplementedError`` gets a friendly "not done yet" (naming the earlier
exercise when the stub that raised is another function the student's calls); a function
that runs longer than :data:`TIME_LIMIT_S` seconds is stopped with a verdict saying so.

Writing a new check takes about ten lines, in its own topic module
``sesmlib/checks/<topic>.py`` (picked up by ``sesmlib/checks/__init__.py``)::

    import torch
    from sesmlib.checks._core import Case, random_tensor, run_check
    from sesmlib.sesm import logistic            # the library's reference

    __all__ = ["check_logistic"]

    def check_logistic(fn) -> CheckResult:
        \"\"\"Check ``fn(x, gain)`` against the library's ``logistic``.\"\"\"
        cases = [
            Case("x = 0, gain = 1", torch.zeros(3), 1.0),
            Case("random x, gain = 7", random_tensor((4, 5), seed=1), 7.0),
            Case("float64 input", random_tensor((6,), dtype=torch.float64, seed=2), 2.0),
        ]
        return run_check("logistic", fn, logistic, cases, grad=True,
                         hint="l(x) = 1 / (1 + exp(-gain * x)); torch.sigmoid helps")

Randomness: every call runs inside ``torch.random.fork_rng`` with a fixed seed per case,
so the student's function and the reference see the same random numbers (for sampling
exercises) and the notebook's own random stream is left untouched.
"""
from __future__ import annotations

import contextlib
import copy
import inspect
import linecache
import math
import os
import signal
import threading
import time
import traceback
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch

__all__ = [
    "Case",
    "CheckFailure",
    "CheckResult",
    "TIME_LIMIT_S",
    "random_tensor",
    "run_check",
    "record_result",
    "last_result",
    "prefer",
    "PASS",
    "FAIL",
    "TODO",
]

# Verdict markers, at the start of every verdict's first line.
PASS = "✅"
FAIL = "❌"
TODO = "⏳"

_MAX_MESSAGE = 200  # characters of a student's exception message we show

#: Seconds one call of a student's function may run inside a check before the check stops
#: it and says so. Every check input is small: a correct function takes milliseconds, a
#: slow but correct one (Python loops) well under a second. ``$SESMLIB_CHECK_TIME_LIMIT``
#: overrides it (seconds; 0 turns the limit off).
TIME_LIMIT_S = 20.0


def _time_limit_default() -> float:
    raw = os.environ.get("SESMLIB_CHECK_TIME_LIMIT", "").strip()
    if not raw:
        return TIME_LIMIT_S
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(
            f"$SESMLIB_CHECK_TIME_LIMIT must be a number of seconds (0 for no limit), got {raw!r}"
        ) from None
    if value < 0 or value != value:
        raise ValueError(f"$SESMLIB_CHECK_TIME_LIMIT must be >= 0 seconds, got {raw!r}")
    return value


class CheckResult:
    """What a check returns: true when it passed, and shown as nothing in Jupyter.

    The verdict is printed by the check itself; a notebook cell that ends with
    ``checks.check_x(f)`` would otherwise also show the returned value (a stray ``True``).
    ``bool(result)`` is whether the check passed; ``result.verdict`` is the printed text.

    Examples
    --------
    >>> r = CheckResult("logistic", True, "✅ logistic: correct.")
    >>> bool(r), r.passed, r.name
    (True, True, 'logistic')
    >>> r
    CheckResult('logistic', passed=True)
    """

    __slots__ = ("name", "passed", "verdict")

    def __init__(self, name: str, passed: bool, verdict: str = "") -> None:
        self.name = name
        self.passed = bool(passed)
        self.verdict = verdict

    def __bool__(self) -> bool:
        return self.passed

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, CheckResult):
            return (self.name, self.passed) == (other.name, other.passed)
        if isinstance(other, bool):
            return self.passed is other
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.name, self.passed))

    def __repr__(self) -> str:
        return f"CheckResult({self.name!r}, passed={self.passed})"

    def _ipython_display_(self) -> None:
        """IPython calls this instead of showing the repr: the verdict is already printed."""
        return None


class _TimedOut(BaseException):
    """Raised inside a student's function when it runs past the time limit. A
    BaseException, so that a student's ``except Exception`` cannot swallow it."""


def _can_interrupt() -> bool:
    return (
        hasattr(signal, "SIGALRM")
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )


@contextlib.contextmanager
def _time_limit(seconds: float | None):
    """Raise :class:`_TimedOut` in the running code after ``seconds`` (wall clock).

    Python code cannot be killed from another thread, so this uses the Unix interval timer
    (SIGALRM): its handler runs in the main thread between two bytecodes, which is where a
    student's endless loop spins, in a script and in a Jupyter kernel alike. A torch
    operation already running in C finishes first. Where SIGALRM is missing (Windows) or
    when called outside the main thread, the code runs without a limit. An interval timer
    armed by someone else (pytest-timeout, for one) is kept: when it would fire first, no
    limit of ours is set; otherwise it is re-armed, minus the time spent here, on exit.
    """
    if not seconds or seconds <= 0 or not _can_interrupt():
        yield
        return

    armed = [True]

    def on_alarm(signum, frame):
        if armed[0]:
            raise _TimedOut()

    try:
        old_handler = signal.signal(signal.SIGALRM, on_alarm)
    except (ValueError, OSError):  # not allowed here after all
        yield
        return
    old_delay, old_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    if old_delay and old_delay <= seconds:  # an outer timer fires first: leave it alone
        signal.setitimer(signal.ITIMER_REAL, old_delay, old_interval)
        signal.signal(signal.SIGALRM, old_handler)
        yield
        return
    t0 = time.monotonic()
    try:
        yield
    finally:
        armed[0] = False  # a signal arriving from here on is ignored: the code has finished
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        if old_delay:
            left = max(old_delay - (time.monotonic() - t0), 1e-3)
            signal.setitimer(signal.ITIMER_REAL, left, old_interval)


@dataclass
class Case:
    """One input on which the student's function is compared with the reference.

    Parameters
    ----------
    label : str
        What this input is, in words a student understands ("x = 0", "large negative x").
        It is printed when the case fails.
    *args, **kwargs
        The arguments passed to both functions. Each call gets its own deep copy, so a
        function that modifies its input cannot spoil the other call.

    Examples
    --------
    >>> import torch
    >>> c = Case("x = 0, gain = 1", torch.zeros(3), gain=1.0)
    >>> c.label, len(c.args), sorted(c.kwargs)
    ('x = 0, gain = 1', 1, ['gain'])
    """

    label: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)

    def __init__(self, label: str, *args: Any, **kwargs: Any) -> None:
        if not isinstance(label, str):
            raise TypeError(f"Case: label must be a str describing the input, got {type(label).__name__}")
        self.label = label
        self.args = tuple(args)
        self.kwargs = dict(kwargs)


class CheckFailure(Exception):
    """Internal: one comparison failed; the message is what the student reads."""


def random_tensor(
    shape: Sequence[int],
    *,
    low: float = -3.0,
    high: float = 3.0,
    dtype: torch.dtype = torch.float32,
    seed: int = 0,
) -> torch.Tensor:
    """Uniform random values in [low, high) from a private generator (the global RNG
    is not touched), so check cases are the same on every run.

    Examples
    --------
    >>> t = random_tensor((2, 3), low=0.0, high=1.0, seed=4)
    >>> t.shape, bool(((t >= 0) & (t < 1)).all())
    (torch.Size([2, 3]), True)
    """
    g = torch.Generator().manual_seed(int(seed))
    return low + (high - low) * torch.rand(tuple(shape), generator=g, dtype=torch.float64).to(dtype)


# ------------------------------------------------------------------ results and prefer

# student function -> (check name, passed). Weak keys so old definitions can be freed;
# objects that cannot be weakly referenced fall back to an id-keyed dict.
_RESULTS: "weakref.WeakKeyDictionary[Any, tuple[str, bool]]" = weakref.WeakKeyDictionary()
_RESULTS_BY_ID: dict[int, tuple[Any, str, bool]] = {}


def record_result(fn: Any, check_name: str, passed: bool) -> None:
    """Remember the outcome of the last check run on ``fn`` (used by :func:`prefer`)."""
    try:
        _RESULTS[fn] = (check_name, bool(passed))
    except TypeError:  # not weak-referenceable (e.g. a builtin)
        _RESULTS_BY_ID[id(fn)] = (fn, check_name, bool(passed))


def last_result(fn: Any) -> tuple[str, bool] | None:
    """``(check name, passed)`` of the last check run on ``fn``, or None if never checked.

    Examples
    --------
    >>> def f(x): return x
    >>> last_result(f) is None
    True
    """
    try:
        if fn in _RESULTS:
            return _RESULTS[fn]
    except TypeError:
        pass
    entry = _RESULTS_BY_ID.get(id(fn))
    if entry is not None and entry[0] is fn:
        return entry[1], entry[2]
    return None


def prefer(student_fn: Any, reference_fn: Callable, *, name: str | None = None) -> Callable:
    """The student's function if its last check passed, else the library's reference.

    Cells after an exercise call ``f = prefer(my_fn, sesmlib.some.fn)`` so that their
    pictures run whether or not the exercise is done. When the reference is used, one
    line says so.

    Parameters
    ----------
    student_fn : callable
        The student's version (possibly a stub that raises NotImplementedError).
    reference_fn : callable
        The library's version.
    name : str, optional
        What to call the function in the note (default: the reference's ``__name__``).

    Returns
    -------
    callable

    Examples
    --------
    >>> import torch
    >>> def mine(x): raise NotImplementedError("Exercise: ...")
    >>> f = prefer(mine, torch.sigmoid, name="logistic")
    Note: using the library's logistic below (yours has not been checked yet).
    >>> f is torch.sigmoid
    True
    """
    label = name or getattr(reference_fn, "__name__", None) or "function"
    result = last_result(student_fn) if student_fn is not None else None
    if result is not None and result[1]:
        return student_fn
    if result is None:
        why = "yours has not been checked yet"
    else:
        why = f"yours has not passed {result[0]} yet"
    print(f"Note: using the library's {label} below ({why}).")
    return reference_fn


# ------------------------------------------------------------------------- describing


def _short(text: str, limit: int = _MAX_MESSAGE) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fmt_num(v: float) -> str:
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if math.isnan(v) or math.isinf(v):
        return str(v)
    return f"{v:.6g}"


def describe(obj: Any) -> str:
    """A one-line description of a value: shapes and dtypes for tensors (with the values
    when there are at most 6), the value for numbers.

    Examples
    --------
    >>> import torch
    >>> describe(torch.zeros(3, 4))
    'tensor of shape (3, 4), float32'
    >>> describe(torch.tensor([1.0, -2.0]))
    'tensor([1, -2]), float32'
    """
    if isinstance(obj, torch.Tensor):
        dtype = str(obj.dtype).replace("torch.", "")
        if obj.numel() <= 6:
            vals = ", ".join(_fmt_num(v) for v in obj.detach().reshape(-1).tolist())
            if obj.dim() == 0:
                return f"tensor({vals}), {dtype}"
            if obj.dim() == 1:
                return f"tensor([{vals}]), {dtype}"
            return f"tensor of shape {tuple(obj.shape)} = [{vals}] (flattened), {dtype}"
        return f"tensor of shape {tuple(obj.shape)}, {dtype}"
    if isinstance(obj, np.ndarray):
        return f"numpy array of shape {obj.shape}, {obj.dtype}"
    if isinstance(obj, (bool, int, float)):
        return _fmt_num(obj)
    if isinstance(obj, (tuple, list)):
        inner = ", ".join(describe(o) for o in obj[:4])
        more = ", ..." if len(obj) > 4 else ""
        return f"{type(obj).__name__} of {len(obj)} ({inner}{more})"
    if obj is None:
        return "None"
    return type(obj).__name__


def _describe_call(case: Case, fn: Callable | None = None) -> str:
    """'x = tensor(...), gain = 7', naming the arguments from ``fn``'s signature when possible."""
    try:
        bound = inspect.signature(fn).bind(*case.args, **case.kwargs).arguments
        return ", ".join(f"{k} = {describe(v)}" for k, v in bound.items())
    except (TypeError, ValueError):
        parts = [describe(a) for a in case.args] + [f"{k} = {describe(v)}" for k, v in case.kwargs.items()]
        return ", ".join(parts)


def _student_line(exc: BaseException, fn: Any) -> str:
    """' (line N: <code>)' for the innermost frame of the student's own code, if any."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return ""
    filename = code.co_filename
    hit = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == filename:
            hit = frame
    if hit is None:
        return ""
    src = (hit.line or linecache.getline(hit.filename, hit.lineno)).strip()
    where = hit.lineno - code.co_firstlineno + 1  # line within the function
    return f" (line {where} of your function: {_short(src, 80)})" if src else f" (line {where} of your function)"


# ------------------------------------------------------------------------ comparisons


def _index_str(idx: tuple) -> str:
    return "(" + ", ".join(str(i) for i in idx) + (",)" if len(idx) == 1 else ")")


def _first_index(mask: torch.Tensor) -> tuple:
    nz = mask.nonzero()
    return tuple(int(i) for i in nz[0].tolist()) if len(nz) else ()


def _compare(yours: Any, expected: Any, path: str, rtol: float, atol: float, check_dtype: bool) -> None:
    """Raise CheckFailure with a readable message when ``yours`` differs from ``expected``."""
    if isinstance(expected, torch.Tensor):
        if yours is None:
            raise CheckFailure(f"{path} is None; expected a tensor. Did you forget `return`?")
        if isinstance(yours, np.ndarray):
            raise CheckFailure(
                f"{path} is a numpy array; expected a torch.Tensor. Use torch operations "
                "(torch.exp, torch.sigmoid, ...) instead of numpy."
            )
        if isinstance(yours, (int, float)) and not isinstance(yours, torch.Tensor):
            raise CheckFailure(
                f"{path} is a Python {type(yours).__name__}; expected a tensor of shape "
                f"{tuple(expected.shape)}. Avoid .item(), float() and the math module."
            )
        if not isinstance(yours, torch.Tensor):
            raise CheckFailure(f"{path} is a {type(yours).__name__}; expected a torch.Tensor.")
        if tuple(yours.shape) != tuple(expected.shape):
            raise CheckFailure(
                f"{path} has the wrong shape: yours {tuple(yours.shape)}, expected {tuple(expected.shape)}."
            )
        if check_dtype and yours.dtype != expected.dtype:
            raise CheckFailure(
                f"{path} has dtype {str(yours.dtype).replace('torch.', '')}, expected "
                f"{str(expected.dtype).replace('torch.', '')} (the dtype of the input should be kept)."
            )
        y = yours.detach().cpu()
        e = expected.detach().cpu()
        if e.is_floating_point() or e.is_complex() or y.is_floating_point():
            y64, e64 = y.to(torch.float64), e.to(torch.float64)
            bad_nan = torch.isnan(y64) & ~torch.isnan(e64)
            if bad_nan.any():
                idx = _first_index(bad_nan)
                raise CheckFailure(
                    f"{path} contains NaN (first at index {_index_str(idx)}, expected "
                    f"{_fmt_num(float(e64[idx]))}). Look for 0/0, inf - inf, or log of a non-positive number."
                )
            bad_inf = torch.isinf(y64) & ~torch.isinf(e64)
            if bad_inf.any():
                idx = _first_index(bad_inf)
                raise CheckFailure(
                    f"{path} contains {_fmt_num(float(y64[idx]))} at index {_index_str(idx)} where "
                    f"{_fmt_num(float(e64[idx]))} was expected: an overflow (exp of a large number?)."
                )
            close = torch.isclose(y64, e64, rtol=rtol, atol=atol, equal_nan=True)
            if not bool(close.all()):
                gap = torch.where(close, torch.zeros_like(y64), (y64 - e64).abs().nan_to_num(posinf=math.inf))
                idx = tuple(int(i) for i in np.unravel_index(int(gap.reshape(-1).argmax()), tuple(gap.shape)))
                n_bad = int((~close).sum())
                where = f" at index {_index_str(idx)}" if y64.dim() else ""
                raise CheckFailure(
                    f"{path} has wrong values in {n_bad} of {close.numel()} entries; largest gap{where}: "
                    f"yours {_fmt_num(float(y64[idx]))}, expected {_fmt_num(float(e64[idx]))}."
                )
        elif not torch.equal(y, e.to(y.dtype) if y.dtype != e.dtype else e):
            diff = y != e
            idx = _first_index(diff)
            raise CheckFailure(
                f"{path} differs at index {_index_str(idx)}: yours {y[idx].item()}, expected {e[idx].item()}."
            )
        return
    if isinstance(expected, np.ndarray):
        if isinstance(yours, torch.Tensor):
            yours = yours.detach().cpu().numpy()
        if not isinstance(yours, np.ndarray):
            raise CheckFailure(f"{path} is {describe(yours)}; expected a numpy array of shape {expected.shape}.")
        _compare(torch.from_numpy(np.asarray(yours)), torch.from_numpy(expected), path, rtol, atol, check_dtype)
        return
    if isinstance(expected, dict):
        if not isinstance(yours, dict):
            raise CheckFailure(f"{path} should be a dict with keys {sorted(expected)}, got {describe(yours)}.")
        if set(yours) != set(expected):
            raise CheckFailure(f"{path} has keys {sorted(yours)}; expected {sorted(expected)}.")
        for key in expected:
            _compare(yours[key], expected[key], f"{path}[{key!r}]", rtol, atol, check_dtype)
        return
    if isinstance(expected, (tuple, list)):
        if not isinstance(yours, (tuple, list)):
            raise CheckFailure(
                f"{path} should be a {type(expected).__name__} of {len(expected)} items, got {describe(yours)}."
            )
        if len(yours) != len(expected):
            raise CheckFailure(f"{path} should have {len(expected)} items, got {len(yours)}.")
        for i, (a, b) in enumerate(zip(yours, expected)):
            _compare(a, b, f"{path}[{i}]", rtol, atol, check_dtype)
        return
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        if yours is None:
            raise CheckFailure(f"{path} is None; expected a number. Did you forget `return`?")
        if isinstance(yours, torch.Tensor) and yours.numel() == 1:
            yours = yours.item()
        if isinstance(yours, np.generic):
            yours = yours.item()
        if not isinstance(yours, (int, float)) or isinstance(yours, bool):
            raise CheckFailure(f"{path} is {describe(yours)}; expected a number.")
        if math.isnan(yours) and not math.isnan(expected):
            raise CheckFailure(f"{path} is NaN; expected {_fmt_num(expected)}.")
        if not math.isclose(yours, expected, rel_tol=rtol, abs_tol=atol):
            raise CheckFailure(f"{path} is {_fmt_num(yours)}; expected {_fmt_num(expected)}.")
        return
    if expected is None:
        return  # nothing to compare (a function called for its effect)
    if yours != expected:
        raise CheckFailure(f"{path} is {describe(yours)}; expected {describe(expected)}.")


def _tensors_in(args: tuple, kwargs: dict, fn: Callable | None = None) -> list[tuple[str, torch.Tensor]]:
    """Top-level floating tensors among the arguments, with names for messages (the
    parameter names of ``fn`` when its signature is known)."""
    try:
        params = list(inspect.signature(fn).parameters) if fn is not None else []
    except (TypeError, ValueError):
        params = []
    out = [(params[i] if i < len(params) else f"argument {i + 1}", a)
           for i, a in enumerate(args) if isinstance(a, torch.Tensor)]
    out += [(k, v) for k, v in kwargs.items() if isinstance(v, torch.Tensor)]
    return [(n, t) for n, t in out if t.is_floating_point()]


def _copy_args(case: Case) -> tuple[tuple, dict]:
    return copy.deepcopy(case.args), copy.deepcopy(case.kwargs)


def _call(fn: Callable, args: tuple, kwargs: dict, seed: int) -> Any:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return fn(*args, **kwargs)


def _grad_weights(out: torch.Tensor, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(10_000 + seed)
    return (0.5 + torch.rand(tuple(out.shape), generator=g, dtype=torch.float64)).to(out.dtype)


def _grads(fn: Callable, case: Case, seed: int, name_from: Callable) -> tuple[list[str], list[torch.Tensor | None], Any]:
    """Gradients of sum(w * fn(...)) with respect to the floating tensor arguments."""
    args, kwargs = _copy_args(case)
    named = _tensors_in(args, kwargs, name_from)
    for _, t in named:
        t.requires_grad_(True)
    out = _call(fn, args, kwargs, seed)
    if isinstance(out, (tuple, list)):  # gradients through the first output
        out = out[0] if out else None
    if not isinstance(out, torch.Tensor) or not out.is_floating_point():
        return [n for n, _ in named], [None] * len(named), out
    if not out.requires_grad:
        return [n for n, _ in named], [None] * len(named), out
    loss = (out * _grad_weights(out, seed)).sum()
    grads = torch.autograd.grad(loss, [t for _, t in named], allow_unused=True)
    return [n for n, _ in named], list(grads), out


# --------------------------------------------------------------------------- the check


def run_check(
    name: str,
    student_fn: Any,
    reference_fn: Callable,
    cases: Sequence[Case],
    *,
    hint: str = "",
    rtol: float = 1e-4,
    atol: float = 1e-6,
    grad: bool = False,
    check_dtype: bool = True,
    compare: Callable[[Any, Any, Case], str | None] | None = None,
    check_name: str | None = None,
    time_limit: float | None = None,
    reveal: str | None = None,
) -> CheckResult:
    """Compare ``student_fn`` with ``reference_fn`` on ``cases``; print a verdict.

    For each case, in order, the two functions are called on separate deep copies of the
    arguments (same random seed) and the student's output must: not raise, not be None,
    have the reference's type, shape and dtype, contain no NaN/Inf the reference does not
    have, match its values within ``rtol``/``atol``, and leave the inputs unchanged.
    With ``grad=True`` the gradients of ``sum(w * output)`` (fixed random weights ``w``)
    with respect to every floating tensor argument must match too. The check stops at
    the first failing case. Each call of the student's function (and of autograd through
    it) is stopped after ``time_limit`` seconds, with a verdict saying so.

    Parameters
    ----------
    name : str
        What the student wrote, in words ("logistic", "free energy"); starts the verdict.
    student_fn : callable
        The student's function. Anything else (a tensor, None) gets a friendly message.
    reference_fn : callable
        The library's function with the same signature. Exceptions it raises are bugs in
        the check, and propagate.
    cases : sequence of Case
        The inputs, simplest first (a failure on a simple case is easier to understand).
    hint : str
        One sentence printed after a failure.
    rtol, atol : float
        Tolerances of ``torch.isclose`` for values and gradients.
    grad : bool
        Also compare gradients (for exercises where autograd through the student's
        function matters, or where the formula is easy to get right only in value).
    check_dtype : bool
        Require the reference's output dtype (a float64 input should give float64).
    compare : callable, optional
        ``compare(yours, expected, case) -> message or None`` replacing the built-in
        value comparison (for outputs that are equal only up to sign or permutation).
    check_name : str, optional
        The check's name used in the :func:`prefer` note (default ``"check_" + name``
        with spaces replaced by underscores).
    time_limit : float, optional
        Seconds one call of the student's function may take (default :data:`TIME_LIMIT_S`,
        or ``$SESMLIB_CHECK_TIME_LIMIT``; 0 for none). Enforced where SIGALRM exists (Linux,
        macOS) in the main thread, Jupyter kernels included; elsewhere there is no limit.
    reveal : str, optional
        Markdown (LaTeX allowed) shown after a pass and only then: for exercises whose
        answer the notebook keeps hidden until the student has found it.

    Returns
    -------
    CheckResult
        True (``bool(result)``) when every case passed; Jupyter displays nothing for it.

    Examples
    --------
    >>> import torch
    >>> cases = [Case("x = 0", torch.zeros(2)), Case("x = 1", torch.ones(2))]
    >>> ok = run_check("sigmoid", lambda x: torch.sigmoid(x), torch.sigmoid, cases)
    ✅ sigmoid: correct on all 2 inputs (values, shapes and dtypes checked).
    >>> bool(ok)
    True
    >>> ok = run_check("sigmoid", lambda x: 1 / (1 + torch.exp(x)), torch.sigmoid, cases)
    ❌ sigmoid: not right yet.
       passed: 1 of 2 inputs (x = 0)
       failed on: x = 1
       input: tensor([1, 1]), float32
       problem: output has wrong values in 2 of 2 entries; largest gap at index (0,): yours 0.268941, expected 0.731059.
    >>> bool(ok)
    False
    """
    check_name = check_name or "check_" + "_".join(name.split())
    cases = list(cases)
    if not cases:
        raise ValueError("run_check: cases must not be empty")
    limit = _time_limit_default() if time_limit is None else float(time_limit)

    def finish(passed: bool, lines: list[str]) -> CheckResult:
        text = "\n".join(lines)
        print(text)
        if passed and reveal:
            _show_markdown(reveal)
        if callable(student_fn):
            record_result(student_fn, check_name, passed)
        return CheckResult(name, passed, text)

    if not callable(student_fn):
        got = describe(student_fn)
        return finish(False, [
            f"{FAIL} {name}: expected a function, got {got}.",
            f"   Pass the function itself, without calling it: {check_name}(my_function), "
            f"not {check_name}(my_function(...)).",
        ])

    passed_labels: list[str] = []
    for i, case in enumerate(cases):
        seed = 1234 + i
        args, kwargs = _copy_args(case)
        r_args, r_kwargs = _copy_args(case)
        expected = _call(reference_fn, r_args, r_kwargs, seed)
        problem = None
        try:
            with _time_limit(limit):
                yours = _call(student_fn, args, kwargs, seed)
        except _TimedOut:
            return finish(False, _too_slow(name, case, reference_fn, limit, student_fn))
        except NotImplementedError as exc:
            return finish(False, [_not_done(name, exc, student_fn)])
        except Exception as exc:  # the student's mistake: one line, no traceback
            problem = (
                f"your function raised {type(exc).__name__}: {_short(str(exc)) or '(no message)'}"
                f"{_student_line(exc, student_fn)}"
            )
        else:
            if yours is None and expected is not None:
                problem = "your function returned None. Did you forget `return`?"
            else:
                try:
                    if compare is not None:
                        msg = compare(yours, expected, case)
                        if msg:
                            raise CheckFailure(msg)
                    else:
                        _compare(yours, expected, "output", rtol, atol, check_dtype)
                    _check_inputs_unchanged(case, args, kwargs, reference_fn)
                    if grad:
                        _check_grads(student_fn, reference_fn, case, seed, rtol, atol, limit)
                except _TimedOut:
                    return finish(False, _too_slow(name, case, reference_fn, limit, student_fn))
                except CheckFailure as exc:
                    problem = str(exc)
                except Exception as exc:  # raised while differentiating the student's function
                    problem = (
                        f"computing gradients through your function raised {type(exc).__name__}: "
                        f"{_short(str(exc))}{_student_line(exc, student_fn)}. Autograd needs torch "
                        "operations all the way, without in-place changes to the inputs."
                    )
        if problem is not None:
            lines = [f"{FAIL} {name}: not right yet."]
            if passed_labels:
                labels = "; ".join(passed_labels)
                labels = f" ({labels})" if len(labels) <= 80 else ""
                lines.append(f"   passed: {len(passed_labels)} of {len(cases)} inputs{labels}")
            lines.append(f"   failed on: {case.label}")
            lines.append(f"   input: {_describe_call(case, reference_fn)}")
            lines.append(f"   problem: {problem}")
            if hint:
                lines.append(f"   hint: {hint}")
            return finish(False, lines)
        passed_labels.append(case.label)

    checked = ["outputs"] if compare is not None else ["values", "shapes"] + (["dtypes"] if check_dtype else [])
    if grad:
        checked.append("gradients")
    what = ", ".join(checked[:-1]) + " and " + checked[-1] if len(checked) > 1 else checked[0]
    return finish(True, [f"{PASS} {name}: correct on all {len(cases)} inputs ({what} checked)."])


def _show_markdown(text: str) -> None:
    """Rendered Markdown (with LaTeX) in a Jupyter kernel; the plain text elsewhere."""
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:  # IPython is optional outside notebooks
        print(text)
        return
    shell = get_ipython()
    if shell is not None and getattr(shell, "kernel", None) is not None:
        display(Markdown(text))
    else:
        print(text)


def _fmt_seconds(seconds: float) -> str:
    return f"{seconds:g}"


def _too_slow(name: str, case: Case, reference_fn: Callable, limit: float, student_fn: Any) -> list[str]:
    fn_name = getattr(student_fn, "__name__", "your function")
    return [
        f"{FAIL} {name}: took longer than {_fmt_seconds(limit)} s: is there a loop that never ends?",
        f"   stopped on: {case.label}",
        f"   input: {_describe_call(case, reference_fn)}",
        f"   hint: every input of this check is small, so {fn_name} should answer in well under a second. "
        "Look for a `while` loop whose condition never becomes false, or a loop over a range that grows.",
    ]


def _stub_frame(exc: BaseException):
    """The innermost traceback frame (the one that raised)."""
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    return last.tb_frame if last is not None else None


def _not_done(name: str, exc: NotImplementedError, student_fn: Any) -> str:
    """The "not done yet" verdict; names the earlier exercise when the stub that raised
    belongs to another function than the one being checked."""
    msg = str(exc).strip()
    frame = _stub_frame(exc)
    own_code = getattr(student_fn, "__code__", None)
    if own_code is None:  # a wrapper (e.g. a callable object) around the student's function
        own_code = getattr(getattr(student_fn, "__wrapped__", None), "__code__", None)
    raiser = frame.f_code if frame is not None else None
    is_stub = msg.startswith("Exercise")
    if is_stub and raiser is not None and own_code is not None and raiser is not own_code:
        upstream = raiser.co_name
        mine = getattr(own_code, "co_name", "your function")
        return (
            f"{TODO} {name}: your `{mine}` calls `{upstream}`, which is not done yet (it is an earlier "
            f"exercise). Finish `{upstream}` first: replace its `raise NotImplementedError(...)` line, run "
            f"its cell and its check, then run this check again. (Until then the cells below use the "
            "library's version.)"
        )
    own = "" if not msg or is_stub else f" ({_short(msg, 120)})"
    return (
        f"{TODO} {name}: not done yet{own}. Replace the `raise NotImplementedError(...)` line "
        "in the exercise cell with your code, run that cell, then run this check again. "
        "(Until then the cells below use the library's version.)"
    )


def _check_inputs_unchanged(case: Case, args: tuple, kwargs: dict, fn: Callable) -> None:
    before = _tensors_in(case.args, case.kwargs, fn)
    after = _tensors_in(args, kwargs, fn)
    for (label, b), (_, a) in zip(before, after):
        if a.shape != b.shape or not torch.equal(a.detach(), b.detach()):
            raise CheckFailure(
                f"your function changed its input ({label}) in place. Compute a new tensor instead "
                "(e.g. `y = x * 2`, not `x *= 2`)."
            )


def _check_grads(student_fn, reference_fn, case: Case, seed: int, rtol: float, atol: float,
                 limit: float | None = None) -> None:
    names, g_ref, _ = _grads(reference_fn, case, seed, reference_fn)
    with _time_limit(limit):
        _, g_you, out = _grads(student_fn, case, seed, reference_fn)
    for label, gr, gy in zip(names, g_ref, g_you):
        if gr is None:
            continue  # the reference does not depend on this input
        if gy is None:
            if not bool(gr.abs().gt(0).any()):
                continue  # zero slope either way (e.g. saturated units): nothing to compare
            raise CheckFailure(
                f"your output does not depend on {label} as far as autograd can see (no gradient flows "
                f"back to it), yet it should. Either {label} is left out of your formula, or the "
                "computation leaves torch: avoid .item(), .numpy(), .detach(), torch.tensor(...) on "
                "results, and the math module."
            )
        if bool(torch.isnan(gy).any()) and not bool(torch.isnan(gr).any()):
            idx = _first_index(torch.isnan(gy))
            raise CheckFailure(
                f"your values are right, but the gradient with respect to {label} is NaN (first at index "
                f"{_index_str(idx)}, expected {_fmt_num(float(gr[idx]))}): an intermediate result of your "
                "formula overflowed (exp of a large number is inf, and inf / inf or 0 * inf is NaN) even "
                "though the output came out finite. Training would be poisoned by it. Use a function that "
                "never overflows (torch.sigmoid, torch.logsumexp, torch.nn.functional.softplus)."
            )
        try:
            _compare(gy, gr, f"the gradient with respect to {label}", rtol, atol, False)
        except CheckFailure as exc:
            raise CheckFailure(
                f"{exc} (The values match but the slopes do not: check signs and factors, and "
                "avoid non-differentiable steps such as rounding.)"
            ) from None
