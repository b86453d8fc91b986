"""Image inputs that cannot be turned against the server: nothing fetched from a URL, nothing decoded before its size
is known.

Gradio's own handling of an image input works against both: before a handler runs it downloads any URL an API caller
puts where a file belongs (`{"path": "http://…"}`), and the Sketchpad's preprocessing decodes the background, every
layer and the composite to full-size arrays before the handler can look at them (a 20 KB PNG declaring 13000x13000
pixels costs gigabytes). So the image components here refuse URLs where Gradio would fetch them, and the events that
read images take their values unprocessed (`preprocess=False`): the handler gets the raw bytes (the browser's blobs)
or the path of a file Gradio received as an upload, and `dlcore.predict` reads each image's header and checks the
pixel cap before it decodes anything.
"""

from __future__ import annotations

import threading
from pathlib import Path

import gradio as gr
from gradio import utils as gr_utils
from gradio_client import utils as client_utils

from dlcore.errors import InputError

MAX_PENDING_DRAWINGS = 256  # drawings the editor has sent that no event has read yet, all sessions together


def _refuse_remote(url_or_file_path) -> None:
    if url_or_file_path is not None and client_utils.is_http_url_like(str(url_or_file_path)):
        raise gr.Error(f"an image given as a URL ({str(url_or_file_path)[:60]!r}) is refused: only uploaded files are "
                       "read, nothing is fetched; upload the picture itself", title="Please check the image",
                       print_exception=False)


def uploads_only(component: gr.components.Component) -> gr.components.Component:
    """The component, refusing a value that names a URL where Gradio would download it (before any handler runs).

    Done on the instance, not by subclassing: a subclass of a Gradio component makes Gradio write a .pyi file next to
    this module at import time."""
    sync_move, async_move = component.move_resource_to_block_cache, component.async_move_resource_to_block_cache

    def move_resource_to_block_cache(url_or_file_path):
        _refuse_remote(url_or_file_path)
        return sync_move(url_or_file_path)

    async def async_move_resource_to_block_cache(url_or_file_path):
        _refuse_remote(url_or_file_path)
        return await async_move(url_or_file_path)

    component.move_resource_to_block_cache = move_resource_to_block_cache
    component.async_move_resource_to_block_cache = async_move_resource_to_block_cache
    return component


def Sketchpad(**kwargs) -> gr.Sketchpad:  # noqa: N802  it stands for the component it builds
    """gr.Sketchpad that never fetches a URL and keeps at most MAX_PENDING_DRAWINGS unread drawings; read its
    values with `editor_value` on `preprocess=False` events."""
    pad = uploads_only(gr.Sketchpad(**kwargs))

    def accept_blobs(data):
        """The browser's images for one drawing, parked for the events that read them; the oldest are dropped beyond
        MAX_PENDING_DRAWINGS (a fast drawer's skipped strokes are never read). The class's method is looked up at
        each call: `admission.guard_image_blobs` wraps it when the app is served, after this pad was built."""
        out = type(pad).accept_blobs(pad, data)
        with _LOCK:
            while len(pad.blob_storage) > MAX_PENDING_DRAWINGS:
                pad.blob_storage.pop(next(iter(pad.blob_storage)))
        return out

    accept_blobs._is_server_fn = True  # what gradio's component route checks before calling it
    pad.accept_blobs = accept_blobs
    return pad


def Image(**kwargs) -> gr.Image:  # noqa: N802  it stands for the component it builds
    """gr.Image that never fetches a URL; read its values with `upload_path` on `preprocess=False` events."""
    return uploads_only(gr.Image(**kwargs))


_LOCK = threading.Lock()


class DrawingMissing(InputError):
    """An event names a drawing the server does not hold. The editor sends a drawing's pictures about half a second
    after the stroke (longer under load), and until then its value still names the drawing before it; a Predict
    clicked in that half second sends that older name, whose pictures may never have been sent (an empty canvas has
    none) or were dropped (admission.BLOB_TTL)."""


def upload_path(file) -> str | None:
    """The path of a file Gradio received as an upload, from an unprocessed file value; anything else is refused."""
    if file is None:
        return None
    if isinstance(file, dict):
        path = file.get("path")
        if not isinstance(path, str) or not path:
            url = file.get("url")
            why = f"; a URL ({str(url)[:60]!r}) is never fetched" if url else ""
            raise InputError(f"an image must be an uploaded file{why}; upload the picture itself")
    elif isinstance(file, str):
        path = file
    else:
        raise InputError(f"cannot read an image from a {type(file).__name__}; upload a PNG or JPEG")
    if client_utils.is_http_url_like(path):
        _refuse_remote(path)
    if not gr_utils.is_in_or_equal(str(Path(path).resolve()), str(Path(gr_utils.get_upload_folder()).resolve())):
        raise InputError("only files uploaded to this app are read; upload the picture itself")
    return path


def editor_value(payload, editor: gr.Sketchpad) -> dict | None:
    """An unprocessed Sketchpad value -> {"background", "layers", "composite"} as bytes or upload paths (undecoded).

    From the page, the value names the drawing the browser just sent (`{"id": ...}`, its images parked in the
    editor's blob storage); from an API client it holds uploaded files. Either way nothing is decoded here."""
    if payload is None:
        return None
    if not isinstance(payload, dict):
        raise InputError("a drawing is a dict with background, layers and composite images; send uploaded files")
    if payload.get("id"):
        with _LOCK:
            blobs = editor.blob_storage.get(payload["id"])
        if blobs is None:
            raise DrawingMissing("the Sketchpad has not sent this drawing (yet); wait a moment and press Predict "
                                 "again, or draw again")
        return {"background": blobs.background, "layers": [b for b in blobs.layers if b is not None],
                "composite": blobs.composite}
    layers = payload.get("layers") or []
    if not isinstance(layers, (list, tuple)):
        layers = [layers]
    return {"background": upload_path(payload.get("background")), "layers": [upload_path(la) for la in layers],
            "composite": upload_path(payload.get("composite"))}
