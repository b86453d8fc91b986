"""The Digits tab's quick path: strokes drawn as Gradio's ImageEditor draws them (dlcore.strokes), what a client may send
(hostile payloads refused by name, in process and over HTTP), and how the editor's late pictures are weighed against
the strokes the page sent (the tab's `quick`, `live` and `superseded`). Drawings against the editor's own composites in
a real browser: tests/test_browser_digits.py."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from dlcore import strokes as S
from dlcore.errors import InputError

SIZE = (280, 280)


def payload(*strokes, canvas=SIZE) -> dict:
    """A drawing as the page sends it: strokes given as (points, radius)."""
    return {"seq": 1, "canvas": list(canvas),
            "strokes": [{"points": [list(map(float, p)) for p in pts], "size": r, "color": "#000000"}
                        for pts, r in strokes]}


def seven(r: float = 11) -> tuple:
    return [(60, 50), (90, 50.5), (150, 51), (210, 52), (180, 110), (140, 180), (120, 230)], r


def bar(r: float = 11) -> tuple:
    return [(100, 140.3), (130, 140), (180, 139.6)], r


# ---------------------------------------------------------------- drawing as the editor draws


def test_discs_follow_the_editors_brush_rule():
    # down: one disc; a 10 px move with radius 11 (step 11/3): ceil(10 / 3.67) = 3 discs, both ends included
    c = S.discs(np.array([[5.0, 5.0], [15.0, 5.0]]), 11)
    assert np.allclose(c, [[5, 5], [5, 5], [10, 5], [15, 5]])
    # a move under 0.1 px stamps one disc at its start; a short one at least two; a small brush steps 2 px
    assert len(S.discs(np.array([[5.0, 5.0], [5.05, 5.0]]), 11)) == 2
    assert len(S.discs(np.array([[5.0, 5.0], [5.5, 5.0]]), 11)) == 3
    assert len(S.discs(np.array([[0.0, 0.0], [10.0, 0.0]]), 3)) == 1 + 5
    assert len(S.discs(np.array([[7.0, 8.0]]), 11)) == 1


def test_a_pixel_is_ink_when_its_centre_lies_in_a_disc():
    rng = np.random.default_rng(0)
    size = (40, 30)
    for _ in range(30):
        pts = rng.uniform(-10, 45, (int(rng.integers(1, 6)), 2))
        r = float(rng.uniform(1, 9))
        got = S.stroke_mask(S.Stroke(pts, r), size)
        c = S.discs(pts, r)
        yy, xx = np.mgrid[0:size[1], 0:size[0]] + 0.5
        want = ((xx[None] - c[:, 0, None, None]) ** 2 + (yy[None] - c[:, 1, None, None]) ** 2 <= r * r).any(0)
        assert (got == want).all()


def test_rasterise_paints_each_stroke_in_its_colour_over_white():
    d = S.parse(payload(seven(), bar(6)), SIZE)
    img = S.rasterise(d)
    assert img.shape == (280, 280, 3) and img.dtype == np.uint8
    assert (img[0, 0] == 255).all() and (img[50, 120] == 0).all()
    red = S.Drawing((S.Stroke(np.array([[50.0, 50.0]]), 5, (255, 0, 0)),), SIZE)
    assert tuple(S.rasterise(red)[50, 50]) == (255, 0, 0)
    assert (S.rasterise(S.Drawing((), SIZE)) == 255).all()


# ---------------------------------------------------------------- what a client may send

def test_parse_reads_the_pages_drawing():
    d = S.parse(payload(seven(), bar(6.5)), SIZE)
    assert len(d.strokes) == 2 and d.strokes[1].radius == 6.5 and d.size == SIZE
    assert S.parse(json.dumps(payload(seven())), SIZE).strokes[0].points.shape == (7, 2)
    assert S.parse({"canvas": [280, 280], "strokes": None}, SIZE) is None  # the page stopped following
    assert S.parse({"canvas": [280, 280], "strokes": []}, SIZE).strokes == ()  # cleared


@pytest.mark.parametrize(("bad", "said"), [
    ("not json", "not valid JSON"),
    ('{"canvas": [280, 280], "strokes": [{"points": [[NaN, 1]], "size": 11}]}', "finite"),
    ([1, 2], "an object"),
    ({"strokes": []}, "canvas must be 280x280"),
    ({"canvas": [800, 800], "strokes": []}, "canvas must be 280x280"),
    ({"canvas": [280, 280], "strokes": "draw"}, "must be a list"),
    ({"canvas": [280, 280], "strokes": [{"points": [[1, 2]], "size": 11}] * (S.MAX_STROKES + 1)}, "strokes, over"),
    ({"canvas": [280, 280], "strokes": [{"points": [[1, 2]] * (S.MAX_POINTS + 1), "size": 1}]}, "points, over"),
    ({"canvas": [280, 280], "strokes": [{"points": [[1, 2]] * 4000, "size": 1}] * 2}, "points, over"),
    ({"canvas": [280, 280], "strokes": [{"points": [], "size": 11}]}, "non-empty list"),
    ({"canvas": [280, 280], "strokes": [{"points": [[1, 2, 3]], "size": 11}]}, "a pair"),
    ({"canvas": [280, 280], "strokes": [{"points": [[1, "2"]], "size": 11}]}, "point 1's y must be a number"),
    ({"canvas": [280, 280], "strokes": [{"points": [[True, 2]], "size": 11}]}, "must be a number, not bool"),
    ({"canvas": [280, 280], "strokes": [{"points": [[1e300, 2]], "size": 11}]}, "far off the canvas"),
    ({"canvas": [280, 280], "strokes": [{"points": [[1, 2]], "size": 0}]}, "brush goes from 1 to 100"),
    ({"canvas": [280, 280], "strokes": [{"points": [[1, 2]], "size": 1e9}]}, "brush goes from 1 to 100"),
    ({"canvas": [280, 280], "strokes": [{"points": [[1, 2]], "size": 11, "color": "red; x"}]}, "#rrggbb"),
    ({"canvas": [280, 280], "strokes": [{"points": [[0, 0], [280, 280]] * 1000, "size": 100}]}, "rows of brush"),
    ("x" * (S.MAX_JSON + 1), "characters, over the limit"),
])
def test_parse_refuses_hostile_drawings_by_name(bad, said):
    with pytest.raises(InputError, match=said):
        S.parse(bad, SIZE)


def test_the_work_limit_bounds_the_time_of_one_drawing():
    """The most expensive drawings parse lets through (a fat brush or a fine one, moves across the whole canvas)
    still draw in a fraction of a second."""
    import time

    for radius in (100, 1):
        corners = [[0, 0], [280, 280]]
        pts = corners * 10
        while True:  # as many moves as the limit allows
            more = pts + corners * 10
            try:
                S.parse({"canvas": [280, 280], "strokes": [{"points": more, "size": radius}]}, SIZE)
            except InputError:
                break
            pts = more
        d = S.parse({"canvas": [280, 280], "strokes": [{"points": pts, "size": radius}]}, SIZE)
        assert S.work(d) > 0.9 * S.MAX_WORK
        t = time.perf_counter()
        S.rasterise(d)
        assert time.perf_counter() - t < 2.0  # about 0.1 s here under load: never seconds per request


# ---------------------------------------------------------------- the editor's picture against the strokes

def ink_of(img: np.ndarray) -> np.ndarray:
    return 1.0 - img[:, :, 0].astype(np.float32) / 255


def test_relation_tells_current_older_newer_and_different():
    one, two = S.parse(payload(seven()), SIZE), S.parse(payload(seven(), bar()), SIZE)
    assert S.relation(ink_of(S.rasterise(two)), two) == S.CURRENT
    assert S.relation(ink_of(S.rasterise(one)), two) == S.OLDER  # the editor's picture lags a stroke behind
    assert S.relation(np.zeros((280, 280)), two) == S.OLDER  # ... or shows the canvas before the first
    assert S.relation(ink_of(S.rasterise(two)), one) == S.NEWER  # a stroke the page has not sent yet
    erased = ink_of(S.rasterise(two))
    erased[40:70, 40:160] = 0  # the eraser took the 7's bar
    assert S.relation(erased, two) == S.DIFFERENT
    # another brush size than the page said: a thinner one shows the strokes no longer describe the canvas; a fatter
    # one covers them, and is taken as the authority it is either way
    fat = S.parse(payload(seven(20), bar(20)), SIZE)
    assert S.relation(ink_of(S.rasterise(two)), fat) == S.DIFFERENT
    assert S.relation(ink_of(S.rasterise(fat)), two) == S.NEWER
    assert S.relation(np.zeros((280, 280)), S.Drawing((), SIZE)) == S.CURRENT
    # a pixel of difference along the edges (the GPU's discs are polygons) is the same drawing
    grown = ink_of(S.rasterise(S.parse(payload(seven(11.4), bar(11.4)), SIZE)))
    assert S.relation(grown, two) == S.CURRENT


# ---------------------------------------------------------------- the tab: quick answers, the editor's late pictures

def test_quick_answers_as_the_editors_picture_of_the_same_drawing_does():
    from playground.tabs import digits

    drawing = payload(seven())
    state = {}
    out = digits.quick({"strokes": drawing}, state)
    editor = digits.live({"sketch": S.rasterise(S.parse(drawing, SIZE))}, {})
    assert out["answer"] == editor["answer"] == "## 7"
    assert max(out["label"], key=out["label"].get) == "7"
    assert state["seen"].shape == (28, 28) and out["seen"] is not None


def test_a_late_editor_picture_of_an_older_drawing_changes_nothing():
    from playground.tabs import digits

    state = {}
    one, two = payload(seven()), payload(seven(), bar())
    digits.quick({"strokes": one}, state)
    digits.quick({"strokes": two}, state)
    # the editor's picture of the first stroke arrives after the page sent the second: it must not replace its answer
    assert digits.live({"sketch": S.rasterise(S.parse(one, SIZE))}, state) == {}
    # the editor's picture of both strokes is the authority: it answers
    assert digits.live({"sketch": S.rasterise(S.parse(two, SIZE))}, state)["answer"] == "## 7"
    # Clear: the blank answer at once; the editor's late pictures of the cleared drawing change nothing
    cleared = digits.quick({"strokes": {"canvas": [280, 280], "strokes": []}}, state)
    assert cleared["answer"] == "" and cleared["label"] is None and "seen" not in state
    digits.quick({"strokes": payload(bar())}, state)
    assert digits.live({"sketch": S.rasterise(S.parse(two, SIZE))}, state) == {}


def test_a_picture_the_strokes_do_not_describe_turns_the_quick_path_off_until_clear():
    from playground.tabs import digits

    state = {}
    two = payload(seven(), bar())
    digits.quick({"strokes": two}, state)
    erased = S.rasterise(S.parse(two, SIZE))
    erased[130:150, 90:190] = 255  # the eraser took the bar: the editor's picture answers
    assert digits.live({"sketch": erased}, state)["answer"] == "## 7"
    assert state.get("quick_off")
    assert digits.quick({"strokes": payload(seven(), bar(), bar())}, state) == {}  # ignored until Clear
    digits.quick({"strokes": {"canvas": [280, 280], "strokes": []}}, state)
    assert digits.quick({"strokes": payload(seven())}, state)["answer"] == "## 7"
    # the page saying it stopped following (an undo): every editor picture answers, none is held back
    assert digits.quick({"strokes": {"canvas": [280, 280], "strokes": None}}, state) == {}
    assert digits.live({"sketch": S.rasterise(S.parse(payload(bar()), SIZE))}, state)["answer"]


def test_predict_within_half_a_second_of_a_stroke_reads_the_pages_strokes():
    """The editor names its new drawing only once it has sent the pictures (~0.5 s after the stroke): a Predict
    clicked before then names a drawing the server does not hold. It reads the strokes the page sent instead; the
    editor's own event quietly waits for its picture; without strokes, Predict says what to do."""
    import gradio as gr

    from playground.images import DrawingMissing
    from playground.tabs import digits

    editor = gr.Sketchpad(render=False)
    stale = {"background": None, "layers": [], "composite": None, "id": "never-sent"}
    state = {}
    digits.quick({"strokes": payload(seven())}, state)
    out = digits.label_only({"sketch": stale}, state, editor)
    assert max(out["label"], key=out["label"].get) == "7" and state["answer"] == "## 7"
    assert digits.preview({"sketch": stale}, state, editor)["seen"] is not None
    assert digits.live({"sketch": stale}, state, editor) == {}
    with pytest.raises(DrawingMissing, match="press Predict again"):
        digits.label_only({"sketch": stale}, {}, editor)
    state["quick_off"] = True  # the strokes no longer describe the canvas (an eraser stroke): not read
    with pytest.raises(DrawingMissing):
        digits.label_only({"sketch": stale}, state, editor)


