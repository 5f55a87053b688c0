"""The course as a student uses it, in a real browser: JupyterLab from .venv, headless
Chromium driven by Playwright.

JupyterLab starts on a free local port with token auth, in the quick profile, serving a
private copy of the student notebooks (so autosave never touches the repository). For each
of notebooks 01, 03 and 05 the test opens it from the file browser, runs all cells, waits
until the kernel is idle, and checks:

- no cell shows an error except the exercise stubs' ``NotImplementedError("Exercise: ...")``
  (read from the notebook as JupyterLab saves it);
- every widget rendered: none shows "Error displaying widget", none is stuck on "Loading
  widget", and each widget output holds a widget view;
- for every widget with a slider, one keyboard step on the slider's handle changes what the
  widget draws, and raises no error inside it.

Screenshots of each notebook and each widget (before and after) go to a folder that a
failing assertion names. Skips locally without Chromium or Playwright; fails on CI.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from _browser import chromium, free_port, require_browser

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = ["01_energy_based_learning", "03_sesm_derivation", "05_sparsity_explorer"]
START_BOUND_S = 120       # JupyterLab answers in 5-15 s; a loaded 2-core machine is slower
RUN_BOUND_S = 300         # one notebook, all cells, quick profile (measured 15-60 s)
WIDGET_BOUND_S = 90       # one widget redraw after a slider step (measured ~4 s)
LOADING = "Loading widget"
BROKEN = "Error displaying widget"


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group (server and kernels), then SIGKILL if it lingers."""
    for sig, wait_s in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue


def _settings(folder: Path) -> None:
    """JupyterLab user settings for a test: render every cell (no windowing, so all outputs
    are in the page), no news or update checks (the network is closed)."""
    def put(plugin: str, values: dict) -> None:
        path = folder / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))

    put("@jupyterlab/notebook-extension/tracker", {"windowingMode": "none", "autoStartDefaultKernel": True})
    put("@jupyterlab/apputils-extension/notification", {"fetchNews": "false", "checkForUpdates": False})
    put("@jupyterlab/docmanager-extension/plugin", {"autosave": False})


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab server from .venv on a free port over a private copy of 01, 03 and 05;
    yields (base URL with token query, notebook folder, log path)."""
    require_browser()  # skip before starting a server when there is no browser
    missing = [n for n in NOTEBOOKS if not (REPO / "notebooks" / f"{n}.ipynb").exists()]
    assert not missing, f"student notebooks missing from notebooks/: {missing} (make notebooks)"
    root = tmp_path / "course"
    root.mkdir()
    for name in NOTEBOOKS:
        shutil.copy(REPO / "notebooks" / f"{name}.ipynb", root / f"{name}.ipynb")

    port, token = free_port(), secrets.token_hex(16)
    config = tmp_path / "jupyter-config"
    config.mkdir()
    (config / "jupyter_server_config.json").write_text(json.dumps({
        "ServerApp": {"ip": "127.0.0.1", "open_browser": False, "allow_root": os.geteuid() == 0,
                      "port_retries": 0},
        "IdentityProvider": {"token": token},
        "LabApp": {"news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"},
    }))
    _settings(tmp_path / "settings")
    env = dict(
        os.environ,
        SESMLIB_PROFILE="quick",
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"),
    )
    env.pop("MPLBACKEND", None)  # the kernel's inline backend must draw into the page
    log_path = tmp_path / "lab.log"
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", f"--ServerApp.root_dir={root}"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_BOUND_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited with {proc.returncode}:\n{log_path.read_text(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/api", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer within {START_BOUND_S} s:\n{log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.5)
        yield base, token, root, log_path
    finally:
        _stop(proc)


# ------------------------------------------------------------------------ page helpers


def _open_from_file_browser(page, name: str) -> None:
    item = page.locator(f'.jp-DirListing-item[title^="Name: {name}.ipynb"]')
    item.wait_for(timeout=60_000)
    item.dblclick()
    page.locator(f'.lm-TabBar-tab.jp-mod-current:has-text("{name}")').wait_for(timeout=60_000)


def _notebook(page):
    return page.locator(".jp-NotebookPanel:visible")


def _accept_dialog(page) -> None:
    """Accept a dialog JupyterLab may show (e.g. "Select Kernel": its default is this Python)."""
    button = page.locator(".jp-Dialog .jp-mod-accept")
    if button.count() and button.first.is_visible():
        button.first.click()


def _kernel_idle(page) -> bool:
    return page.locator('.jp-NotebookPanel:visible .jp-Notebook-ExecutionIndicator[data-status="idle"]').count() > 0


def _menu(page, menu: str, item: str) -> None:
    page.locator(f'.lm-MenuBar-itemLabel:text-is("{menu}")').click()
    page.locator(f'.lm-Menu-itemLabel:text-is("{item}")').click()


def _prompts(page) -> list[str]:
    return page.eval_on_selector_all(
        ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputArea-prompt",
        "els => els.map(e => e.textContent.trim())")


def _session_idle(base: str, token: str, name: str) -> bool:
    """The server's view: a kernel is attached to the notebook and idle."""
    try:
        with urllib.request.urlopen(f"{base}/api/sessions?token={token}", timeout=5) as resp:
            sessions = json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError):
        return False
    return any(s.get("path", "").endswith(f"{name}.ipynb") and (s.get("kernel") or {}).get("execution_state") == "idle"
               for s in sessions)


