"""The README's API example runs as written, against the app on a local port (only the address is changed)."""

import re

import numpy as np
from PIL import Image

from dlcore.data import embedded_mnist
from playground.serve import ROOT


def api_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Use via API"):text.index("## Command line")]
    return re.search(r"```python\n(.*?)```", section, re.S)[1]


def test_the_readme_api_example_runs(server, tmp_path, monkeypatch, capsys):
    code = api_example()
    assert 'Client("http://127.0.0.1:7860/")' in code
    _, _, xte, yte = embedded_mnist()
    digit = 255 - np.asarray(Image.fromarray(xte[0].numpy()).resize((280, 280)))  # black ink on white paper
    Image.fromarray(digit).save(tmp_path / "digit.png")
    monkeypatch.chdir(tmp_path)
    exec(compile(code.replace("http://127.0.0.1:7860/", server), "README.md", "exec"), {})
    out = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("Loaded as API")]
    assert out[0].startswith(str(int(yte[0])))  # the label, then its top 3
    last = max(i for i, line in enumerate(out) if "epoch 1000/1000" in line)  # the streamed training's last status
    assert any("now used for predictions" in line for line in out[last:])
