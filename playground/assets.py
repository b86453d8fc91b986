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
