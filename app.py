"""The Neural Network Playground: `python app.py`, or a Hugging Face Space's entry point.

The app lives in the `playground` package (the only one that imports gradio) over the `dlcore` core.
"""

import os

# No outside calls at start: gradio's version check and telemetry are off unless explicitly enabled.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("MPLBACKEND", "Agg")  # figures are rendered off-screen on worker threads

from playground import build_demo, launch  # noqa: E402

demo = build_demo()

if __name__ == "__main__":
    launch(demo)
