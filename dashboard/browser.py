"""Run the dashboard and look at it in a real headless Chromium: for the browser test and the README screenshots.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: JSON messages separated
by NUL bytes on file descriptors 3 and 4), so no WebDriver, websocket client or browser-automation package is
needed, only the Debian ``chromium`` package. The page counts as loaded when the app has finished its run
(the sidebar's "Rendered in" line is written last, and Streamlit's running indicator is gone), no element is
still a loading skeleton, and every visible plotly chart has been drawn.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import itertools
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("horizonscale.dashboard.browser")

APP = Path(__file__).resolve().parent / "app.py"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
)
READY_SCRIPT = """
((title) => {
  const text = document.body ? document.body.innerText : "";
  if (!text.includes("Rendered in")) return false;
  if (title !== null) {
    const heading = document.querySelector('[data-testid="stMain"] h1');
    if (heading === null || !heading.innerText.includes(title)) return false;
  }
  const pending = '[data-stale="true"], [data-testid="stSkeleton"], [data-testid="stStatusWidgetRunningIcon"]';
  if (document.querySelector(pending) !== null) return false;
  const visible = (el) => el.offsetParent !== null;
  const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].filter(visible);
  return charts.every((chart) => chart.querySelector(".main-svg") !== null);
})(%s)
"""
CLICK_VIEW_SCRIPT = """
((title) => {
  const labels = [...document.querySelectorAll('[data-testid="stSidebar"] label')];
  const label = labels.find((candidate) => candidate.innerText.trim() === title);
  if (label === undefined) return false;
  label.click();
  return true;
})(%s)
"""
MAIN_HEIGHT_SCRIPT = """
(() => {
  const main = document.querySelector('[data-testid="stMain"]') || document.scrollingElement;
  return Math.max(main.scrollHeight, document.documentElement.scrollHeight);
})()
"""


class BrowserError(RuntimeError):
    pass


def find_chromium() -> str | None:
    """The Chromium binary on PATH (``HORIZONSCALE_CHROMIUM`` overrides), or None."""
    override = os.environ.get("HORIZONSCALE_CHROMIUM")
    if override:
        return shutil.which(override)
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(data_dir: Path, log_file: Path, port: int | None = None) -> Iterator[str]:
    """``streamlit run dashboard/app.py`` on a free port, reading ``data_dir``; yields its URL.

    The bind address is left to ``dashboard/.streamlit/config.toml`` (localhost), so this runs the app exactly
    as ``make dashboard`` does.
    """
    port = port or free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.port", str(port), "--server.fileWatcherType", "none",
    ]  # fmt: skip
    env = {**os.environ, "HORIZONSCALE_DATA_DIR": str(data_dir)}
    with log_file.open("w") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, cwd=APP.parents[1])
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_healthy(url, process, log_file)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_healthy(url: str, process: subprocess.Popen, log_file: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BrowserError(f"streamlit exited with {process.returncode}:\n{log_file.read_text()[-3000:]}")
        if _healthy(url):
            return
        time.sleep(0.2)
    raise BrowserError(f"streamlit did not become healthy within {timeout:.0f} s:\n{log_file.read_text()[-3000:]}")


def _high_pipe() -> tuple[int, int]:
    """A pipe whose ends are numbered 10 or above, so moving them onto 3 and 4 in the child cannot collide."""
    low = os.pipe()
    high = tuple(fcntl.fcntl(end, fcntl.F_DUPFD_CLOEXEC, 10) for end in low)
    for end in low:
        os.close(end)
    return high[0], high[1]


@contextlib.contextmanager
def _low_descriptors_taken() -> Iterator[None]:
    """Hold descriptors 3 and 4 open while spawning, so subprocess's own error pipe never lands on them."""
    placeholders = []
    for descriptor in (3, 4):
        try:
            os.fstat(descriptor)
        except OSError:
            placeholder = os.open(os.devnull, os.O_RDONLY)
            if placeholder != descriptor:
                os.dup2(placeholder, descriptor, inheritable=False)
                os.close(placeholder)
            placeholders.append(descriptor)
    try:
        yield
    finally:
        for descriptor in placeholders:
            os.close(descriptor)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read().strip() == b"ok"
    except OSError:
        return False


@dataclass(frozen=True)
class PageLoad:
    url: str
    seconds: float
    text: str