def _wait_for_kernel(page, base: str, token: str, name: str) -> None:
    """Until the notebook's kernel has started and is idle, seen by the server and the page
    alike for two seconds (the page shows "idle" before the kernel exists)."""
    deadline, stable = time.monotonic() + 120, 0
    while time.monotonic() < deadline:
        _accept_dialog(page)
        stable = stable + 1 if _session_idle(base, token, name) and _kernel_idle(page) else 0
        if stable >= 4:
            return
        page.wait_for_timeout(500)
    raise AssertionError(f"{name}: its kernel did not start (idle) within 120 s")


def _wait_until_idle(page, name: str, deadline: float) -> list[str]:
    """Until no cell is queued or running and the kernel is idle, twice a second apart; the prompts."""
    stable = 0
    while time.monotonic() < deadline:
        _accept_dialog(page)
        prompts = _prompts(page)
        busy = any(p == "[*]:" for p in prompts)
        stable = stable + 1 if prompts and not busy and _kernel_idle(page) else 0
        if stable >= 2:
            return prompts
        page.wait_for_timeout(1000)
    raise AssertionError(f"{name}: still running after {RUN_BOUND_S} s; prompts: {_prompts(page)}")


def _run_all(page, name: str) -> None:
    """Run all cells. JupyterLab stops a run at a cell that raises; when that cell raised an
    exercise stub's error (a student's run stops there too), go on from the next cell, as a
    student would. A run stopped by any other error is left for the error check to report."""
    deadline = time.monotonic() + RUN_BOUND_S
    _menu(page, "Run", "Run All Cells")
    for _ in range(100):
        prompts = _wait_until_idle(page, name, deadline)
        if all(re.fullmatch(r"\[\d+\]:", p) for p in prompts):
            return
        first = next(i for i, p in enumerate(prompts) if not re.fullmatch(r"\[\d+\]:", p))
        cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell")
        if first == 0 or "NotImplementedError" not in cells.nth(first - 1).inner_text():
            return  # not started, or stopped by an error that is not a stub: reported later
        cells.nth(first).locator(".jp-InputArea-prompt").click()
        _menu(page, "Run", "Run Selected Cell and All Below")
    raise AssertionError(f"{name}: the run did not finish")


def _save_and_read(page, path: Path) -> dict:
    before = path.stat().st_mtime_ns
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and path.stat().st_mtime_ns == before:
        page.wait_for_timeout(250)
    page.wait_for_timeout(500)
    return json.loads(path.read_text(encoding="utf-8"))


def _cell_errors(nb: dict) -> tuple[list[str], int]:
    """(errors that are not exercise stubs, number of stub errors) in a saved notebook."""
    bad, stubs = [], 0
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
            if out.get("output_type") != "error":
                continue
            if out["ename"] == "NotImplementedError" and out["evalue"].startswith("Exercise"):
                stubs += 1
            else:
                bad.append(f"cell {i}: {out['ename']}: {out['evalue']}")
    return bad, stubs


def _widget_outputs(page):
    """The cell outputs that hold a widget view (rendered, loading or broken), marked so
    that Playwright can find them: top-level outputs only, not those inside Output widgets."""
    page.evaluate("""() => {
        document.querySelectorAll('[data-test-widget]').forEach(e => e.removeAttribute('data-test-widget'));
        const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
        const outs = panel.querySelectorAll('.jp-Cell-outputArea > .jp-OutputArea-child > .jp-OutputArea-output');
        let k = 0;
        for (const o of outs) {
            const text = o.innerText || '';
            if (o.querySelector(':scope > .jupyter-widgets') || text.includes('Loading widget')
                || text.includes('Error displaying widget')) o.setAttribute('data-test-widget', String(k++));
        }
    }""")
    return page.locator("[data-test-widget]")


def _output_signature(widget) -> str:
    """What a widget draws: the HTML of its Output areas (images included), else of the widget."""
    return widget.evaluate("""w => {
        const outs = w.querySelectorAll('.widget-output, .jupyter-widgets-output-area');
        return outs.length ? Array.from(outs).map(o => o.innerHTML).join('|') : w.innerHTML; }""")