def test_quick_refuses_a_hostile_drawing_with_a_clear_error():
    import gradio as gr

    from playground.handlers import named
    from playground.tabs import digits

    handler = named(digits.quick, ["strokes"], outputs=["label", "answer", "seen", "which"])
    with pytest.raises(gr.Error, match="over the limit of 64"):
        handler({"canvas": [280, 280], "strokes": [{"points": [[1, 2]], "size": 11}] * 65}, {})


def test_the_quick_event_skips_the_queue_and_its_newest_stroke_replaces_a_waiting_one():
    from playground.app import build_demo

    demo = build_demo()
    (dep,) = [d for d in demo.fns.values() if getattr(d.fn, "__name__", "") == "quick"]
    assert not dep.queue and dep.trigger_mode == "always_last" and dep.api_visibility == "private"
    # the editor's own event, the authority, stays a queued prediction
    (pad,) = [b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "sketchpad"]
    (live,) = [d for d in demo.fns.values() if (pad._id, "change") in d.targets]
    assert live.queue and live.concurrency_id == "predict"


def test_the_quick_event_over_http_refuses_hostile_drawings(server):
    """Sent as the page sends it (one POST to /gradio_api/run/predict): a drawing answers, a hostile one gets its
    error, named."""
    from playground.serve import event_index, raw_run

    fn = event_index(server, "digit-strokes", "change")  # the quick path: the hidden component's change
    for k, (data, want) in enumerate([(payload(seven()), "## 7"),
                       ({"canvas": [280, 280], "strokes": [{"points": [[math.inf, 1]], "size": 11}]}, "finite"),
                       ({"canvas": [280, 280], "strokes": [{"points": [[1, 1]] * 7000, "size": 11}]}, "points, over")]):
        code, body = raw_run(server, fn, [data, None], f"quick-hostile-{k}")  # math.inf goes as JSON's Infinity
        if want.startswith("##"):
            assert code == 200 and want in json.dumps(body["data"]), (code, body)
        else:
            assert code == 500 and want in json.dumps(body), (code, body)


