"""The layers of DESIGN.md as import contracts (``[tool.importlinter]`` in pyproject.toml, run by
``lint-imports`` in CI): they hold on this tree, and a copy of the tree with one wrong import
breaks the contract that forbids it. The imports into ``drivers/`` and ``benchmarks/`` from
``src/``, which the import graph cannot see, are refused by ruff's banned-api (TID251)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = {
    c["id"]: c["name"]
    for c in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
        "contracts"
    ]
}
RUFF = Path(sys.executable).with_name("ruff")
#: ``lint-imports`` of this interpreter's environment.
LINT_IMPORTS = (
    sys.executable,
    "-c",
    "from importlinter.cli import lint_imports_command; lint_imports_command()",
)


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on ``tree`` (a repository root: its ``src/tagstream``, ``drivers/``,
    ``benchmarks/`` and ``pyproject.toml``), in a fresh interpreter that imports tagstream
    from that tree."""
    return subprocess.run(
        [*LINT_IMPORTS, "--no-cache"],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree / "src")},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the repository's code and pyproject.toml."""
    skip = shutil.ignore_patterns("__pycache__")
    for folder in ("src", "drivers", "benchmarks"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=skip)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_contracts_hold_on_the_tree():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in CONTRACTS.values():
        assert f"{name} KEPT" in result.stdout
    assert len(CONTRACTS) >= 3


def test_the_copy_of_the_tree_is_checked_as_the_tree(tree):
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # a kernel reaching up into the analyses
        ("src/tagstream/kernels/channel_counts.py", "from ..analysis import channels", {"layers"}),
        # the tag model depending on a file format
        ("src/tagstream/tags/units.py", "from ..formats import pq_spec", {"layers"}),
        # an indirect way up: the source layer through the store
        ("src/tagstream/sources/files.py", "from ..store import paths", {"layers"}),
        # a driver using the pipeline (which uses the analyses)
        ("drivers/s15/tdc1.py", "from tagstream.pipeline import record", {"layers", "drivers"}),
        # a driver using an analysis
        ("drivers/s15/tdc1.py", "from tagstream.analysis import channels", {"drivers"}),
        # the simulator imported around the source factory
        ("src/tagstream/sources/files.py", "from .simulator import simulate", {"simulator"}),
        ("src/tagstream/cli/run.py", "from ..sources.simulator import simulate", {"simulator"}),
        ("benchmarks/simulator.py", "from tagstream.sources.simulator import run", {"simulator"}),
    ],
)
def test_a_wrong_import_breaks_its_contract(tree, module, line, broken):
    path = tree / module
    path.write_text(path.read_text() + f"\n{line}  # a deliberately wrong import\n")
    result = lint_imports(tree)
    assert result.returncode == 1, result.stdout + result.stderr
    for key, name in CONTRACTS.items():
        assert f"{name} {'BROKEN' if key in broken else 'KEPT'}" in result.stdout, key


@pytest.mark.parametrize(
    ("module", "line"),
    [
        ("src/tagstream/sources/device.py", "from ..drivers.s15 import tdc1"),
        ("src/tagstream/pipeline/offline.py", "import tagstream.drivers.registry"),
        ("src/tagstream/cli/run.py", "from ..benchmarks import suite"),
    ],
)
def test_src_importing_drivers_or_benchmarks_is_refused_by_ruff(tree, module, line):
    """What the import graph cannot see: ``drivers/`` and ``benchmarks/`` are packages of their
    own there, so ruff's banned-api refuses their installed names in src/."""
    args = [str(RUFF), "check", "--no-cache", "--select", "TID251", "src", "drivers", "benchmarks"]
    clean = subprocess.run(args, cwd=tree, capture_output=True, text=True, timeout=120)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    path = tree / module
    path.write_text(path.read_text() + f"\n{line}  # a deliberately wrong import\n")
    broken = subprocess.run(args, cwd=tree, capture_output=True, text=True, timeout=120)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert f"{module}:" in broken.stdout and "TID251" in broken.stdout
