"""The course tool (sesmlib/course.py): the profile, student copies made from solutions,
output stripping, byte-for-byte idempotence, and stale-notebook detection."""
from __future__ import annotations

import ast
import json
import subprocess
import sys

import pytest

from sesmlib import course
from sesmlib.course import AuthoringError, dumps, student_notebook, tidy_solution


def code(src, outputs=None, count=None, metadata=None, cid=None):
    cell = {"cell_type": "code", "metadata": metadata or {}, "source": src,
            "outputs": outputs or [], "execution_count": count}
    if cid:
        cell["id"] = cid
    return cell


def md(src, cid=None):
    cell = {"cell_type": "markdown", "metadata": {}, "source": src}
    if cid:
        cell["id"] = cid
    return cell


def notebook(*cells, metadata=None):
    return {"nbformat": 4, "nbformat_minor": 4, "metadata": metadata or {}, "cells": list(cells)}


def src(cell):
    return "".join(cell["source"])


STREAM = {"output_type": "stream", "name": "stdout", "text": "hello\n"}
SOLUTION_CELL = '''import torch

class Model:
    def logistic(self, x, gain):
        """docstring stays"""
        ### BEGIN SOLUTION
        ### HINT: l(x) = 1 / (1 + exp(-g x)); "torch.sigmoid" helps
        y = torch.sigmoid(gain * x)
        return y
        ### END SOLUTION

def double(x):
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION
'''


# ---------------------------------------------------------------------------- profile


def test_profile_default_quick_full_and_bad(monkeypatch):
    monkeypatch.delenv("SESMLIB_PROFILE", raising=False)
    assert course.profile() == "full"
    monkeypatch.setenv("SESMLIB_PROFILE", "quick")
    assert course.profile() == "quick"
    monkeypatch.setenv("SESMLIB_PROFILE", " FULL ")
    assert course.profile() == "full"
    monkeypatch.setenv("SESMLIB_PROFILE", "fast")
    with pytest.raises(ValueError, match="SESMLIB_PROFILE.*'fast'"):
        course.profile()


# ---------------------------------------------------------------------- student copies


def test_solution_blocks_become_stubs_at_their_indentation():
    out = src(student_notebook(notebook(code(SOLUTION_CELL)))["cells"][0])
    lines = out.splitlines()
    assert '        raise NotImplementedError("Exercise: l(x) = 1 / (1 + exp(-g x)); \\"torch.sigmoid\\" helps")' in lines
    assert '    raise NotImplementedError("Exercise: write your code here")' in lines
    assert "torch.sigmoid(gain * x)" not in out and "2 * x" not in out and "###" not in out
    assert '"""docstring stays"""' in out and "def double(x):" in out
    ast.parse(out)  # still valid Python


def test_stubs_raise_the_hint_when_called_not_when_defined():
    namespace = {}
    exec(src(student_notebook(notebook(code(SOLUTION_CELL)))["cells"][0]), namespace)  # defining is fine
    with pytest.raises(NotImplementedError, match='Exercise: l\\(x\\).*"torch.sigmoid" helps'):
        namespace["Model"]().logistic(1.0, 7.0)
    with pytest.raises(NotImplementedError, match="Exercise: write your code here"):
        namespace["double"](3)


def test_top_level_block_and_several_hint_lines():
    cell = code("x = 1\n### BEGIN SOLUTION\n### HINT: first\n### HINT: second\ny = x + 1\n### END SOLUTION")
    out = src(student_notebook(notebook(cell))["cells"][0])
    assert out == 'x = 1\nraise NotImplementedError("Exercise: first second")'


@pytest.mark.parametrize(
    "bad, message",
    [
        ("### BEGIN SOLUTION\nx = 1\n", "without '### END SOLUTION'"),
        ("x = 1\n### END SOLUTION\n", "without '### BEGIN SOLUTION'"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "inside another"),
    ],
)
def test_broken_markers_name_the_cell_and_line(bad, message):
    with pytest.raises(AuthoringError, match=message) as err:
        student_notebook(notebook(md("# t"), code(bad)), name="07_x.ipynb")
    assert "07_x.ipynb, cell 1, line" in str(err.value)


