"""The course tool (sesmlib/course/): the profile, student copies made from solutions,
output stripping, byte-for-byte idempotence, stale-notebook detection and its advice, the
tool never overwriting what it did not write, the students' working copies (setup, update
by a cell-by-cell merge, backups), file permissions, and progress/grading."""
from __future__ import annotations

import ast
import json
import os
import shutil
import stat
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



def _exercise(hint, body):
    return code("def f(x, W, b):\n    ### BEGIN SOLUTION\n    ### HINT: " + hint + "\n" + body + "    ### END SOLUTION\n")


def test_a_hint_holding_a_line_of_its_own_solution_is_an_authoring_error():
    cell = _exercise("U = x @ W + b; then return U", "    U = x @ W + b\n    return U\n")
    with pytest.raises(AuthoringError, match=r"03_x.ipynb, cell 1, line 4: .*contains its own solution line 'U = x @ W \+ b'"):
        student_notebook(notebook(md("# 03"), cell), name="03_x.ipynb")
    # spaces, a comment or a leading return do not hide it
    cell = _exercise("torch.sigmoid( 7*x )", "    return torch.sigmoid(7 * x)  # the answer\n")
    with pytest.raises(AuthoringError, match="contains its own solution line"):
        student_notebook(notebook(cell))
    with pytest.raises(AuthoringError, match="contains its own solution line"):
        tidy_solution(notebook(cell))


def test_a_hint_with_the_idea_only_passes_the_lint():
    cell = _exercise("the logistic of 7 x; torch has one (y = ... )", "    y = torch.sigmoid(7 * x)\n    return y\n")
    out = src(student_notebook(notebook(cell))["cells"][0])
    assert 'raise NotImplementedError("Exercise: the logistic of 7 x; torch has one (y = ... )")' in out


def test_no_solution_hint_in_the_course_holds_its_answer():
    for path in sorted((course.REPO / "solutions").glob("*.ipynb")):
        student_notebook(json.loads(path.read_text()), name=path.name)  # raises AuthoringError


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


def test_answers_become_a_cell_to_write_in_and_the_model_answer_folded():
    nb = notebook(md("**Think!** Why?"), md("<!-- ANSWER -->\n*Model answer.* Because of $\\log Z$.\n\n- one\n", cid="why"),
                  md("Text mentioning <!-- ANSWER --> later"))
    cells = student_notebook(nb)["cells"]
    assert [c["cell_type"] for c in cells] == ["markdown"] * 4
    assert src(cells[0]) == "**Think!** Why?"
    assert src(cells[1]) == "*Write your answer here.*" and cells[1]["id"] == "why"
    # folded, with blank lines around the body so that JupyterLab renders its markdown
    assert src(cells[2]) == ("<details>\n<summary>Model answer (open it after writing yours)</summary>\n\n"
                             "*Model answer.* Because of $\\log Z$.\n\n- one\n\n</details>")
    assert cells[2]["id"] != "why" and "ANSWER" not in src(cells[2])
    assert src(cells[3]).startswith("Text mentioning")


def test_collapsed_cells_stay_collapsed_in_both_copies():
    hidden = {"jupyter": {"source_hidden": True, "outputs_hidden": True, "other": 1}, "collapsed": True}
    nb = notebook(code("plot()", metadata=hidden), code("x = 1", metadata={"jupyter": {"source_hidden": False}}))
    for out in (student_notebook(nb), tidy_solution(nb)):
        assert out["cells"][0]["metadata"] == {"jupyter": {"source_hidden": True, "outputs_hidden": True}}
        assert out["cells"][1]["metadata"] == {}


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
        meta = {k: v for k, v in out["metadata"].items() if k != "sesmlib"}
        assert meta == {"kernelspec": course.KERNELSPEC, "language_info": {"name": "python"}}
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


def snapshot(root, folder=""):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted((root / folder).rglob("*.ipynb"))}