class Chromium:
    """One headless Chromium with one page, driven over the DevTools pipe."""

    def __init__(self, binary: str, width: int = 1440, height: int = 1000) -> None:
        self.width, self.height = width, height
        self._profile = tempfile.mkdtemp(prefix="horizonscale-chromium-")
        self._ids = itertools.count(1)
        self._replies: dict[int, dict[str, Any]] = {}
        self._arrived = threading.Condition()
        self._process = self._launch(binary)
        self._reader = threading.Thread(target=self._read_loop, name="cdp-reader", daemon=True)
        self._reader.start()
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable", session=True)
        self._set_viewport(height)

    def _launch(self, binary: str) -> subprocess.Popen:
        to_browser_read, self._to_browser = _high_pipe()
        self._from_browser, from_browser_write = _high_pipe()

        def wire_pipes() -> None:
            # In the child, before exec: the protocol lives on descriptors 3 (commands in) and 4 (replies out).
            os.dup2(to_browser_read, 3)
            os.dup2(from_browser_write, 4)

        command = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={self._profile}", f"--window-size={self.width},1000"]
        with _low_descriptors_taken():
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(3, 4),
                preexec_fn=wire_pipes,
            )
        os.close(to_browser_read)
        os.close(from_browser_write)
        return process

    def _read_loop(self) -> None:
        buffer = b""
        while chunk := os.read(self._from_browser, 1 << 16):
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            for raw in messages:
                message = json.loads(raw)
                if "id" in message:
                    with self._arrived:
                        self._replies[message["id"]] = message
                        self._arrived.notify_all()
        with self._arrived:
            self._replies[-1] = {"error": {"message": "browser closed the pipe"}}
            self._arrived.notify_all()

    def send(self, method: str, params: dict[str, Any] | None = None, session: bool = False,
             timeout: float = 30) -> dict[str, Any]:  # fmt: skip
        message: dict[str, Any] = {"id": next(self._ids), "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self._session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self._arrived:
            while message["id"] not in self._replies and -1 not in self._replies:
                if not self._arrived.wait(timeout=max(0.0, deadline - time.monotonic())):
                    raise BrowserError(f"{method}: no answer within {timeout:.0f} s")
            reply = self._replies.pop(message["id"], None) or self._replies[-1]
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error'].get('message')}")
        return reply.get("result", {})

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=True)
        return result.get("result", {}).get("value")

    def _set_viewport(self, height: int) -> None:
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": self.width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=True,
        )

    def load(self, url: str, title: str | None = None, timeout: float = 60) -> PageLoad:
        """Navigate and wait until the app has rendered (``title``: the view's heading); seconds from navigation."""
        self._set_viewport(self.height)
        started = time.perf_counter()
        self.send("Page.navigate", {"url": url}, session=True)
        self.wait_ready(title, timeout)
        return PageLoad(url, time.perf_counter() - started, self.text())

    def switch_view(self, title: str, timeout: float = 60) -> PageLoad:
        """Click ``title`` in the sidebar, as a user does, and wait until that view has rendered."""
        started = time.perf_counter()
        if not self.evaluate(CLICK_VIEW_SCRIPT % json.dumps(title)):
            raise BrowserError(f"no view called {title!r} in the sidebar:\n{self.text()[:2000]}")
        self.wait_ready(title, timeout)
        return PageLoad(title, time.perf_counter() - started, self.text())

    def wait_ready(self, title: str | None, timeout: float) -> None:
        script = READY_SCRIPT % json.dumps(title)
        deadline = time.monotonic() + timeout
        while not self.evaluate(script):
            if time.monotonic() > deadline:
                raise BrowserError(f"page not rendered within {timeout:.0f} s:\n{self.text()[:2000]}")
            time.sleep(0.03)

    def text(self) -> str:
        return self.evaluate("document.body ? document.body.innerText : ''") or ""

    def screenshot(self, target: Path, max_height: int = 4000) -> Path:
        """A PNG of the whole app: the viewport is grown to the scrolling main area's height first."""
        height = min(int(self.evaluate(MAIN_HEIGHT_SCRIPT) or self.height), max_height)
        self._set_viewport(max(height, self.height))
        time.sleep(0.6)  # let plotly re-layout to the new viewport
        self.wait_ready(None, timeout=30)
        data = self.send("Page.captureScreenshot", {"format": "png"}, session=True)["data"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(base64.b64decode(data))
        self._set_viewport(self.height)
        return target

    def close(self) -> None:
        with contextlib.suppress(BrowserError, OSError):
            self.send("Browser.close", timeout=5)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        for descriptor in (self._to_browser, self._from_browser):
            with contextlib.suppress(OSError):
                os.close(descriptor)
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
