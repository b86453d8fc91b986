"""Serving the app on loopback for tests and benchmarks: a free port, `python app.py` in its own process, or the
demo launched in this process. Nothing here reaches beyond 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUIET_ENV = {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_DISABLE_TELEMETRY": "1", "DLCORE_OFFLINE": "1"}
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"  # Debian's; `playwright install` is not used
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(timeout: float = 120.0, env: dict | None = None,
              log: Path | None = None) -> tuple[subprocess.Popen, str, float]:
    """`python app.py` on a free local port: (process, url, seconds to the first HTTP 200).

    With `log`, the server's stderr goes to that file (a long run's log could otherwise fill the pipe and stall it)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    full_env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port), **QUIET_ENV,
                **(env or {})}
    t0 = time.perf_counter()
    err = open(log, "wb") if log else subprocess.PIPE
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=full_env, stdout=subprocess.DEVNULL, stderr=err)
    if log:
        err.close()  # the child has its own copy
    while time.perf_counter() - t0 < timeout:
        if proc.poll() is not None:
            tail = Path(log).read_bytes() if log else proc.stderr.read()
            raise RuntimeError(f"app.py exited with code {proc.returncode} before serving: {tail.decode()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return proc, url, time.perf_counter() - t0
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise TimeoutError(f"app.py did not answer HTTP 200 on {url} within {timeout} s")


def stop_app(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def launch_here(demo=None, **kwargs) -> tuple[object, str]:
    """The demo (a fresh one by default) served from this process on a free port: (demo, url). Close it with
    `demo.close()`."""
    from .app import build_demo, launch

    demo = demo or build_demo()
    _, url, _ = launch(demo, server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
                       **kwargs)
    return demo, url


# ---------------------------------------------------------------- a raw HTTP client, as a hostile script would be

def _config(url: str) -> dict:
    import json

    with urllib.request.urlopen(url + "config", timeout=30) as r:
        return json.load(r)


def fn_index(url: str, api_name: str) -> int:
    """The event id (`fn_index`) of the endpoint `api_name` (without the slash), read from the app's /config."""
    for dep in _config(url)["dependencies"]:
        if dep.get("api_name") == api_name:
            return dep["id"]
    raise KeyError(f"no endpoint {api_name!r} in {url}config")


def event_index(url: str, elem_id: str, event: str) -> int:
    """The event id (`fn_index`) of the `event` (e.g. "change") of the component `elem_id`, for the private events
    the page sends without an endpoint name; read from the app's /config."""
    config = _config(url)
    cid = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id)
    for dep in config["dependencies"]:
        if [cid, event] in dep["targets"]:
            return dep["id"]
    raise KeyError(f"no {event} event of #{elem_id} in {url}config")


def raw_join(url: str, fn: int, data: list, session_hash: str, timeout: float = 10.0) -> tuple[int, dict]:
    """One POST to /gradio_api/queue/join, never opening the result stream: (HTTP status, JSON body)."""
    return _post_json(url + "gradio_api/queue/join", {"data": data, "fn_index": fn, "session_hash": session_hash,
                                                      "event_data": None, "trigger_id": None}, timeout)


def raw_run(url: str, fn: int, data: list, session_hash: str, timeout: float = 10.0) -> tuple[int, dict]:
    """One POST to /gradio_api/run/predict, as the page sends an event that skips the queue (`queue=False`): (HTTP
    status, JSON body: the outputs under "data", or the error)."""
    return _post_json(url + "gradio_api/run/predict", {"data": data, "fn_index": fn, "session_hash": session_hash,
                                                       "event_data": None, "trigger_id": None}, timeout)


def _post_json(address: str, body: dict, timeout: float) -> tuple[int, dict]:
    """POST `body` as JSON: (HTTP status, the JSON answer), an error status included."""
    import json

    req = urllib.request.Request(address, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def raw_cancel(url: str, fn: int, session_hash: str, event_id: str, timeout: float = 10.0) -> int:
    """One POST to /gradio_api/cancel, as the page's Stop sends it: the HTTP status."""
    return _post_json(url + "gradio_api/cancel", {"session_hash": session_hash, "fn_index": fn, "event_id": event_id},
                      timeout)[0]


def read_stream(url: str, session_hash: str, timeout: float = 30.0) -> list[dict]:
    """The session's result stream (/gradio_api/queue/data) read to its end: the messages, in order."""
    import json

    out = []
    with urllib.request.urlopen(f"{url}gradio_api/queue/data?session_hash={session_hash}", timeout=timeout) as r:
        for line in r:
            if line.startswith(b"data: "):
                msg = json.loads(line[6:])
                out.append(msg)
                if msg.get("msg") == "close_stream":
                    break
    return out


def call(url: str, api_name: str, data: list, timeout: float = 30.0) -> dict:
    """One call as `curl` makes it (POST /gradio_api/call/NAME, then read its stream), each in a fresh session:
    {"event": "complete" or "error", "data": ...}."""
    import json

    req = urllib.request.Request(f"{url}gradio_api/call/{api_name}", data=json.dumps({"data": data}).encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        event_id = json.load(r)["event_id"]
    event = None
    with urllib.request.urlopen(f"{url}gradio_api/call/{api_name}/{event_id}", timeout=timeout) as r:
        for line in r:
            line = line.decode().strip()
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event in ("complete", "error"):
                return {"event": event, "data": json.loads(line[6:])}
    return {"event": event, "data": None}


def rss_mb(pid: int) -> float:
    """Resident memory of process `pid`, in MB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS line for process {pid}")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) process `pid` and its threads have used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def disk_mb(*folders: str | Path) -> float:
    """Bytes under `folders`, in MB (missing folders count as empty)."""
    total = 0
    for folder in folders:
        for root, _, names in os.walk(folder):  # tolerates files and folders deleted while it walks
            for name in names:
                with contextlib.suppress(OSError):  # deleted meanwhile
                    total += os.lstat(os.path.join(root, name)).st_size
    return total / 1e6


@contextlib.contextmanager
def chromium():
    """Headless Debian chromium through playwright (tests, benchmarks, scripts): the browser, closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()
