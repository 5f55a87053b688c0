"""Shared helpers of the real-browser tests: find Debian's Chromium and Python Playwright,
skip (locally) or fail (on CI, where $CI is set) when either is missing, and launch
Chromium headless with the flags a closed network and a root user need.

Playwright drives the system Chromium (/usr/bin/chromium, `apt-get install chromium`); it
never downloads a browser of its own (`.ci/run` installs both).
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import socket
import threading
from pathlib import Path

import pytest

# --no-sandbox: Chromium refuses to run as root with its sandbox (containers, CI).
# The background-networking flags stop Chromium from calling home, which a closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    "--disable-default-apps", "--disable-extensions",
]


def chromium_path() -> str | None:
    """$SESMLIB_CHROMIUM, else `chromium` on PATH, else /usr/bin/chromium; None when absent."""
    for candidate in (os.environ.get("SESMLIB_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def require_browser() -> str:
    """The Chromium executable; skip the test locally, fail it on CI, when the browser or
    Playwright is missing."""
    missing = []
    path = chromium_path()
    if path is None:
        missing.append("Chromium is not installed (Debian/Ubuntu: apt-get install chromium; "
                       "or set SESMLIB_CHROMIUM to a Chromium/Chrome executable)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("Python Playwright is not installed (pip install -e '.[test]')")
    if missing:
        reason = "real-browser test: " + "; ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(f"{reason}. CI must run this test: .ci/run installs both.", pytrace=False)
        pytest.skip(reason)
    return path


@contextlib.contextmanager
def chromium():
    """A headless Chromium driven by Playwright; closed on exit."""
    from playwright.sync_api import sync_playwright

    path = require_browser()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve_folder(root: Path):
    """Serve a folder over HTTP on a free local port; yield the base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def is_local(url: str) -> bool:
    """True for URLs a page may load while offline: this machine, data: and blob: URLs."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or parts.hostname in ("127.0.0.1", "localhost", "::1")