def test_build_writes_student_copies_and_a_second_run_changes_no_byte(repo):
    changed = course.build(repo / "solutions", repo / "notebooks")
    assert {p.name for p in changed} == {"00_start_here.ipynb", "01_next.ipynb"}
    first = snapshot(repo)
    assert "notebooks/00_start_here.ipynb" in first
    assert b"NotImplementedError" in first["notebooks/00_start_here.ipynb"]
    assert b"2 * x" not in first["notebooks/00_start_here.ipynb"]
    assert course.build(repo / "solutions", repo / "notebooks") == []
    assert snapshot(repo) == first
    assert course.stale_notebooks(repo / "solutions", repo / "notebooks") == []


def test_build_selected_names(repo):
    changed = course.build(repo / "solutions", repo / "notebooks", names=["01"])
    assert [p.parent.name + "/" + p.name for p in changed][0] == "notebooks/01_next.ipynb"
    assert not (repo / "notebooks" / "00_start_here.ipynb").exists()


def test_editing_a_solution_without_rebuilding_is_detected_and_the_advice_fixes_it(repo, capsys):
    assert course.main(["build", "--root", str(repo)]) == 0
    assert course.main(["build", "--check", "--root", str(repo)]) == 0
    path = repo / "solutions" / "00_start_here.ipynb"
    nb = json.loads(path.read_text())
    nb["cells"][0]["source"] = ["# 00, edited"]
    path.write_text(course.dumps(nb))
    capsys.readouterr()
    assert course.main(["build", "--check", "--root", str(repo)]) == 1
    err = capsys.readouterr().err
    assert "notebooks/00_start_here.ipynb differs" in err
    assert_advice_fixes(repo, err, capsys)


def fix_line(err):
    """The command after 'Fix:' in --check's report, as argv for course.main."""
    line = [ln for ln in err.splitlines() if ln.startswith("Fix: ")][-1]
    cmd = line.removeprefix("Fix: ").split("  ")[0].split()
    assert cmd[:4] == ["python", "-m", "sesmlib.course", "build"], line
    return cmd[3:]


def assert_advice_fixes(repo, err, capsys):
    assert course.main(fix_line(err)) == 0, capsys.readouterr()
    capsys.readouterr()
    assert course.main(["build", "--check", "--root", str(repo)]) == 0, capsys.readouterr().err


def test_advice_in_this_checkout_names_the_make_targets():
    steps = [course.generator.Step("write", course.REPO / "notebooks" / "x.ipynb", "x")]
    assert course.generator.fix_command(steps, course.REPO) == course.FIX_COMMAND
    steps.append(course.generator.Step("refuse", course.REPO / "notebooks" / "y.ipynb", "y"))
    assert course.generator.fix_command(steps, course.REPO) == course.FORCE_COMMAND
    assert "make notebooks FORCE=1" in course.FORCE_COMMAND and "--force" in course.FORCE_COMMAND


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


@pytest.mark.parametrize("where", ["missing", "empty", "file"])
def test_a_wrong_root_is_an_error_not_up_to_date(tmp_path, capsys, where):
    root = {"missing": tmp_path / "nonexistent", "empty": tmp_path, "file": tmp_path / "f.txt"}[where]
    if where == "file":
        root.write_text("x")
    for argv in (["build", "--check"], ["build"], ["update"], ["setup"]):
        assert course.main(argv + ["--root", str(root)]) == 2, argv
        err = capsys.readouterr().err
        assert str(root) in err and ("--root" in err or "course repository" in err), err
    assert not (tmp_path / "nonexistent").exists() and not (tmp_path / "notebooks").exists()


def test_cli_through_python_m_sesmlib(repo):
    """`python -m sesmlib course build --check` reaches the tool (one subprocess: torch import is slow)."""
    cmd = [sys.executable, "-m", "sesmlib", "course", "build", "--check", "--root", str(repo)]
    stale = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert stale.returncode == 1 and f"python -m sesmlib.course build --root {repo}" in stale.stderr


# ------------------------------------------ notebooks/ is the tool's: edits are never lost


def hand_edit(path, text="def logistic(x, gain):\n    return 42  # my answer\n"):
    nb = json.loads(path.read_text())
    nb["cells"][1]["source"] = [text]
    path.write_text(json.dumps(nb, indent=1))


