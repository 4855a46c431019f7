"""The project is called Verisight everywhere: the previous working name must not come back.

The old name is assembled at run time so that this file does not itself contain it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from verisight.cli import app

ROOT = Path(__file__).resolve().parents[1]
OLD = "".join(["v", "i", "g", "i", "l"])


def _tracked_files() -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: cannot list the repository's files")
    return [ROOT / name for name in out.decode().split("\0") if name]


def test_old_name_absent_from_every_tracked_file() -> None:
    offenders = []
    for path in _tracked_files():
        if OLD in str(path.relative_to(ROOT)).lower():
            offenders.append(f"{path.relative_to(ROOT)} (file name)")
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if OLD.encode() in data.lower():
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def _command_paths(command: Any, path: list[str]) -> list[list[str]]:
    paths = [path]
    if hasattr(command, "commands"):  # a group (Typer vendors its own click)
        for name, sub in command.commands.items():
            paths += _command_paths(sub, [*path, name])
    return paths


def test_old_name_absent_from_every_command_help() -> None:
    runner = CliRunner()
    paths = _command_paths(typer.main.get_command(app), [])
    assert len(paths) > 20
    for args in paths:
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0, args
        assert OLD not in result.output.lower(), args


def test_module_entry_point_names_verisight() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "verisight", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("verisight ")
