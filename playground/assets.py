"""The page's style and the small scripts the Sketchpad needs (Gradio 6's editor starts with no tool selected)."""

CSS = """
#boundary img { cursor: crosshair; }
.status textarea, .status p { font-family: ui-monospace, monospace; }
footer { display: none !important; }
/* Phones: what a tab is for (the boundary, the sketchpad, the price) first, then Train and the progress, then the
   settings (playground.training.TrainingTab.columns). */
@media (max-width: 720px) {
  .tab-frame { display: contents !important; }
  .tab-settings { order: 1; }
  .tab-settings > .tab-first { order: -1; }
}
#boundary img, #network img { cursor: crosshair; }
.legend { font-size: 0.85em; line-height: 1.8; }
.legend .swatch { display: inline-block; width: 0.9em; height: 0.9em; margin: 0 0.25em 0 0.6em; vertical-align: -0.1em;
                  border-radius: 2px; }
.legend .scale { display: inline-block; width: 5em; height: 0.8em; vertical-align: -0.05em; border: 1px solid #ccc;
                 background: linear-gradient(90deg, rgb(245,147,34), white, rgb(8,119,189)); }
/* Digits: the answer follows every stroke without a progress timer flashing over it ("hidden" still shows one) */
#digit-answer [data-testid="status-tracker"].hidden, #digit-label [data-testid="status-tracker"].hidden,
#digit-seen [data-testid="status-tracker"].hidden, #digit-which [data-testid="status-tracker"].hidden,
#digit-seeing [data-testid="status-tracker"].hidden { display: none !important; }
"""

# Gradio 6's image editor starts with no tool selected; select its brush so the first stroke draws. A click on the
# brush while it is already selected would change nothing here, but skip it anyway when it is highlighted.
SELECT_BRUSH_JS = """
() => {
  const t0 = Date.now();
  const tick = () => {
    const root = document.querySelector('#sketchpad');
    const brush = root && root.querySelector('button[aria-label="Brush"]');
    if (brush && root.querySelector('canvas')) {
      if (!brush.classList.contains('highlight')) brush.click();
      return;
    }
    if (Date.now() - t0 < 8000) setTimeout(tick, 150);
  };
  setTimeout(tick, 100);
}
"""

# Clear through the editor's own "Clear canvas" button (sending None to the Sketchpad leaves 6.31's editor loading).
# That button also resets the zoom to 100 %: put back the zoom the user had (the editor's "Fit to screen", where it
# starts, then its own zoom steps), so the drawing square keeps its size.
CLEAR_SKETCH_JS = """
() => {
  const root = document.querySelector('#sketchpad');
  if (!root) return;
  const zoomText = () => (root.querySelector('.zoom-number')?.innerText || '').trim();
  const before = parseInt(zoomText(), 10);
  const clear = root.querySelector('button[aria-label="Clear canvas"]');
  if (clear) clear.click();
  const restore = async () => {
    const wait = (ms) => new Promise((r) => setTimeout(r, ms));
    await wait(60);
    if (!before || parseInt(zoomText(), 10) === before) return;
    root.querySelector('.zoom-number [role="button"]')?.click();
    await wait(30);
    [...root.querySelectorAll('button')].find((b) => b.innerText.trim() === 'Fit to screen')?.click();
    for (let i = 0; i < 20; i++) {
      await wait(30);
      const now = parseInt(zoomText(), 10);
      if (!now || now === before) break;
      const step = root.querySelector(`button[aria-label="${now < before ? 'Zoom in' : 'Zoom out'}"]`);
      const next = () => parseInt(zoomText(), 10);
      step?.click();
      await wait(30);
      if ((now < before && next() > before) || (now > before && next() < before)) break;  // no exact step back
    }
  };
  restore();
  (SELECT_BRUSH)();
}
""".replace("SELECT_BRUSH", SELECT_BRUSH_JS.strip())

