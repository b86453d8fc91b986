"""Image inputs a hostile client cannot turn against the server (issue 10, points 3 and 5, for every image endpoint):
a decompression bomb is refused by its header before anything decodes it, through every way an image arrives
(uploaded files as the composite or as layers, the blobs the page sends per stroke), and a URL in a value is refused
without any connection attempt."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from handdigits import bomb_png
from PIL import Image
from rawclient import PeakRSS, RawClient

from dlcore.limits import Limits
from dlcore.predict import InputError, image_size, preprocess_sketch

BOMB = bomb_png(13000, 13000)  # ~40 KB declaring 169,000,000 pixels
MB = 1024 * 1024


def test_a_bomb_is_refused_by_its_header_in_every_part_of_a_sketch():
    assert len(BOMB) < 50_000
    with pytest.raises(InputError, match="13000x13000 pixels, over the limit of 16,000,000"):
        image_size(BOMB, Limits())
    small = np.full((280, 280), 255, np.uint8)
    small[40:240, 130:150] = 0
    for value, part in [({"composite": BOMB}, "the composite"), ({"layers": [small, BOMB]}, "layer 2"),
                        ({"composite": small, "layers": [BOMB] * 6}, "layer 1"), ({"background": BOMB}, "background")]:
        with pytest.raises(InputError, match=f"{part} is 13000x13000 pixels"):  # every part's header before any decode
            preprocess_sketch(value)


@pytest.mark.parametrize("url", ["http://example.com/digit.png", "https://10.0.0.1/x.png", "//example.com/x.png",
                                 "data:image/png;base64,AAAA", "ftp://example.com/digit.png"])
def test_urls_are_never_read_as_images(url):
    for value in (url, {"composite": url}, {"layers": [url]}, Path(url) if url.startswith("http") else url):
        with pytest.raises(InputError, match="URL|does not exist"):
            preprocess_sketch(value)


# ---------------------------------------------------------------- through `python app.py`

@pytest.fixture(scope="module")
def listener():
    """A local HTTP listener that records every request, and answers each with the bomb."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    srv.settimeout(0.1)
    hits, stop = [], threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            hits.append(conn.recv(200))
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: %d\r\n\r\n" % len(BOMB) + BOMB)
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}", hits
    stop.set()
    thread.join()
    srv.close()


@pytest.fixture(scope="module")
def app_process(listener):
    """`python app.py` in its own process (so its memory is measured alone), warmed up by one honest prediction.

    Its HTTP proxy is the listener: any request the server makes for a URL lands there, whatever the name (Gradio's
    download guard refuses private addresses but trusts the proxy and Hugging Face's hosts, so a URL on such a host
    reaches the listener if nothing else stops it; tested: without the app's refusal this test fails)."""
    from playground.serve import start_app, stop_app

    proxy, _ = listener
    proc, url, _ = start_app(env={"HTTP_PROXY": proxy, "http_proxy": proxy, "NO_PROXY": "127.0.0.1,localhost",
                                  "no_proxy": "127.0.0.1,localhost"})
    try:
        client = RawClient(url)
        digit = np.full((280, 280), 255, np.uint8)
        digit[40:240, 130:150] = 0
        answer = client.call("predict_digit", [{"background": None, "layers": [], "composite": client.upload(_png(digit))}])
        assert '"1"' in answer, answer
        yield proc, url, client
    finally:
        stop_app(proc)


def _png(arr: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.slow
def test_a_bomb_costs_the_server_no_memory(app_process):
    """The 13000x13000 PNG as the composite, as six layers, and as the page's blobs: each refused by name with peak
    RSS growth under 100 MB (Gradio's own preprocessing decoded every layer to RGBA first: +1.9 GB)."""
    proc, _, client = app_process
    bomb_file = client.upload(BOMB, "bomb.png")
    cases = {
        "composite": lambda: client.call("predict_digit", [{"background": None, "layers": [], "composite": bomb_file}]),
        "six layers": lambda: client.call("predict_digit", [{"background": None, "layers": [bomb_file] * 6,
                                                              "composite": None}]),
        "preview": lambda: client.call("sketch_preview", [{"background": None, "layers": [bomb_file] * 6,
                                                          "composite": bomb_file}]),
        "page blobs": lambda: _blobs_then_stroke(client),
        "picture": lambda: client.join(client.fn_index("digit-picture", "upload"), [bomb_file, None]),
    }
    for name, send in cases.items():
        with PeakRSS(proc.pid) as peak:
            t0 = time.perf_counter()
            answer = send()
            seconds = time.perf_counter() - t0
        assert "13000x13000 pixels, over the limit" in answer, (name, answer[:300])
        assert peak.growth < 100 * MB, f"{name}: peak RSS grew {peak.growth / MB:.0f} MB"
        assert seconds < 10, f"{name}: took {seconds:.1f} s to refuse"
    assert proc.poll() is None


def _blobs_then_stroke(client: RawClient) -> str:
    drawing = uuid.uuid4().hex[:8]
    for kind, index in [("background", None), ("composite", None), *[("layer", i) for i in range(6)]]:
        client.send_blob(BOMB, kind, drawing, index)
    return client.join(client.fn_index("sketchpad", "change"),
                       [{"background": None, "layers": [], "composite": None, "id": drawing}, None])


# ---------------------------------------------------------------- a URL in a value: no connection, ever

def test_a_url_in_any_image_value_is_refused_without_a_connection(app_process, listener):
    _, _, client = app_process
    _, hits = listener
    url = "http://probe.hf.co/digit.png"  # on Hugging Face's allow-list: Gradio itself would fetch it
    remote = {"path": url, "url": url, "orig_name": "digit.png", "meta": {"_type": "gradio.FileData"}}
    answers = {
        "composite": client.call("predict_digit", [{"background": None, "layers": [], "composite": remote}]),
        "layer": client.call("predict_digit", [{"background": None, "layers": [remote], "composite": None}]),
        "background": client.call("sketch_preview", [{"background": remote, "layers": [], "composite": None}]),
        "stroke": client.join(client.fn_index("sketchpad", "change"),
                              [{"background": None, "layers": [remote], "composite": None}, None]),
        "picture": client.join(client.fn_index("digit-picture", "upload"), [remote, None]),
    }
    for name, answer in answers.items():
        assert "only uploaded files are read" in answer, (name, answer[:300])
    assert hits == [], f"the server made a request for the URL: {hits}"
