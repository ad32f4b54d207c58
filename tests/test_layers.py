"""Layers import one way: storage <- extract, publish, crawler <- build, cli, extract_cli.

Every import statement counts, also those inside functions and `if TYPE_CHECKING:` blocks, so a
lazy import cannot hide an upward dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OURS = ("postprocess", "crawler")

# Layer of a module (longest matching prefix wins) -> module prefixes it may import.
LAYERS: dict[str, tuple[str, ...]] = {
    "postprocess": (),  # the package __init__: importing storage must not pull anything in
    "postprocess.storage": ("postprocess.storage",),
    "postprocess.extract": ("postprocess.extract", "postprocess.storage"),
    "postprocess.publish": ("postprocess.publish", "postprocess.storage"),
    "crawler": ("crawler", "postprocess.storage"),
    # On top: the build, the command line and `nianbao extract` may import every layer.
    "postprocess.build": OURS,
    "postprocess.cli": OURS,
    "postprocess.extract_cli": OURS,
}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str | None:
    matches = [name for name in LAYERS if module == name or module.startswith(name + ".")]
    return max(matches, key=len) if matches else None


def within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def imported_modules(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, absolute module) for every import in the file, nested ones included."""
    tree = ast.parse(path.read_bytes(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            # `from postprocess import build` imports postprocess.build.
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
    return found


def layer_violations(root: Path) -> list[str]:
    """Every import under root/{postprocess,crawler} that reaches outside its layer's allowance."""
    problems = []
    for top in OURS:
        for path in sorted((root / top).rglob("*.py")):
            module = module_name(path, root)
            layer = layer_of(module)
            if layer is None:
                problems.append(f"{path.relative_to(root)}: module {module} has no layer")
                continue
            allowed = LAYERS[layer]
            for line, target in imported_modules(path, module):
                if not within(target, OURS):
                    continue
                # `from postprocess import x` is judged as postprocess.x.
                if not within(target, allowed):
                    problems.append(f"{path.relative_to(root)}:{line}: {layer} imports {target}")
    return problems


def test_layers_import_only_downward():
    assert layer_violations(REPO) == []


def test_layers_every_top_level_module_has_a_layer():
    modules = {module_name(p, REPO) for top in OURS for p in (REPO / top).rglob("*.py")}
    assert {m for m in modules if layer_of(m) is None} == set()
    # The layers the architecture names all exist.
    assert {"postprocess.storage", "postprocess.extract", "postprocess.publish"} <= modules


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_layer_checker_finds_upward_imports_of_every_form(tmp_path):
    root = _tree(
        tmp_path,
        {
            "postprocess/__init__.py": "",
            "postprocess/build.py": "from postprocess.extract import model\n",
            "postprocess/storage/__init__.py": "",
            "postprocess/storage/db.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n"
                "    from postprocess.extract.model import Cell\n"
            ),
            "postprocess/storage/warc.py": "def f():\n    import postprocess.build\n",
            "postprocess/extract/__init__.py": "",
            "postprocess/extract/model.py": "from ..publish import plugin\n",
            "postprocess/extract/clean.py": "from . import model\nfrom ..storage import db\n",
            "postprocess/publish/__init__.py": "",
            "postprocess/publish/plugin.py": "from postprocess import extract\n",
            "crawler/__init__.py": "",
            "crawler/run.py": (
                "from postprocess.storage import db\n"
                "def go():\n    from postprocess.build import build_archive\n"
            ),
        },
    )
    assert layer_violations(root) == [
        "postprocess/extract/model.py:1: postprocess.extract imports postprocess.publish.plugin",
        "postprocess/publish/plugin.py:1: postprocess.publish imports postprocess.extract",
        "postprocess/storage/db.py:3: postprocess.storage imports postprocess.extract.model.Cell",
        "postprocess/storage/warc.py:2: postprocess.storage imports postprocess.build",
        "crawler/run.py:3: crawler imports postprocess.build.build_archive",
    ]


def test_layer_checker_passes_a_clean_tree(tmp_path):
    root = _tree(
        tmp_path,
        {
            "postprocess/__init__.py": "",
            "postprocess/cli.py": "def main():\n    from crawler import run\n",
            "postprocess/storage/__init__.py": "",
            "postprocess/storage/db.py": "import sqlite3\nfrom . import warc\n",
            "postprocess/storage/warc.py": "",
            "postprocess/extract/__init__.py": "",
            "postprocess/extract/model.py": "from postprocess.storage.db import x\n",
            "crawler/__init__.py": "",
            "crawler/run.py": "from postprocess.storage import db\nfrom crawler import urls\n",
        },
    )
    assert layer_violations(root) == []
