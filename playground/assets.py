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
  document.addEventListener('pointerdown', (e) => {
    const a = app();
    if (!a || e.target !== a.canvas) return;
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
  document.addEventListener('pointerup', (e) => {
    if (!L.pen || e.pointerId !== L.pen.id) return;
    const s = L.pen;
    L.pen = null;
    L.strokes.push({points: s.points, size: s.size, color: s.color});
    L.points += s.points.length;
    L.work += cost(s);
    if (L.strokes.length > CFG.max_strokes || L.points > CFG.max_points || L.work > CFG.max_work) {
      off('a drawing over the limits'); return;
    }
    L.up = e.timeStamp;
    send();
  }, true);
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
