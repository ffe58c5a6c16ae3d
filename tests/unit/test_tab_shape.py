"""One shape for every tab: ui/tabs/<name>.py has `create_<name>_tab(studio)`, which builds a private
`_<Name>Tab` class; the tab's parts (sections, panels) live in ui/tabs/<name>_<part>.py."""

import ast
from pathlib import Path

TABS = Path(__file__).resolve().parents[2] / "ui" / "tabs"


def test_every_tab_module_has_its_create_function_and_private_tab_class():
    creators = {}
    for path in sorted(TABS.glob("*.py")):
        tree = ast.parse(path.read_text())
        names = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
        created = sorted(n for n in names if n.startswith("create_") and n.endswith("_tab"))
        if created:
            creators[path.stem] = created
            tab_class = "_" + path.stem.title().replace("_", "") + "Tab"
            assert created == [f"create_{path.stem}_tab"], (path.name, created)
            assert tab_class in names, (path.name, sorted(names))
        assert not any(n.endswith("Tab") and not n.startswith("_") for n in names), (path.name, sorted(names))
    assert set(creators) == {"chat", "notebook", "documents", "training", "evaluate", "models", "settings"}
