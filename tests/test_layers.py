"""The layers are checked by import-linter (contracts in pyproject.toml), and the check bites: a page
that imports a core module breaks the build, naming the page and the import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def copy_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    for name in ("canvascraft", "components", "pages"):
        shutil.copytree(ROOT / name, tree / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_project_keeps_its_layers(tmp_path: Path) -> None:
    result = lint_imports(copy_tree(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_page_importing_a_core_module_is_refused_by_name(tmp_path: Path) -> None:
    tree = copy_tree(tmp_path)
    page = tree / "pages" / "gallery.py"
    page.write_text(
        page.read_text().replace(
            "import streamlit as st\n", "import streamlit as st\n\nimport canvascraft.gallery.runs\n", 1
        )
    )
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert "pages.gallery -> canvascraft.gallery.runs" in result.stdout


def test_every_core_package_is_under_the_core_contracts() -> None:
    """A new package under canvascraft/ is covered by the layer checks from its first commit."""
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    core = next(c for c in contracts if c["name"].startswith("The core never imports"))
    ui = next(c for c in contracts if c["name"].startswith("Pages and components"))
    api = next(c for c in contracts if c["name"].startswith("The API reaches"))
    doors = {"canvascraft.services", "canvascraft.cli", "canvascraft.api"}
    packages = {
        f"canvascraft.{path.stem if path.suffix else path.name}"
        for path in (ROOT / "canvascraft").iterdir()
        if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").exists()
    }
    assert packages - doors - set(core["source_modules"]) == set()
    allowed = {"canvascraft.errors", "canvascraft.share"}
    assert packages - doors - allowed - set(ui["forbidden_modules"]) == set()
    # The API is a door like the pages: the services, errors and share links, nothing below them.
    assert packages - doors - allowed - set(api["forbidden_modules"]) == set()
    assert {"components", "pages", "streamlit"} <= set(api["forbidden_modules"])
    assert {"components", "pages", "streamlit"} <= set(core["forbidden_modules"])
    # Only the studio server may mount the API beside the pages.
    assert {line.split(" -> ")[0] for line in ui["ignore_imports"]} == {"components.server"}
