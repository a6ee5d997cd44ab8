"""The arrows between packages point one way; a change that turns one round fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import frontdesk

PACKAGE = Path(frontdesk.__file__).parent
WEB_FRAMEWORKS = ("fastapi", "starlette", "typer", "uvicorn", "jinja2")
MAX_LINES = 450


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules_of(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [("api", "frontdesk.web"), ("web", "frontdesk.api"), ("http", "frontdesk.api"),
     ("http", "frontdesk.web")],
)  # fmt: skip
def test_the_edges_do_not_import_each_other(folder: str, forbidden: str) -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in modules_of(folder)
        for module in imported_modules(path)
        if module == forbidden or module.startswith(forbidden + ".")
    ]
    assert offenders == []


@pytest.mark.parametrize("folder", ["agents", "store", "queue", "handoffs", "runtime", "tools"])
def test_the_core_imports_no_web_framework(folder: str) -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in modules_of(folder)
        for module in imported_modules(path)
        if module.split(".")[0] in WEB_FRAMEWORKS
    ]
    assert offenders == []


def test_agents_depend_on_contracts_not_on_each_other() -> None:
    agents = PACKAGE / "agents"
    names = {path.stem for path in agents.glob("*.py")} - {"__init__"} | {"realtime"}
    offenders = []
    for path in agents.rglob("*.py"):
        own = path.relative_to(agents).parts[0].removesuffix(".py")
        for module in imported_modules(path):
            parts = module.split(".")
            other = parts[2] if parts[:2] == ["frontdesk", "agents"] and len(parts) > 2 else own
            if other in names and other != own:
                offenders.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert offenders == []


def test_no_module_is_too_long_to_read() -> None:
    long = [
        f"{path.relative_to(PACKAGE)}: {lines} lines"
        for path in sorted(PACKAGE.rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    ]
    assert long == []