def test_student_copies_record_that_the_tool_wrote_them(repo):
    course.build(repo / "solutions", repo / "notebooks")
    path = repo / "notebooks" / "00_start_here.ipynb"
    assert json.loads(path.read_text())["metadata"]["sesmlib"]["generated"].startswith("sha256:")
    assert course.written_by_tool(path)
    nb = json.loads(path.read_text())
    path.write_text(json.dumps(nb))  # re-formatted, same content: still the tool's
    assert course.written_by_tool(path)
    hand_edit(path)
    assert not course.written_by_tool(path)
    path.write_text("{not json")
    assert not course.written_by_tool(path)


def test_build_refuses_to_overwrite_a_hand_edited_copy(repo, capsys):
    course.build(repo / "solutions", repo / "notebooks")
    student = repo / "notebooks" / "00_start_here.ipynb"
    hand_edit(student)
    edited = student.read_bytes()
    src_path = repo / "solutions" / "01_next.ipynb"
    src_path.write_text(json.dumps(notebook(md("# 01, new"))))  # something else to build
    with pytest.raises(course.RefusedError, match="00_start_here.ipynb was changed by hand") as err:
        course.build(repo / "solutions", repo / "notebooks")
    assert "--force" in str(err.value)
    assert student.read_bytes() == edited  # untouched
    assert b"01, new" in (repo / "notebooks" / "01_next.ipynb").read_bytes()  # the rest was built
    assert course.main(["build", "--root", str(repo)]) == 1
    assert student.read_bytes() == edited
    assert not (repo / "work").exists()


def test_build_force_backs_the_edited_copy_up_and_says_where(repo, capsys):
    course.build(repo / "solutions", repo / "notebooks")
    student = repo / "notebooks" / "00_start_here.ipynb"
    hand_edit(student)
    edited = student.read_bytes()
    capsys.readouterr()
    assert course.main(["build", "--force", "--root", str(repo)]) == 0
    out = capsys.readouterr().out
    backups = list((repo / "work" / "backups").rglob("00_start_here.ipynb"))
    assert len(backups) == 1 and backups[0].read_bytes() == edited
    assert backups[0].relative_to(repo).as_posix() in out
    assert course.written_by_tool(student) and b"my answer" not in student.read_bytes()


def test_check_with_a_hand_edited_copy_gives_advice_that_fixes_it(repo, capsys):
    """The probe: a student fills in an exercise in notebooks/; --check's advice must work."""
    course.build(repo / "solutions", repo / "notebooks")
    hand_edit(repo / "notebooks" / "00_start_here.ipynb")
    capsys.readouterr()
    assert course.main(["build", "--check", "--root", str(repo)]) == 1
    err = capsys.readouterr().err
    assert "changed by hand" in err and "work/" in err
    assert_advice_fixes(repo, err, capsys)
    assert list((repo / "work" / "backups").rglob("00_start_here.ipynb"))  # the answers are kept


def test_check_with_a_scratch_notebook_gives_advice_that_fixes_it(repo, capsys):
    """The probe: an extra notebooks/my_scratch.ipynb; --check's advice must work, and keep it."""
    course.build(repo / "solutions", repo / "notebooks")
    scratch = repo / "notebooks" / "my_scratch.ipynb"
    scratch.write_text(json.dumps(notebook(code("print('mine')"))))
    mine = scratch.read_bytes()
    capsys.readouterr()
    assert course.main(["build", "--check", "--root", str(repo)]) == 1
    err = capsys.readouterr().err
    assert "my_scratch.ipynb is not a course notebook" in err
    with pytest.raises(course.RefusedError):
        course.build(repo / "solutions", repo / "notebooks")
    assert scratch.read_bytes() == mine
    assert_advice_fixes(repo, err, capsys)
    assert not scratch.exists()
    assert [p.read_bytes() for p in (repo / "work" / "backups").rglob("my_scratch.ipynb")] == [mine]


