"""The code's shape, checked: dlcore has no import cycle and never imports gradio, the UI package is the only one
that does, app.py stays a few lines, and no UI function grows past a screen without a reason written above it."""

import ast
from pathlib import Path

import pytest

from playground.serve import ROOT

MAX_FUNCTION_LINES = 60
REASON = "# long:"  # a function over MAX_FUNCTION_LINES says why on the line above it, e.g. "# long: one layout"


def modules(package: str) -> dict[str, Path]:
    base = ROOT / package
    return {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
            for p in base.rglob("*.py")}


def imports(path: Path, name: str, top_level_only: bool) -> set[str]:
    """Modules `path` imports (absolute names); with top_level_only, those run at import time (no function bodies,
    no `if TYPE_CHECKING:` blocks)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()

    def visit(nodes):
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
                found.add(base)
                found.update(f"{base}.{a.name}" for a in node.names)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and top_level_only:
                if isinstance(node, ast.ClassDef):
                    visit(node.body)
            elif hasattr(node, "body") and isinstance(node.body, list):
                visit(node.body)
                visit(getattr(node, "orelse", []))
                visit(getattr(node, "finalbody", []))
                for h in getattr(node, "handlers", []):
                    visit(h.body)
    visit(tree.body)
    return found


def test_dlcore_has_no_import_cycle():
    mods = modules("dlcore")
    # the package itself is left out: Python runs dlcore/__init__ before any submodule, whoever imports it
    graph = {m: {i for i in imports(p, m, top_level_only=True) if i in mods and i not in (m, "dlcore")}
             for m, p in mods.items()}
    done, path = set(), []

    def walk(m):
        if m in path:
            pytest.fail("import cycle: " + " -> ".join(path[path.index(m):] + [m]))
        if m in done:
            return
        path.append(m)
        for n in graph[m]:
            walk(n)
        path.pop()
        done.add(m)

    for m in graph:
        walk(m)


@pytest.mark.parametrize("package", ["dlcore", "scripts", "bench"])
def test_only_the_ui_package_imports_gradio(package):
    for path in (ROOT / package).rglob("*.py"):
        if package == "bench" and path.name in ("bench_ui.py", "bench_predict.py", "bench_startup.py"):
            continue  # benchmarks of the app itself drive it through gradio_client
        names = imports(path, path.stem, top_level_only=False)
        assert not any(n == "gradio" or n.startswith("gradio.") for n in names), f"{path} imports gradio"


def test_app_py_is_a_few_lines():
    assert len((ROOT / "app.py").read_text().splitlines()) <= 40


def test_no_ui_function_is_long_without_a_reason():
    for path in (ROOT / "playground").rglob("*.py"):
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                length = node.end_lineno - first + 1
                if length > MAX_FUNCTION_LINES:
                    assert lines[first - 2].strip().startswith(REASON), \
                        f"{path.name}:{node.lineno} {node.name} is {length} lines with no '{REASON} ...' above it"


def test_every_child_of_the_tab_bar_is_a_tab():
    """A component placed straight in gr.Tabs (a gr.State made after a tab's `with` block) is drawn as a tab of its
    own by the browser: the Seed lab then showed twice and About not at all."""
    import gradio as gr

    from playground.app import build_demo

    demo = build_demo()
    bars = [b for b in demo.blocks.values() if isinstance(b, gr.Tabs)]
    assert bars
    for bar in bars:
        strays = [type(c).__name__ for c in bar.children if not isinstance(c, gr.Tab)]
        assert not strays, f"not tabs, straight in gr.Tabs: {strays}"
