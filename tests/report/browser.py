"""A small Chrome DevTools Protocol client for the browser check (headless Debian chromium).

It starts chromium with a fresh profile and a DevTools port chosen by the browser, drives
one page over the websocket (websocket-client), records console messages, exceptions,
failed loads and every URL the page requested, and stops the browser by PID.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import signal
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--remote-debugging-address=127.0.0.1",
         "--remote-debugging-port=0")


@dataclass
class PageLog:
    """What the page did while loading."""

    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    failed_loads: list[str] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)


class Browser:
    """Headless chromium with one page under DevTools control."""

    def __init__(self, binary: str, width: int = 1300, height: int = 1000) -> None:
        import websocket

        self.profile = tempfile.mkdtemp(prefix="repro-chromium-")
        self.process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={self.profile}",
             f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        port = self._devtools_port()
        page = next(t for t in self._json(port, "list") if t.get("type") == "page")
        self.socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60,
                                                  suppress_origin=True)
        self.ids = itertools.count(1)
        self.log = PageLog()
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")

    def _devtools_port(self) -> int:
        deadline = time.monotonic() + 60
        assert self.process.stderr is not None
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            match = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if match:
                return int(match.group(1))
            if not line and self.process.poll() is not None:
                break
        self.close()
        raise RuntimeError("chromium did not open its DevTools port")

    @staticmethod
    def _json(port: int, what: str) -> Any:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/{what}", timeout=30) as reply:
            return json.load(reply)

    def _record(self, message: dict[str, Any]) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.log.exceptions.append(str(details.get("text")) + " " + str(
                details.get("exception", {}).get("description", "")))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.log.console_errors.append(" ".join(
                str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            self.log.console_errors.append(f"{entry.get('source')}: {entry.get('text')} "
                                           f"{entry.get('url', '')}")
        elif method == "Network.requestWillBeSent":
            self.log.requested.append(params.get("request", {}).get("url", ""))
        elif method == "Network.loadingFailed":
            self.log.failed_loads.append(f"{params.get('errorText')} ({params.get('type')})")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send a command and return its result (events met on the way are recorded)."""
        ident = next(self.ids)
        self.socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._record(message)

    def wait_for(self, event: str, timeout: float = 60.0) -> None:
        """Read events until ``event`` arrives."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = json.loads(self.socket.recv())
            self._record(message)
            if message.get("method") == event:
                return
        raise TimeoutError(event)

    def open(self, url: str) -> None:
        """Navigate and wait for the load event."""
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        """Value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, dest: Path) -> Path:
        """Full-page PNG screenshot."""
        size = self.call("Page.getLayoutMetrics")["cssContentSize"]
        shot = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                         clip={"x": 0, "y": 0, "width": size["width"],
                               "height": size["height"], "scale": 1})
        dest.write_bytes(base64.b64decode(shot["data"]))
        return dest

    def close(self) -> None:
        """Stop the browser (by PID) and remove its profile."""
        import shutil

        try:
            if getattr(self, "socket", None) is not None:
                self.socket.close()
        finally:
            if self.process.poll() is None:
                os.kill(self.process.pid, signal.SIGTERM)
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.kill(self.process.pid, signal.SIGKILL)
                    self.process.wait()
            shutil.rmtree(self.profile, ignore_errors=True)