def test_a_copy_the_tool_wrote_for_a_removed_solution_is_deleted(repo, capsys):
    course.build(repo / "solutions", repo / "notebooks")
    (repo / "solutions" / "01_next.ipynb").unlink()
    assert "01_next.ipynb has no solutions/01_next.ipynb" in "\n".join(
        course.stale_notebooks(repo / "solutions", repo / "notebooks"))
    course.build(repo / "solutions", repo / "notebooks")
    assert not (repo / "notebooks" / "01_next.ipynb").exists()


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_notebooks_and_working_copies_are_written_as_the_umask_allows(repo, umask_022):
    course.build(repo / "solutions", repo / "notebooks")
    course.setup_work(repo / "notebooks", repo / "work")
    hand_edit(repo / "work" / "00_start_here.ipynb")
    path = repo / "solutions" / "00_start_here.ipynb"
    nb = json.loads(path.read_text())
    nb["cells"][0]["source"] = ["# 00, edited"]
    path.write_text(json.dumps(nb))
    course.build(repo / "solutions", repo / "notebooks")
    course.update_work(repo / "notebooks", repo / "work")
    files = [p for p in repo.rglob("*.ipynb")]
    assert any("backups" in p.parts for p in files) and len(files) >= 7
    modes = {p.relative_to(repo).as_posix(): oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
    assert set(modes.values()) == {"0o644"}, modes
    assert not [p for p in repo.rglob("*.tmp")]


# ------------------------------------------------------- students work in work/, kept safe


def test_setup_copies_what_is_missing_and_never_overwrites(repo, capsys):
    course.build(repo / "solutions", repo / "notebooks")
    report = course.setup_work(repo / "notebooks", repo / "work")
    assert sorted(report.created) == ["00_start_here.ipynb", "01_next.ipynb"]
    work = repo / "work" / "00_start_here.ipynb"
    assert work.read_bytes() == (repo / "notebooks" / "00_start_here.ipynb").read_bytes()
    hand_edit(work)
    (repo / "work" / "01_next.ipynb").unlink()  # a student may delete one to start it again
    mine = work.read_bytes()
    # the course changes notebook 00: setup says so, and still does not touch the student's copy
    path = repo / "solutions" / "00_start_here.ipynb"
    nb = json.loads(path.read_text())
    nb["cells"][0]["source"] = ["# 00, edited"]
    path.write_text(json.dumps(nb))
    course.build(repo / "solutions", repo / "notebooks")
    report = course.setup_work(repo / "notebooks", repo / "work")
    assert report.created == ["01_next.ipynb"] and report.pending == ["00_start_here.ipynb"]
    assert "make update" in "\n".join(report.lines)
    assert work.read_bytes() == mine


def test_setup_carries_answers_written_in_notebooks_over_to_work(repo):
    """A student who wrote in notebooks/ before work/ existed keeps those answers."""
    course.build(repo / "solutions", repo / "notebooks")
    hand_edit(repo / "notebooks" / "00_start_here.ipynb")
    edited = (repo / "notebooks" / "00_start_here.ipynb").read_bytes()
    course.setup_work(repo / "notebooks", repo / "work")
    assert (repo / "work" / "00_start_here.ipynb").read_bytes() == edited
    assert course.build(repo / "solutions", repo / "notebooks", force=True)  # now safe to restore
    course.build(repo / "solutions", repo / "notebooks", force=True)
    assert (repo / "work" / "00_start_here.ipynb").read_bytes() == edited


def test_a_student_filling_in_work_leaves_the_checks_of_make_test_green(repo, capsys):
    """`make test` checks notebooks/ and solutions/, never work/: a student's answers there
    change nothing it checks, and no build touches them."""
    course.build(repo / "solutions", repo / "notebooks")
    course.setup_work(repo / "notebooks", repo / "work")
    hand_edit(repo / "work" / "00_start_here.ipynb")
    (repo / "work" / "my_scratch.ipynb").write_text(json.dumps(notebook(code("1"))))
    work = snapshot(repo, "work")
    assert course.stale_notebooks(repo / "solutions", repo / "notebooks") == []
    assert course.main(["build", "--check", "--root", str(repo)]) == 0
    assert course.main(["build", "--force", "--root", str(repo)]) == 0
    assert snapshot(repo, "work") == work


def test_work_is_ignored_by_git():
    if shutil.which("git") is None or not (course.REPO / ".git").exists():
        pytest.skip("not a git checkout")
    probe = subprocess.run(["git", "check-ignore", "-q", "work/00_start_here.ipynb"], cwd=course.REPO)
    assert probe.returncode == 0, ".gitignore must ignore work/ (the students' folder)"


def edit_cell(nb, cid, text):
    for cell in nb["cells"]:
        if cell["id"] == cid:
            cell["source"] = [text]
            return
    raise KeyError(cid)


@pytest.fixture
def course_v1(repo):
    nb = notebook(md("# 00", cid="title"), code("import math", cid="setup"),
                  code("def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION", cid="ex"),
                  code("# NBVAL_CHECK_OUTPUT\ncheck(f)", cid="check"),
                  md("**Think!** Why?", cid="q"), md("<!-- ANSWER -->\nBecause.", cid="a"),
                  md("## Summary", cid="end"))
    (repo / "solutions" / "00_start_here.ipynb").write_text(json.dumps(nb))
    course.build(repo / "solutions", repo / "notebooks")
    course.setup_work(repo / "notebooks", repo / "work")
    return nb


def release(repo, nb):
    (repo / "solutions" / "00_start_here.ipynb").write_text(json.dumps(nb))
    course.build(repo / "solutions", repo / "notebooks")


def cells_by_id(path):
    return {c["id"]: "".join(c["source"]) for c in json.loads(path.read_text())["cells"]}


def test_update_brings_the_new_version_and_keeps_the_answers(repo, course_v1):
    work = repo / "work" / "00_start_here.ipynb"
    mine = json.loads(work.read_text())
    edit_cell(mine, "ex", "def f(x):\n    return x + x  # mine")
    edit_cell(mine, "a", "Because I say so.")
    mine["cells"][3]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["ok\n"]}]
    mine["cells"].insert(4, {"cell_type": "code", "id": "my-own", "metadata": {}, "source": ["f(3)"],
                             "outputs": [], "execution_count": None})
    work.write_text(json.dumps(mine, indent=1))
    before = work.read_bytes()
    # the course's next version: a changed set-up cell, a new section, a removed summary
    v2 = json.loads(json.dumps(course_v1))
    edit_cell(v2, "setup", "import math\nimport cmath")
    v2["cells"].insert(6, md("## 2. More", cid="more"))
    v2["cells"] = [c for c in v2["cells"] if c["id"] != "end"]
    release(repo, v2)
    report = course.update_work(repo / "notebooks", repo / "work")
    assert report.updated == ["00_start_here.ipynb"]
    got = json.loads(work.read_text())
    ids = [c["id"] for c in got["cells"]]
    assert ids == ["title", "setup", "ex", "check", "my-own", "q", "a", "a-model", "more"]
    by = cells_by_id(work)
    assert by["setup"] == "import math\nimport cmath"  # the course's new version
    assert by["ex"].endswith("# mine") and by["a"] == "Because I say so." and by["my-own"] == "f(3)"
    assert got["cells"][3]["outputs"]  # an untouched cell keeps its outputs
    backups = list((repo / "work" / "backups").rglob("00_start_here.ipynb"))
    assert len(backups) == 1 and backups[0].read_bytes() == before
    assert backups[0].relative_to(repo).as_posix() in "\n".join(report.lines)
    # a second update has nothing to do and makes no backup
    again = course.update_work(repo / "notebooks", repo / "work")
    assert again.updated == [] and "up to date" in "\n".join(again.lines)
    assert len(list((repo / "work" / "backups").rglob("*.ipynb"))) == 1


