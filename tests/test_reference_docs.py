"""docs/cli.md and docs/configuration.md are generated from the code: they must match it."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_generator() -> ModuleType:
    # scripts/ is not a package: load the generator from its file, the one the fix command runs.
    path = ROOT / "scripts" / "generate_reference.py"
    spec = importlib.util.spec_from_file_location("generate_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generator = _load_generator()
REFERENCES = sorted(generator.REFERENCES)


@pytest.mark.parametrize("name", REFERENCES)
def test_committed_reference_matches_the_code(name: str) -> None:
    committed = (ROOT / name).read_text(encoding="utf-8")
    assert generator.REFERENCES[name]() == committed, (
        f"{name} is out of date: regenerate it with `{generator.FIX}` and commit the result"
    )


@pytest.mark.parametrize("name", REFERENCES)
def test_reference_names_nothing_of_this_machine(name: str) -> None:
    rendered = generator.REFERENCES[name]()
    for local in (str(ROOT), str(Path.home()), tempfile.gettempdir()):
        assert local not in rendered, f"{name} mentions {local}, which only this machine has"


@pytest.mark.parametrize("command", [[], ["users", "add"]], ids=["frontdesk", "users add"])
def test_cli_reference_is_what_the_command_prints(command: list[str]) -> None:
    """The generator renders help in-process; the installed command must print the same."""
    env = {**os.environ, "TYPER_USE_RICH": "0", "COLUMNS": "100"}
    printed = subprocess.run(
        [sys.executable, "-m", "frontdesk", *command, "--help"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    heading = " ".join(["frontdesk", *command])
    assert f" {heading}\n\n```\n{printed}```\n" in generator.cli_reference()