# Digits, answer as you draw: follow the pointer on the Sketchpad and, at each stroke's end, send the strokes drawn so
# far through the hidden #digit-strokes component (its change event, a prediction like the others), without waiting the
# half second the editor takes to read its canvas back and upload it. The editor's own change still follows and is the
# authority. Runs as that component's js_on_load (`element`, `trigger`, `props`); the listeners are installed once per
# page, on the document in the capture phase (before the editor's own), and read the editor's transform (zoom, pan)
# from its PixiJS application at every pointer event. What it cannot follow (an eraser stroke, undo/redo, a second
# finger, a cancelled pointer, a dropped file, a drawing over the limits) turns it off: it says so ("strokes": null)
# and the editor's event answers alone until the canvas is cleared.
DIGIT_STROKES_JS = """
const CFG = __CONFIG__;
const L = window.__digitStrokes || (window.__digitStrokes = {strokes: [], pen: null, seq: 0, on: true,
                                                              size: CFG.size, ic: null, points: 0, work: 0});
L.props = props;
if (!L.installed) {
  L.installed = true;
  const pad = () => document.querySelector('#sketchpad');
  const app = () => {
    const a = window.__PIXI_APP__, p = pad();
    return a && a.canvas && p && p.contains(a.canvas) ? a : null;
  };
  const container = (a) => {  // the editor's image container: its local units are canvas px
    if (L.ic && L.ic.parent === a.stage) return L.ic;
    L.ic = a.stage.children.find((c) => { const b = c.getLocalBounds();
      return b.minX === 0 && b.minY === 0 && Math.round(b.maxX) === CFG.canvas[0] && Math.round(b.maxY) === CFG.canvas[1]; })
      || null;
    return L.ic;
  };
  const local = (a, ic, e) => {  // as PixiJS maps a pointer event: client px -> the canvas's px -> the container's
    const r = a.canvas.getBoundingClientRect();
    const k = a.canvas.width / r.width / a.renderer.resolution;
    const p = ic.toLocal({x: (e.clientX - r.left) * k, y: (e.clientY - r.top) * k});
    return [Math.round(p.x * 100) / 100, Math.round(p.y * 100) / 100];
  };
  const tool = () => {
    const p = pad(), on = (name) => p?.querySelector(`button[aria-label="${name}"]`)?.classList.contains('highlight');
    return on('Brush') ? 'draw' : on('Erase') ? 'erase' : 'other';
  };
  const send = () => {
    L.seq += 1;
    const strokes = L.on ? L.strokes.map((s) => ({points: s.points, size: s.size, color: s.color})) : null;
    L.sent = performance.now();
    L.props.value = {seq: L.seq, canvas: CFG.canvas, strokes};
  };
  const off = (why) => {
    L.pen = null;
    if (!L.on) return;
    L.on = false; L.why = why; L.strokes = []; L.points = 0; L.work = 0;
    send();
  };
  const reset = () => { L.pen = null; L.on = true; L.why = null; L.strokes = []; L.points = 0; L.work = 0; send(); };
  const cost = (s) => {  // dlcore.strokes.work for one stroke
    const step = Math.max(s.size / 3, 2), box = (2 * (Math.ceil(s.size) + 1) + 1) ** 2;
    let n = 1;
    for (let i = 1; i < s.points.length; i++) {
      const d = Math.hypot(s.points[i][0] - s.points[i - 1][0], s.points[i][1] - s.points[i - 1][1]);
      n += d < 0.1 ? 1 : Math.max(Math.ceil(d / step), 2);
    }
    return n * box;
  };
  const lighten = (a) => {  // the faint drop shadow round the drawing square (a blur filter, 4 passes) doubles the cost
    a.__dlcoreLight = true;  // of every frame the editor draws in software (no GPU): one pass looks the same at 2 px
    const walk = (n) => { for (const f of n.filters || []) if (f && f.quality > 1) f.quality = 1;
                          (n.children || []).forEach(walk); };
    walk(a.stage);
  };
  document.addEventListener('pointerdown', (e) => {
    const a = app();
    if (!a || e.target !== a.canvas) return;
    if (!a.__dlcoreLight) lighten(a);
    if (L.pen) { off('a second pointer'); return; }
    if (!L.on) return;
    const t = tool();
    if (t === 'erase') { off('the eraser'); return; }
    const ic = t === 'draw' && container(a);
    if (!ic) return;
    const p = local(a, ic, e);
    if (!(p[0] >= 0 && p[0] < CFG.canvas[0] && p[1] >= 0 && p[1] < CFG.canvas[1])) return;  // off the square: no stroke
    const slider = pad().querySelector('input[type="range"]');
    if (slider) L.size = Number(slider.value);
    L.pen = {id: e.pointerId, a, ic, size: L.size, color: CFG.color, points: [p]};
  }, true);
  document.addEventListener('pointermove', (e) => {
    if (L.pen && e.pointerId === L.pen.id) L.pen.points.push(local(L.pen.a, L.pen.ic, e));
  }, true);
  const up = (e) => {  // a stroke's end: send the strokes; the editor to hold back (DIGIT_HOLD_JS) while they answer
    if (!L.pen || e.pointerId !== L.pen.id) return null;
    const s = L.pen;
    L.pen = null;
    L.strokes.push({points: s.points, size: s.size, color: s.color});
    L.points += s.points.length;
    L.work += cost(s);
    if (L.strokes.length > CFG.max_strokes || L.points > CFG.max_points || L.work > CFG.max_work) {
      off('a drawing over the limits'); return null;
    }
    L.up = e.timeStamp;
    send();
    return L.hold === false ? null : s.a;
  };
  if (window.__digitHold) window.__digitHold.onUp = up;  // called from the window's capture phase, before PixiJS
  else document.addEventListener('pointerup', up, true);  // no hold script in the page: answer without holding
  document.addEventListener('pointercancel', (e) => { if (L.pen && e.pointerId === L.pen.id) off('a cancelled stroke'); },
                            true);
  document.addEventListener('click', (e) => {
    const b = e.target.closest && e.target.closest('#sketchpad button');
    const name = b && b.getAttribute('aria-label');
    if (name === 'Clear canvas') reset();
    else if (name === 'Undo' || name === 'Redo') off(name.toLowerCase());
  }, true);
  document.addEventListener('input', (e) => {
    if (e.target.matches && e.target.matches('#sketchpad input[type="range"]') && tool() === 'draw') {
      L.size = Number(e.target.value);
    }
  }, true);
  document.addEventListener('drop', (e) => { if (e.target.closest && e.target.closest('#sketchpad')) off('a dropped file'); },
                            true);
}
"""