def test_update_when_both_changed_a_cell_keeps_the_students_and_says_so(repo, course_v1):
    work = repo / "work" / "00_start_here.ipynb"
    mine = json.loads(work.read_text())
    edit_cell(mine, "ex", "def f(x):\n    return x + x  # mine")
    del mine["cells"][4]  # the student deleted the question: it stays deleted
    work.write_text(json.dumps(mine))
    v2 = json.loads(json.dumps(course_v1))
    edit_cell(v2, "ex", "def f(x, y=0):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION")
    release(repo, v2)
    report = course.update_work(repo / "notebooks", repo / "work")
    text = "\n".join(report.lines)
    assert "(ex): you edited it and the course changed it too" in text
    by = cells_by_id(work)
    assert by["ex"].endswith("# mine") and "q" not in by
    note = [v for k, v in by.items() if k.startswith("update-note")]
    assert len(note) == 1 and "notebooks/00_start_here.ipynb" in note[0] and "backups" in note[0]
    ids = list(by)
    assert ids.index("ex") == ids.index(next(k for k in ids if k.startswith("update-note"))) + 1


def test_update_copies_new_notebooks_and_leaves_unreadable_copies_alone(repo, course_v1):
    (repo / "solutions" / "02_new.ipynb").write_text(json.dumps(notebook(md("# 02"))))
    course.build(repo / "solutions", repo / "notebooks")
    broken = repo / "work" / "01_next.ipynb"
    broken.write_text("{half a notebook")
    release(repo, notebook(md("# 00 v2", cid="title")))
    (repo / "solutions" / "01_next.ipynb").write_text(json.dumps(notebook(md("# 01 v2"))))
    course.build(repo / "solutions", repo / "notebooks")
    report = course.update_work(repo / "notebooks", repo / "work")
    assert report.created == ["02_new.ipynb"] and (repo / "work" / "02_new.ipynb").exists()
    assert broken.read_text() == "{half a notebook"
    assert (repo / "work" / "01_next.new.ipynb").exists()
    assert "01_next.new.ipynb" in "\n".join(report.lines)


