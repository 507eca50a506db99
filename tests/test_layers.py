"""The layers of docs/architecture.md hold: no module imports one of a higher layer (issue #14, item 2).

Layers, lowest first: the shared item, errors and settings (``crawler/items.py``, ``exceptions.py``, ``config.py``);
the rule engine; the store and search index; evidence; the crawler; the console and the scheduler; the CLI. The
sandbox sits beside the product: only the CLI may use it. Imports inside functions count like the others.

``KNOWN_DEBT`` lists the upward imports the tree still has; the test fails on any other, and on a listed one that
is gone (strike it from the list), so the list only shrinks.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KERNEL = ("crawler.items", "crawler.exceptions", "crawler.config")
LAYERS = {"rules": 1, "indexer": 2, "evidence": 3, "crawler": 4, "dashboards": 5, "scheduler": 5, "adwatch": 6}
SANDBOX_USERS = {"adwatch"}
PRODUCT = ("crawler", "rules", "indexer", "evidence", "dashboards", "scheduler.py", "adwatch.py")

KNOWN_DEBT = {
    ("evidence.cli", "dashboards.cases"),  # the case register lives in the console's package
    ("evidence.cli", "dashboards.db"),
}


def layer_of(module: str) -> int | None:
    if any(module == kernel or module.startswith(kernel + ".") for kernel in KERNEL):
        return 0
    return LAYERS.get(module.split(".")[0])


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def product_files() -> Iterator[Path]:
    for entry in PRODUCT:
        path = ROOT / entry
        yield from sorted(path.rglob("*.py")) if path.is_dir() else [path]


def imported(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def upward_imports() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for path in product_files():
        module = module_name(path)
        own = layer_of(module)
        for target in imported(path):
            top = target.split(".")[0]
            if top == "sandbox" and module.split(".")[0] not in SANDBOX_USERS:
                found.add((module, target))
                continue
            their = layer_of(target)
            if own is not None and their is not None and their > own and top != module.split(".")[0]:
                found.add((module, target))
    return found


def test_no_module_imports_a_higher_layer_beyond_the_known_debt() -> None:
    found = upward_imports()
    assert found - KNOWN_DEBT == set(), "new upward imports"
    assert KNOWN_DEBT - found == set(), "gone from the tree: strike them from KNOWN_DEBT"


def test_the_rule_engine_imports_nothing_of_ours_but_the_kernel() -> None:
    for path in (ROOT / "rules").rglob("*.py"):
        ours = {name for name in imported(path) if layer_of(name) not in (None, 1) or name.startswith("sandbox")}
        assert all(layer_of(name) == 0 for name in ours), (path.name, ours)