def digit_strokes_js(canvas: tuple[int, int], radius: float, color: str, limits: dict) -> str:
    """DIGIT_STROKES_JS for a Sketchpad of `canvas` px whose brush starts at `radius` px in `color`, with the limits
    the server enforces (dlcore.strokes), so the page falls back to the editor instead of sending what is refused."""
    import json

    cfg = {"canvas": list(canvas), "size": radius, "color": color, **limits}
    return DIGIT_STROKES_JS.replace("__CONFIG__", json.dumps(cfg))


# Digits, answer as you draw (2): the editor's own work at a stroke's end (committing the stroke, then redrawing its
# canvas every frame for half a second and reading it back three times, all under software WebGL on a machine without
# a GPU) holds the page's main thread for 0.5-1 s, and the quick answer (its request's reply, the result stream, the
# label's update and paint) waits behind it. So when the quick path has sent a stroke, the pointerup is held back from
# the editor (PixiJS listens for it on the window in the capture phase; this script is in the page's <head>, so its
# listener comes first) and the editor's render loop is paused, until the answer's 28x28 view has been painted (at most
# MAX_MS): then the same pointerup is given to the editor, which commits the stroke, sends its picture (the authority,
# as before) and redraws. While held, pointer moves are kept from the editor (it would take them for the pressed
# brush) and the last is given to it on release; a new pointerdown releases first. The stroke on screen is the one the
# editor drew while it was being drawn. `window.__digitHold.onUp` is set by DIGIT_STROKES_JS.
DIGIT_HOLD_JS = """
(() => {
  if (window.__digitHold) return;
  const H = window.__digitHold = {held: null, onUp: null, released: [], MAX_MS: __MAX_MS__};
  const replay = (type, e, target) => {
    const r = new PointerEvent(type, {bubbles: true, cancelable: true, composed: true, pointerId: e.pointerId,
      pointerType: e.pointerType, isPrimary: e.isPrimary, clientX: e.clientX, clientY: e.clientY, screenX: e.screenX,
      screenY: e.screenY, button: e.button, buttons: e.buttons, pressure: e.pressure, width: e.width, height: e.height,
      tiltX: e.tiltX, tiltY: e.tiltY, altKey: e.altKey, ctrlKey: e.ctrlKey, metaKey: e.metaKey, shiftKey: e.shiftKey});
    r.__replayed = true;
    (target && target.isConnected ? target : document).dispatchEvent(r);
  };
  const seen = () => document.querySelector('#digit-seen img')?.getAttribute('src') || null;
  H.release = (why) => {
    const h = H.held;
    if (!h) return;
    H.held = null;
    clearTimeout(h.timer);
    if (h.watch) h.watch.disconnect();
    H.released.push({why, ms: performance.now() - h.t});
    if (H.released.length > 50) H.released.shift();
    replay('pointerup', h.up, h.target);
    if (h.move) replay('pointermove', h.move, h.moveTarget);
    if (h.app.ticker && !h.app.ticker.started) h.app.ticker.start();
  };
  window.addEventListener('pointerup', (e) => {
    if (e.__replayed || !H.onUp) return;
    if (H.held) H.release('another pointer');
    const app = H.onUp(e);
    if (!app) return;
    e.stopImmediatePropagation();
    const h = H.held = {up: e, target: e.target, app, t: performance.now(), move: null, moveTarget: null};
    // paused at once: the stroke's last moves, dispatched just before this pointerup, show at the release (~0.1 s
    // later); letting one more frame draw them first cost the answer ~50 ms (medians 111, 109 ms against 169, 157
    // in alternating bench runs of 8 strokes)
    if (app.ticker && app.ticker.started) app.ticker.stop();
    const before = seen(), view = document.querySelector('#digit-seen');
    if (view) {  // released once the answer's new 28x28 view has been painted (a frame, then a task)
      h.watch = new MutationObserver(() => {
        if (H.held === h && seen() !== before) {
          h.watch.disconnect();
          requestAnimationFrame(() => setTimeout(() => { if (H.held === h) H.release('answered'); }, 0));
        }
      });
      h.watch.observe(view, {subtree: true, childList: true, attributes: true});
    }
    h.timer = setTimeout(() => { if (H.held === h) H.release('timeout'); }, H.MAX_MS);
  }, true);
  window.addEventListener('pointermove', (e) => {
    if (!H.held || e.__replayed) return;
    e.stopImmediatePropagation();
    H.held.move = e; H.held.moveTarget = e.target;
  }, true);
  for (const type of ['pointerdown', 'pointercancel', 'keydown']) {  // (a key: Clear, Undo, a tab by keyboard)
    window.addEventListener(type, (e) => { if (H.held && !e.__replayed) H.release(type); }, true);
  }
})();
"""


def digit_hold_head(max_ms: int = 400) -> str:
    """The <head> script of DIGIT_HOLD_JS (for `launch(head=...)`): the editor waits at most `max_ms` for an answer."""
    return "<script>" + DIGIT_HOLD_JS.replace("__MAX_MS__", str(int(max_ms))) + "</script>"