def test_merge_without_a_record_keeps_every_cell_the_student_has():
    cell = lambda cid, s: {"cell_type": "code", "id": cid, "metadata": {}, "source": s, "outputs": []}
    mine = {"cells": [cell("a", "x = 1"), cell("b", "mine")], "metadata": {"k": 1}}
    new = {"cells": [cell("a", "x = 1"), cell("b", "course"), cell("c", "new")], "metadata": {}}
    merged, notes = course.working.merge(None, mine, new)
    assert ["".join(c["source"]) for c in merged["cells"]] == ["x = 1", "mine", "new"]
    assert merged["metadata"] == {"k": 1} and "kept as yours" in notes[0]



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


# ------------------------------------------------------------------- progress and grading


def test_verdicts_are_read_from_the_checks_markers():
    from sesmlib.checks._core import FAIL, PASS, TODO
    from sesmlib.course import grading

    def stream(text):
        return [{"output_type": "stream", "name": "stdout", "text": [text]}]

    assert grading.verdict(stream(f"{PASS} f: correct on all 3 inputs.\n")) == ("passed", f"{PASS} f: correct on all 3 inputs.")
    assert grading.verdict(stream(f"{FAIL} f: not right yet.\n  input: x = 0\n"))[0] == "failing"
    assert grading.verdict(stream(f"Note: something\n{TODO} f: not done yet.\n")) == ("not done", f"{TODO} f: not done yet.")
    error = [{"output_type": "error", "ename": "NameError", "evalue": "name 'f' is not defined", "traceback": []}]
    status, line = grading.verdict(error)
    assert status == "failing" and "NameError" in line
    assert grading.verdict(stream("nothing to see\n")) is None


def test_exercises_are_named_after_the_function_checked():
    from sesmlib.course import grading

    nb = notebook(code("def f(x):\n    return x"), code("checks.check_logistic(f)"),
                  code("# checks.check_old(g)\nok = checks.check_cd1_update( cd1 )"), code("checks.check_x(lambda x: x)"))
    assert [(e.cell, e.name, e.check) for e in grading.exercises_of(nb)] == [
        (1, "f", "check_logistic"), (2, "cd1", "check_cd1_update"), (3, "x", "check_x")]


def test_progress_without_working_copies_says_how_to_make_them(repo, capsys):
    course.build(repo / "solutions", repo / "notebooks")
    assert course.main(["progress", "--root", str(repo)]) == 2
    assert "make lab" in capsys.readouterr().err
    assert course.main(["progress", str(repo / "nope.ipynb"), "--root", str(repo)]) == 2
    assert "nope.ipynb" in capsys.readouterr().err


def _start_here(folder):
    return folder / "00_start_here.ipynb"


