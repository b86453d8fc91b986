"""The app over raw HTTP, as a browser or a hostile script reaches it (uploads, the editor's blob route, queued events,
named calls), and the peak memory of a server process while something happens. For tests and benchmarks."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

import httpx


def rss_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in bytes."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) * 1024
    return out


def reset_peak(pid: int) -> bool:
    """Start VmHWM afresh from the current RSS (Linux: 5 > /proc/PID/clear_refs); False where that is not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class PeakRSS:
    """The highest RSS of a process while the block runs: VmHWM after a reset, or sampling every 5 ms where the
    kernel does not let the peak be reset."""

    def __init__(self, pid: int):
        self.pid, self.peak = pid, 0

    def __enter__(self):
        self.start = rss_status(self.pid)["VmRSS"]
        self.hwm = reset_peak(self.pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_status(self.pid)["VmRSS"])
            time.sleep(0.005)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        now = rss_status(self.pid)
        self.peak = max(self.peak, now["VmRSS"], now["VmHWM"] if self.hwm else 0)
        self.growth = self.peak - self.start


class RawClient:
    """The page's and the API's ways in, by raw HTTP: file uploads, the editor's blob route, a queued event."""

    def __init__(self, url: str):
        self.url, self.http = url, httpx.Client(timeout=60)
        self.config = self.http.get(url + "config").json()
        self.session = uuid.uuid4().hex[:10]

    def upload(self, blob: bytes, name: str = "digit.png") -> dict:
        r = self.http.post(self.url + "gradio_api/upload", files=[("files", (name, blob, "image/png"))])
        r.raise_for_status()
        path = r.json()[0]
        return {"path": path, "orig_name": name, "meta": {"_type": "gradio.FileData"}}

    def component(self, elem_id: str) -> int:
        return next(c["id"] for c in self.config["components"] if c.get("props", {}).get("elem_id") == elem_id)

    def send_blob(self, blob: bytes, kind: str, drawing: str, index: int | None = None) -> None:
        """What the page does after a stroke: post one of the drawing's images to the editor's blob route."""
        form = {"component_id": str(self.component("sketchpad")), "session_hash": self.session,
                "fn_name": "accept_blobs", "type": kind, "index": "null" if index is None else str(index),
                "id": drawing}
        r = self.http.post(self.url + "gradio_api/component_server", data=form,
                           files=[("file", (f"{kind}.png", blob, "image/png"))])
        r.raise_for_status()

    def fn_index(self, target: str, event: str) -> int:
        comp = self.component(target)
        return next(i for i, d in enumerate(self.config["dependencies"]) if [comp, event] in d["targets"])

    def join(self, fn_index: int, data: list) -> str:
        """Queue an event as the page does and return the message that ends it (its output or its error)."""
        body = {"data": data, "fn_index": fn_index, "session_hash": self.session, "event_data": None,
                "trigger_id": None}
        r = self.http.post(self.url + "gradio_api/queue/join", json=body)
        r.raise_for_status()
        with self.http.stream("GET", self.url + "gradio_api/queue/data", params={"session_hash": self.session}) as s:
            for line in s.iter_lines():
                if line.startswith("data:"):
                    msg = json.loads(line[5:])
                    if msg.get("msg") == "process_completed":
                        return json.dumps(msg.get("output"))
        raise AssertionError("the event never completed")

    def call(self, api_name: str, data: list) -> str:
        """The REST way an API client calls a named endpoint: the streamed result, error or output."""
        r = self.http.post(self.url + f"gradio_api/call/{api_name}", json={"data": data})
        r.raise_for_status()
        return self.http.get(self.url + f"gradio_api/call/{api_name}/{r.json()['event_id']}").text
