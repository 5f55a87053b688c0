"""The set-up files agree with each other: pyproject.toml, environment.yml, Makefile, .ci/run."""
from __future__ import annotations

import re
import tomllib

from conftest import REPO

# conda-forge names that differ from PyPI's, and conda-only entries.
CONDA_TO_PYPI = {"pytorch": "torch"}
CONDA_ONLY = {"python", "pip"}


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[; ]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


# The extras that environment.yml installs too (everything `make test` needs).
CONDA_EXTRAS = ("test", "book")


def _pyproject_deps() -> set[str]:
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    deps = {_name(d) for d in meta["dependencies"]}
    for extra in CONDA_EXTRAS:
        deps |= {_name(d) for d in meta["optional-dependencies"][extra]}
    return deps


def _conda_deps() -> set[str]:
    """Conda packages (top-level items) and pip-only ones (the `pip:` list, less `-e .`)."""
    names = set()
    text = (REPO / "environment.yml").read_text()
    for line in text[text.index("dependencies:"):].splitlines():
        m = re.match(r"^\s{2}- ([A-Za-z0-9_.\-]+)", line) or re.match(r"^\s{6}- ([A-Za-z][A-Za-z0-9_.\-]*)", line)
        if m and not line.strip().startswith("- pip:"):
            names.add(CONDA_TO_PYPI.get(m.group(1).lower(), m.group(1).lower()))
    return names - CONDA_ONLY


def test_environment_yml_matches_pyproject():
    py, conda = _pyproject_deps(), _conda_deps()
    assert py == conda, (
        f"pyproject.toml and environment.yml disagree: only in pyproject {sorted(py - conda)}, "
        f"only in environment.yml {sorted(conda - py)}"
    )


def test_environment_yml_installs_the_package():
    assert re.search(r"^\s+- -e \.\s*$", (REPO / "environment.yml").read_text(), re.M)


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    commands = re.findall(r"^make (\w+)", readme, re.M)
    assert commands[:2] == ["lab", "test"], "README must open with `make lab` and `make test`"
    ci = (REPO / ".ci" / "run").read_text()
    assert re.search(r"^make test\b", ci, re.M), ".ci/run must call the README's test command"


def test_ci_keeps_torch_on_the_cpu_build_only_when_CI_is_set():
    makefile = (REPO / "Makefile").read_text()
    assert "$(if $(CI),-c .ci/constraints.txt,)" in makefile
    assert "torch==" in (REPO / ".ci" / "constraints.txt").read_text()
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    torch_req = [d for d in meta["dependencies"] if _name(d) == "torch"][0]
    assert "==" not in torch_req, "users must not be forced onto one torch build"