def _widget_tracebacks(widget) -> list[str]:
    texts = widget.evaluate("""w => Array.from(w.querySelectorAll(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')).map(e => e.innerText)""")
    return [t[-800:] for t in texts if "Traceback" in t or re.search(r"\w+Error\b", t)]


# ---------------------------------------------------------------------------------- test


def test_student_notebooks_run_and_widgets_respond_in_a_real_browser(lab, tmp_path):
    base, token, root, log_path = lab
    shots = tmp_path / "screenshots"
    shots.mkdir()
    problems: list[str] = []
    page_errors: list[str] = []
    timings = {}
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("pageerror", lambda exc: page_errors.append(str(exc)))
        page.set_default_timeout(60_000)
        try:
            page.goto(f"{base}/lab?token={token}", wait_until="domcontentloaded", timeout=120_000)
            page.locator(".jp-DirListing-content").wait_for(timeout=120_000)
            for name in NOTEBOOKS:
                t0 = time.monotonic()
                _open_from_file_browser(page, name)
                _wait_for_kernel(page, base, token, name)
                _run_all(page, name)
                timings[name] = round(time.monotonic() - t0)
                not_run = [i for i, p in enumerate(_prompts(page)) if not re.fullmatch(r"\[\d+\]:", p)]
                if not_run:
                    problems.append(f"{name}: code cells {not_run} did not run (the run stopped at an error)")
                page.screenshot(path=str(shots / f"{name}-ran.png"))

                nb = _save_and_read(page, root / f"{name}.ipynb")
                bad, _ = _cell_errors(nb)
                problems += [f"{name}: {b}" for b in bad]

                widgets = _widget_outputs(page)
                n_views = sum(1 for c in nb["cells"] for o in c.get("outputs", [])
                              if "application/vnd.jupyter.widget-view+json" in o.get("data", {}))
                if widgets.count() != n_views:
                    problems.append(f"{name}: {n_views} widget outputs in the notebook, {widgets.count()} in the page")
                deadline = time.monotonic() + WIDGET_BOUND_S
                while time.monotonic() < deadline and LOADING in (_notebook(page).inner_text()):
                    page.wait_for_timeout(500)
                text = _notebook(page).inner_text()
                if LOADING in text:
                    problems.append(f"{name}: a widget is still '{LOADING}...' after {WIDGET_BOUND_S} s")
                if BROKEN in text:
                    problems.append(f"{name}: '{BROKEN}' in the page")
                for k in range(widgets.count()):
                    widget = widgets.nth(k)
                    if widget.locator(".jupyter-widgets").count() == 0:
                        problems.append(f"{name}: widget output {k} holds no widget view")
                        continue
                    handles = widget.locator(".noUi-handle")
                    if handles.count() == 0:
                        continue  # a progress bar or a widget without slider
                    widget.scroll_into_view_if_needed()
                    widget.screenshot(path=str(shots / f"{name}-widget{k}-before.png"))
                    before = _output_signature(widget)
                    handle = handles.first
                    at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
                    handle.focus()
                    page.keyboard.press("ArrowLeft" if at_max else "ArrowRight")
                    deadline = time.monotonic() + WIDGET_BOUND_S
                    changed = False
                    while time.monotonic() < deadline:
                        page.wait_for_timeout(500)
                        if _output_signature(widget) != before and _kernel_idle(page):
                            changed = True
                            break
                    page.wait_for_timeout(500)
                    widget.screenshot(path=str(shots / f"{name}-widget{k}-after.png"))
                    if not changed:
                        problems.append(f"{name}: widget {k}: a step of its first slider changed nothing "
                                        f"within {WIDGET_BOUND_S} s")
                    problems += [f"{name}: widget {k} raised after a slider step:\n{t}" for t in _widget_tracebacks(widget)]
                text = _notebook(page).inner_text()
                if BROKEN in text:
                    problems.append(f"{name}: '{BROKEN}' after moving the sliders")
                page.screenshot(path=str(shots / f"{name}-done.png"))
                _menu(page, "Kernel", "Shut Down Kernel")
        except Exception as exc:
            page.screenshot(path=str(shots / "failure.png"))
            raise AssertionError(f"the browser test stopped: {exc}\n\nScreenshots: {shots}\n"
                                 f"Server log: {log_path}") from exc
    problems += [f"JavaScript error in the page: {e}" for e in page_errors]
    print(f"seconds per notebook (open, run all, idle): {timings}; screenshots in {shots}")
    assert not problems, "\n".join(problems) + f"\n\nScreenshots: {shots}\nServer log: {log_path}"


def test_a_missing_browser_skips_locally_but_fails_on_ci(monkeypatch):
    import _browser

    monkeypatch.setattr(_browser, "chromium_path", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Chromium is not installed"):
        _browser.require_browser()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run this test"):
        _browser.require_browser()