def test_answers_are_replaced_and_other_markdown_kept():
    nb = notebook(md("**Think!** Why?"), md("<!-- ANSWER -->\nBecause of the partition function."),
                  md("Text mentioning <!-- ANSWER --> later"))
    cells = student_notebook(nb)["cells"]
    assert src(cells[0]) == "**Think!** Why?"
    assert src(cells[1]) == "*Write your answer here.*"
    assert "partition" not in json.dumps(cells)
    assert src(cells[2]).startswith("Text mentioning")


def test_outputs_counts_and_volatile_metadata_are_stripped():
    nb = notebook(
        code("# NBVAL_CHECK_OUTPUT\nprint('hello')", outputs=[STREAM], count=3,
             metadata={"tags": ["keep-me"], "scrolled": True, "execution": {"iopub.execute_input": "2024"}}),
        code("print('noise')", outputs=[STREAM], count=4, metadata={"collapsed": False}),
        metadata={"widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}}},
                  "language_info": {"name": "python", "version": "3.11.4"},
                  "kernelspec": {"name": "my-env", "display_name": "my env", "language": "python"}},
    )
    student = student_notebook(nb)
    solution = tidy_solution(nb)
    for out in (student, solution):
        assert out["metadata"] == {"kernelspec": course.KERNELSPEC, "language_info": {"name": "python"}}
        assert out["nbformat"] == 4 and out["nbformat_minor"] == 5
        assert out["cells"][0]["metadata"] == {"tags": ["keep-me"]} and out["cells"][1]["metadata"] == {}
        assert all(c["id"] for c in out["cells"])
    assert [c["execution_count"] for c in student["cells"]] == [None, None]
    assert [c["execution_count"] for c in solution["cells"]] == [1, None]  # nbval needs a count
    assert all(c["outputs"] == [] for c in student["cells"])
    assert src(student["cells"][0]) == "print('hello')"  # the nbval marker is not the students' business
    assert solution["cells"][0]["outputs"] == [{"output_type": "stream", "name": "stdout", "text": ["hello\n"]}]
    assert solution["cells"][1]["outputs"] == []


def test_nbval_skip_becomes_a_tag():
    cell = student_notebook(notebook(code("# NBVAL_SKIP\nslow()")))["cells"][0]
    assert src(cell) == "slow()" and cell["metadata"]["tags"] == ["nbval-skip"]


def test_cell_ids_kept_or_made_unique():
    nb = notebook(md("a", cid="intro"), md("b", cid="intro"), md("c", cid="bad id!"), md("d"))
    ids = [c["id"] for c in student_notebook(nb)["cells"]]
    assert ids[0] == "intro" and len(set(ids)) == 4


def test_student_copy_and_tidy_are_fixed_points():
    nb = notebook(code(SOLUTION_CELL, outputs=[STREAM], count=1), md("<!-- ANSWER -->\nyes"))
    student = student_notebook(nb)
    assert dumps(student_notebook(student)) == dumps(student)
    tidy = tidy_solution(nb)
    assert dumps(tidy_solution(json.loads(dumps(tidy)))) == dumps(tidy)


def test_dumps_is_deterministic_json():
    nb = student_notebook(notebook(md("é ü"), code("x = 1")))
    text = dumps(nb)
    assert text.endswith("}\n") and "é ü" in text and json.loads(text) == nb
    assert text == dumps(json.loads(text))


# --------------------------------------------------------------------- build and check


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "notebooks").mkdir()
    nb = notebook(md("# 00"), code(SOLUTION_CELL, outputs=[STREAM], count=2),
                  code("# NBVAL_CHECK_OUTPUT\nprint('hello')", outputs=[STREAM], count=3),
                  md("<!-- ANSWER -->\nmodel answer"))
    (tmp_path / "solutions" / "00_start_here.ipynb").write_text(json.dumps(nb))
    (tmp_path / "solutions" / "01_next.ipynb").write_text(json.dumps(notebook(md("# 01"))))
    return tmp_path


