"""The playground's web app: the only package that imports gradio.

    fields.py     the field tables (every setting once: label, widget, default, help, parser, API name)
    training.py   the one training-tab builder and its streaming handler
    tabs/         one module per tab: spiral, boston, digits, seedlab, about
    handlers.py   named API parameters, user errors as gr.Error
    store.py      default models, downloads, uploads, the code view
    settings.py   limits and server settings from the environment
    app.py        build_demo() and launch()
"""

from .app import build_demo, launch

__all__ = ["build_demo", "launch"]
