"""The command starts in a blink: a run imports only the module of the command it runs, a
case at the newest schema opens without Alembic, and lazy package exports all resolve."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from verisight.cli import COMMANDS, MODULES
from verisight.store.db import SCHEMA_HEAD

HEAVY = ("numpy", "numba", "PIL", "faiss", "av", "fastapi", "alembic", "onnxruntime", "sqlalchemy")
LAZY_PACKAGES = (
    "verisight.analysis",
    "verisight.analysis.provenance",
    "verisight.clustering",
    "verisight.matching",
    "verisight.sources",
)


def _loaded_after(args: list[str], cwd: Path) -> set[str]:
    code = (
        "import json, sys\n"
        f"sys.argv = ['verisight', *{args!r}]\n"
        "from verisight.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=True
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_version_loads_nothing_heavy(tmp_path: Path) -> None:
    assert _loaded_after(["--version"], tmp_path).isdisjoint(HEAVY)


#: What ``media list`` may not import: it needs SQLAlchemy (and Typer's pydantic), nothing that
#: decodes, hashes, clusters or serves (issue 17: numpy alone cost ~0.1 s of its start-up).
NOT_FOR_LISTING = (*(m for m in HEAVY if m != "sqlalchemy"), "jinja2", "starlette", "scipy")


def test_media_list_loads_no_array_decoder_kernel_or_web_stack(tmp_path: Path) -> None:
    from verisight.case import Case

    Case(tmp_path / "case", create=True).close()
    loaded = _loaded_after(["media", "list", "--case", str(tmp_path / "case")], tmp_path)
    assert sorted(loaded & set(NOT_FOR_LISTING)) == []


def test_every_command_is_mapped_to_its_module() -> None:
    for module in MODULES:
        app = typer.Typer()
        importlib.import_module(f"verisight.cli.{module}").register(app)
        names = [c.name or c.callback.__name__ for c in app.registered_commands]  # type: ignore[union-attr]
        names += [g.name or "" for g in app.registered_groups]
        assert names and all(COMMANDS[n] == module for n in names), (module, names)
    assert set(COMMANDS.values()) == set(MODULES)


def test_schema_head_is_alembics_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from verisight.store.db import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == SCHEMA_HEAD


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_lazy_exports_resolve(package: str) -> None:
    module = importlib.import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{package}.{name}"
    assert set(module.__all__) <= set(dir(module))