def test_strokes_that_find_every_quick_read_busy_are_left_to_the_editors_picture(monkeypatch):
    """Outside the queue, the quick reads have a bound of their own: a burst of strokes from many sessions runs at
    most QUICK_CONCURRENCY reads at once; the others return at once, unread, and the editor's queued picture of the
    same drawing answers them (it is taken as current, not as a drawing the strokes do not describe)."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from playground import settings
    from playground.tabs import digits

    running, most, lock = 0, 0, threading.Lock()
    real = digits.read

    def slow_read(values, state):
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.2)
        with lock:
            running -= 1
        return real(values, state)

    monkeypatch.setattr(digits, "read", slow_read)
    states = [{} for _ in range(12)]
    with ThreadPoolExecutor(12) as pool:
        outs = list(pool.map(lambda st: digits.quick({"strokes": payload(seven())}, st), states))
    answered = [o for o in outs if o]
    assert most == settings.QUICK_CONCURRENCY and 1 <= len(answered) < len(outs)
    assert all(o["answer"] == "## 7" for o in answered)
    unread = [st for st, o in zip(states, outs) if not o]
    for st in unread:
        assert "seen" not in st and "quick_off" not in st
        assert digits.live({"sketch": S.rasterise(S.parse(payload(seven()), SIZE))}, st)["answer"] == "## 7"
        assert "quick_off" not in st  # the page's next strokes are read again
    monkeypatch.setattr(digits, "read", real)
    assert digits.quick({"strokes": payload(seven(), bar())}, unread[0])["answer"] == "## 7"
