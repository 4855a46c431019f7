"""The documentation says what the code does: a generated CLI reference that is never stale,
a package map that matches the package, every command and option explained in a guide, and
links that resolve."""

from __future__ import annotations

import re
import runpy
from pathlib import Path
from typing import Any

import typer

from verisight.cli import app

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"


def test_cli_reference_is_current() -> None:
    reference = runpy.run_path(str(REPO / "scripts" / "cli_reference.py"))
    assert (DOCS / "cli.md").read_text() == reference["render"](), (
        "docs/cli.md is stale: run .venv/bin/python scripts/cli_reference.py"
    )


def test_design_page_package_map_matches_the_package() -> None:
    package = REPO / "verisight"
    actual = {f"verisight/{p.name}/" for p in package.iterdir() if (p / "__init__.py").is_file()}
    actual |= {f"verisight/{p.name}" for p in package.glob("*.py") if p.name != "__init__.py"}
    design = (DOCS / "design.md").read_text()
    section = design.split("## Package map", 1)[1].split("\n## ", 1)[0]
    mapped = set(re.findall(r"^\| `(verisight/[^`]+)` \|", section, flags=re.M))
    assert mapped == actual, (
        f"docs/design.md's package map is out of date: missing {sorted(actual - mapped)}, "
        f"gone {sorted(mapped - actual)}"
    )


def _guides() -> str:
    pages = [REPO / "README.md", *sorted(DOCS.glob("*.md"))]
    return "\n".join(p.read_text() for p in pages if p.name != "cli.md")


def test_every_command_and_option_is_explained_in_a_guide() -> None:
    guides = _guides()
    root = typer.main.get_command(app)

    def walk(cmd: Any, prefix: str) -> None:
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, f"{prefix} {name}".strip())
            return
        assert f"verisight {prefix}" in guides, f"`verisight {prefix}` is not in the guides"
        for p in cmd.params:
            for opt in getattr(p, "opts", []):
                if opt.startswith("--") and opt != "--help":
                    assert opt in guides, f"`verisight {prefix} {opt}` is not in the guides"

    walk(root, "")


def test_relative_links_resolve() -> None:
    broken = []
    for page in [REPO / "README.md", *DOCS.glob("*.md")]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target:
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(REPO)} → {target}")
    assert broken == []


def test_scanning_guide_names_the_walkers_reason_for_symlinked_folders(tmp_path: Path) -> None:
    """Issue 18: the guide must give the reason the walker really records."""
    from verisight.limits import Limits
    from verisight.sources.walk import iter_items

    (tmp_path / "root" / "inner").mkdir(parents=True)
    (tmp_path / "root" / "link").symlink_to(tmp_path / "root" / "inner")
    reasons = {item.error.reason.value for item in iter_items([tmp_path / "root"], Limits())
               if item.error}  # fmt: skip
    guide = (Path(__file__).parents[1] / "docs" / "scanning.md").read_text()
    row = next(line for line in guide.splitlines() if "symlink to a folder inside" in line)
    assert reasons == {"special-file"} and row.startswith("| `special-file`")