def snapshot(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.ipynb"))}


def test_build_writes_student_copies_and_a_second_run_changes_no_byte(repo):
    changed = course.build(repo / "solutions", repo / "notebooks")
    assert {p.name for p in changed} == {"00_start_here.ipynb", "01_next.ipynb"}
    first = snapshot(repo)
    assert "notebooks/00_start_here.ipynb" in first
    assert b"model answer" not in first["notebooks/00_start_here.ipynb"]
    assert b"NotImplementedError" in first["notebooks/00_start_here.ipynb"]
    assert course.build(repo / "solutions", repo / "notebooks") == []
    assert snapshot(repo) == first
    assert course.stale_notebooks(repo / "solutions", repo / "notebooks") == []


def test_build_selected_names(repo):
    changed = course.build(repo / "solutions", repo / "notebooks", names=["01"])
    assert [p.parent.name + "/" + p.name for p in changed][0] == "notebooks/01_next.ipynb"
    assert not (repo / "notebooks" / "00_start_here.ipynb").exists()


def test_editing_a_solution_without_rebuilding_is_detected(repo, capsys):
    assert course.main(["build", "--root", str(repo)]) == 0
    assert course.main(["build", "--check", "--root", str(repo)]) == 0
    path = repo / "solutions" / "00_start_here.ipynb"
    nb = json.loads(path.read_text())
    nb["cells"][0]["source"] = ["# 00, edited"]
    path.write_text(course.dumps(nb))
    (repo / "notebooks" / "99_orphan.ipynb").write_text(dumps(notebook()))
    capsys.readouterr()
    assert course.main(["build", "--check", "--root", str(repo)]) == 1
    err = capsys.readouterr().err
    assert "notebooks/00_start_here.ipynb differs" in err
    assert "99_orphan.ipynb has no solutions/99_orphan.ipynb" in err
    assert "make notebooks" in err and "python -m sesmlib.course build" in err


def test_solution_saved_with_outputs_is_reported_then_tidied(repo, capsys):
    course.build(repo / "solutions", repo / "notebooks")
    path = repo / "solutions" / "01_next.ipynb"
    nb = json.loads(path.read_text())
    nb["cells"].append(code("print(1)", outputs=[STREAM], count=9))
    nb["metadata"]["widgets"] = {"state": {}}
    path.write_text(json.dumps(nb))
    problems = course.stale_notebooks(repo / "solutions", repo / "notebooks")
    assert any("solutions/01_next.ipynb holds outputs" in p for p in problems)
    course.build(repo / "solutions", repo / "notebooks")
    tidy = json.loads(path.read_text())
    assert tidy["cells"][-1]["outputs"] == [] and "widgets" not in tidy["metadata"]
    assert course.stale_notebooks(repo / "solutions", repo / "notebooks") == []


def test_authoring_error_exit_status(repo, capsys):
    (repo / "solutions" / "02_bad.ipynb").write_text(json.dumps(notebook(code("### BEGIN SOLUTION\n"))))
    assert course.main(["build", "--root", str(repo)]) == 2
    assert "02_bad.ipynb, cell 0" in capsys.readouterr().err


def test_cli_through_python_m_sesmlib(repo):
    """`python -m sesmlib course build --check` reaches the tool (one subprocess: torch import is slow)."""
    cmd = [sys.executable, "-m", "sesmlib", "course", "build", "--check", "--root", str(repo)]
    stale = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert stale.returncode == 1 and "make notebooks" in stale.stderr


@pytest.mark.notebook
def test_execute_stores_only_checked_outputs_and_skips_failures(repo, monkeypatch, capsys):
    """One kernel per notebook: the good one gets its checked output stored (in the quick
    profile), the failing one is reported and left as it was."""
    monkeypatch.delenv("SESMLIB_PROFILE", raising=False)
    good = notebook(code("import os\nprint('noise')"),
                    code("# NBVAL_CHECK_OUTPUT\nprint(os.environ['SESMLIB_PROFILE'], 6 * 7)"))
    (repo / "solutions" / "00_start_here.ipynb").write_text(json.dumps(good))
    bad_path = repo / "solutions" / "01_next.ipynb"
    bad_path.write_text(json.dumps(notebook(code("raise RuntimeError('broken solution')"))))
    before = bad_path.read_bytes()
    assert course.main(["execute", "--root", str(repo)]) == 1
    assert "broken solution" in capsys.readouterr().err
    assert bad_path.read_bytes() == before
    cells = json.loads((repo / "solutions" / "00_start_here.ipynb").read_text())["cells"]
    assert cells[0]["outputs"] == [] and cells[0]["execution_count"] is None
    assert cells[1]["outputs"] == [{"name": "stdout", "output_type": "stream", "text": ["quick 42\n"]}]
    assert cells[1]["execution_count"] == 2
    assert "SESMLIB_PROFILE" not in __import__("os").environ  # restored
