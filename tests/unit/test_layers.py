"""The layers: engine/ never imports gradio, ui/ never imports torch, and building the page stays light."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_engine_never_imports_gradio():
    offenders = [str(p) for p in (ROOT / "engine").rglob("*.py") if "gradio" in _imports(p)]
    assert offenders == []


def test_ui_never_imports_the_ml_stack():
    heavy = {"torch", "transformers", "peft", "trl", "bitsandbytes", "sentence_transformers"}
    offenders = {str(p): _imports(p) & heavy for p in (ROOT / "ui").rglob("*.py") if _imports(p) & heavy}
    assert offenders == {}


def test_building_the_page_imports_no_heavy_library():
    code = (
        "import sys, tempfile, pathlib\n"
        "from engine.settings import Settings\n"
        "from engine.studio import Studio\n"
        "from ui.app import build_app\n"
        "studio = Studio(Settings(data_dir=pathlib.Path(tempfile.mkdtemp()), no_weaviate=True))\n"
        "build_app(studio)\n"
        "print(sorted(m for m in ('torch', 'transformers', 'weaviate', 'unstructured', 'sentence_transformers')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
