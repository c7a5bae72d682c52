"""The house rule on size: no module over 450 lines and no class over 250 lines in the package
and the drivers (small modules, one concern each)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 450
MAX_CLASS_LINES = 250


def oversized(source: str, name: str) -> list[str]:
    """What in ``source`` (a module called ``name``) breaks the rule, one line each."""
    found = []
    lines = len(source.splitlines())
    if lines > MAX_MODULE_LINES:
        found.append(f"{name}: {lines} lines")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            size = node.end_lineno - node.lineno + 1
            if size > MAX_CLASS_LINES:
                found.append(f"{name}: class {node.name} of {size} lines")
    return found


def test_no_module_or_class_is_too_large():
    paths = [*(ROOT / "src" / "tagstream").rglob("*.py"), *(ROOT / "drivers").rglob("*.py")]
    assert len(paths) > 100
    found = [f for p in paths for f in oversized(p.read_text(), str(p.relative_to(ROOT)))]
    assert found == []


def test_the_check_sees_a_large_module_and_a_large_class():
    body = "\n".join(f"    x{k} = {k}" for k in range(MAX_CLASS_LINES))
    big_class = f"class Big:\n{body}\n"
    assert oversized(big_class, "m.py") == ["m.py: class Big of 251 lines"]
    long_module = "\n".join(f"y{k} = {k}" for k in range(MAX_MODULE_LINES + 1))
    assert oversized(long_module, "n.py") == ["n.py: 451 lines"]
    assert oversized("class Small:\n    pass\n", "s.py") == []
