"""`make lab` really sets up the student's working folder and starts JupyterLab on it: start
it headless on a free port with WORK in a temporary folder (so the test writes nothing into
the repository), wait (bounded) until its API answers, check it serves the lab and the
working copies made from notebooks/, then stop the whole process group.

Jupyter is isolated from the user's settings through environment variables (a config
folder in tmp that fixes the address and a known token), so the Makefile is used as is.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
START_BOUND_S = 90  # JupyterLab usually answers in 5-15 s; a loaded 2-core machine is slower


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.status, resp.read()


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the process group (make and jupyter), then SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    for sig, wait_s in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def test_make_lab_starts_jupyterlab(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed on this machine")
    if not (REPO / ".venv" / "bin" / "jupyter").exists():
        pytest.skip(".venv is not set up; `make test` (or `make lab`) creates it")

    port, token = _free_port(), secrets.token_hex(16)
    config = tmp_path / "jupyter-config"
    config.mkdir()
    (config / "jupyter_server_config.json").write_text(json.dumps({
        # allow_root: containers and CI often run as root, which Jupyter refuses by default.
        "ServerApp": {"ip": "127.0.0.1", "open_browser": False, "allow_root": os.geteuid() == 0},
        "IdentityProvider": {"token": token},
    }))
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"),
    )
    env.pop("MAKEFLAGS", None)
    work = tmp_path / "work"
    repo_work_before = (REPO / "work").exists()
    cmd = ["make", "lab", "NO_BROWSER=1", f"PORT={port}", f"WORK={work}"]
    # When pyproject.toml is newer than the install stamp, `make lab` would first re-install
    # the package; the environment running this test is already installed, so skip that step.
    if subprocess.run(["make", "-q", ".venv/.installed"], cwd=REPO, env=env,
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
        cmd[1:1] = ["-o", ".venv/.installed"]

    log_path = tmp_path / "lab.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_BOUND_S
        version = None
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"`{' '.join(cmd)}` exited with {proc.returncode} before answering:\n"
                            + log_path.read_text(errors="replace")[-3000:])
            try:
                status, body = _get(f"{base}/api")
                if status == 200:
                    version = json.loads(body)["version"]
                    break
            except (urllib.error.URLError, ConnectionError, OSError, ValueError, KeyError):
                pass
            time.sleep(0.5)
        assert version, (f"JupyterLab did not answer on {base}/api within {START_BOUND_S} s:\n"
                         + log_path.read_text(errors="replace")[-3000:])

        status, page = _get(f"{base}/lab?token={token}", timeout=10)
        assert status == 200 and b"JupyterLab" in page

        status, body = _get(f"{base}/api/contents?token={token}", timeout=10)
        served = sorted(item["name"] for item in json.loads(body)["content"])
        expected = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
        assert served == expected, "make lab must serve the working copies of the course notebooks"
        for name in expected:  # made from notebooks/, byte for byte
            assert (work / name).read_bytes() == (REPO / "notebooks" / name).read_bytes(), name
        # The server's own record (in the runtime folder) names the folder it serves.
        records = [json.loads(p.read_text()) for p in (tmp_path / "runtime").glob("jpserver-*.json")]
        assert [Path(r["root_dir"]).resolve() for r in records if r.get("port") == port] == [work.resolve()]
    finally:
        _stop(proc)
    assert proc.poll() is not None, "the lab process group did not stop"
    assert (REPO / "work").exists() == repo_work_before, "the test must not write into the repository"
