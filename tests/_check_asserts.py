"""What the tests of the exercise checks assert about a check's verdict (shared by
test_checks_theory.py and test_checks_evaluation.py)."""
from __future__ import annotations


def run(check, fn, capsys):
    """``(verdict, printed text)`` of ``check(fn)``."""
    ok = check(fn)
    return ok, capsys.readouterr().out


def stub(*args, **kwargs):
    """A student's exercise not written yet."""
    raise NotImplementedError("Exercise: write it")


def assert_passes(check, fn, capsys):
    ok, out = run(check, fn, capsys)
    assert bool(ok) is True, out
    assert out.startswith("✅"), out


def assert_fails(check, fn, capsys, *must_contain):
    """The check fails ``fn`` with one verdict line (no traceback) holding each of ``must_contain``."""
    ok, out = run(check, fn, capsys)
    assert bool(ok) is False, out
    assert out.startswith("❌"), out
    for text in must_contain:
        assert text in out, out
    assert "Traceback" not in out