@pytest.mark.notebook
def test_progress_of_a_solved_notebook_and_a_student_copy(tmp_path, capsys):
    """The real notebook 00: its solution passes every exercise, its student copy has none done."""
    solved, student = tmp_path / "solved", tmp_path / "student"
    solved.mkdir(), student.mkdir()
    shutil.copy(_start_here(course.REPO / "solutions"), solved)
    shutil.copy(_start_here(course.REPO / "notebooks"), student)
    assert course.main(["progress", str(_start_here(solved)), str(_start_here(student)), "--json", "--jobs", "2"]) == 0
    result = json.loads(capsys.readouterr().out)
    rows = result["rows"]
    expected = [e.name for e in course.grading.exercises_of(json.loads(_start_here(student).read_text()))]
    assert len(expected) >= 2
    assert [r["exercise"] for r in rows] == expected * 2
    half = len(expected)
    assert {r["status"] for r in rows[:half]} == {"passed"}, rows
    assert {r["status"] for r in rows[half:]} == {"not done"}, rows
    assert all(r["verdict"] and "\n" not in r["verdict"] for r in rows)
    assert result["summary"]["passed"] == half and result["summary"]["not done"] == half


@pytest.mark.notebook
def test_grade_survives_submissions_that_raise_loop_or_are_not_json(tmp_path, capsys):
    subs = tmp_path / "submissions"
    for who in ("alice", "bob", "carol", "dave"):
        (subs / who).mkdir(parents=True)
    shutil.copy(_start_here(course.REPO / "solutions"), subs / "alice")
    student = json.loads(_start_here(course.REPO / "notebooks").read_text())
    checks = [e.cell for e in course.grading.exercises_of(student)]
    solution = json.loads(_start_here(course.REPO / "solutions").read_text())
    first = course.grading.exercises_of(student)[0].name
    exercise = next(i for i, c in enumerate(student["cells"])
                    if c["cell_type"] == "code" and f"def {first}(" in "".join(c["source"]))
    solved = next(c for c in solution["cells"] if c["id"] == student["cells"][exercise]["id"])
    # bob: the first exercise solved, but a cell raises before it
    bob = json.loads(json.dumps(student))
    bob["cells"][exercise] = solved
    bob["cells"].insert(1, code("raise RuntimeError('boom')", cid="boom"))
    (subs / "bob" / "00_start_here.ipynb").write_text(json.dumps(bob))
    # carol: an endless loop after the first check
    carol = json.loads(json.dumps(student))
    carol["cells"].insert(checks[0] + 1, code("while True:\n    pass", cid="loop"))
    (subs / "carol" / "00_start_here.ipynb").write_text(json.dumps(carol))
    # dave: not JSON at all
    (subs / "dave" / "00_start_here.ipynb").write_text("{this is not a notebook")
    out = tmp_path / "grades.csv"
    assert course.main(["grade", str(subs), "--out", str(out), "--time-limit", "60", "--jobs", "2"]) == 0
    import csv

    rows = list(csv.DictReader(out.open()))
    by = {(r["submission"].split("/")[0], r["exercise"]): r for r in rows}
    names = [e.name for e in course.grading.exercises_of(student)]
    assert len(rows) == 4 * len(names)
    assert {r["notebook"] for r in rows} == {"00_start_here"}
    assert all(by["alice", n]["status"] == "passed" for n in names)
    assert by["bob", names[0]]["status"] == "passed" and by["bob", names[1]]["status"] == "not done"
    assert by["carol", names[0]]["status"] == "not done"
    assert by["carol", names[1]]["status"] == "not run" and "time limit" in by["carol", names[1]]["verdict"]
    assert all(by["dave", n]["status"] == "not run" and "not a readable notebook" in by["dave", n]["verdict"]
               for n in names)


# ---------------------------------------------------------------------------- Makefile


def test_make_help_lists_every_target():
    if shutil.which("make") is None:
        pytest.skip("make is not installed on this machine")
    import re

    makefile = (course.REPO / "Makefile").read_text()
    targets = re.findall(r"^([A-Za-z0-9_-]+):(?!=)", makefile, re.M)
    assert {"lab", "test", "update", "progress", "grade", "notebooks", "execute", "help"} <= set(targets)
    env = {k: v for k, v in os.environ.items() if k != "MAKEFLAGS"}
    shown = subprocess.run(["make", "-s", "help"], cwd=course.REPO, capture_output=True, text=True, env=env,
                           timeout=60).stdout
    listed = re.findall(r"^\s*make (\S+)", shown, re.M)
    assert sorted(listed) == sorted(targets), shown
