"""The shells stay shells: ``verisight/cli`` and ``verisight/web`` reach the case only through
:class:`verisight.case.Case` and its services, never the store (DESIGN.md, "the one door").

An AST check over their source: what they import, and that they neither reach for a store
(``.store``, ``.engine``) nor build one (``SomethingStore(...)``, ``AuditLog(...)``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "verisight"
SHELLS = ("cli", "web")

#: Modules a shell may import, besides its own package: the door, the errors, and modules of
#: result types, vocabulary and rendering (no store, no unit of work).
ALLOWED = {
    "verisight",  # __version__
    "verisight.case",
    "verisight.errors",
    "verisight.services.audit",  # os_actor, AuditReport
    "verisight.services.clusters",  # ClusterView, KINDS
    "verisight.services.reports",  # BY
    "verisight.services.admin",  # AdminService: the administration pages' service
    "verisight.banking",  # ImportResult, MatchSummary, LookupHit, lookup_hashes
    "verisight.matching",  # READ_FORMATS, WRITE_FORMATS
    "verisight.matching.signals",  # HashType, PDQ_THRESHOLD
    "verisight.clustering",  # ClusterParams and its defaults
    "verisight.clustering.videos",  # VPDQ_BASIS
    "verisight.reports",  # period_spec
    "verisight.reports.hashes",  # HASH_FORMATS, check_filters
    "verisight.reports.render",
    "verisight.reports.charts",
    "verisight.limits",
    "verisight.names",  # escaping untrusted names for terminals and JSON
    "verisight.scanning",  # ScanSummary
    "verisight.demo",  # the generated demo collection
    "verisight.assessment",  # AssessmentService (the web app's service) and its results
    "verisight.assessment.roles",
    "verisight.assessment.welfare",
    "verisight.assessment.taxonomy",
    "verisight.assessment.mappings",
    "verisight.assessment.review",
    "verisight.apikeys",  # SCOPES
    "verisight.distributed",  # DaskExecutor: `scan --dask` shows its workers and dashboard
    "verisight.api",  # the platform API's app, which `verisight api` serves
    "verisight.api.server",
}
#: Calls that build a store or a service's internals (only Case does that).
BUILDERS = ("Store", "AuditLog", "Users", "Assessments", "Banking", "AssessmentService")


def _sources() -> Iterator[Path]:
    for shell in SHELLS:
        yield from sorted((PACKAGE / shell).rglob("*.py"))


def _imports(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def _violations(path: Path, root: Path = PACKAGE.parent) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    rel = path.relative_to(root)
    own = ("verisight.cli", "verisight.web")
    found: list[str] = []
    for line, module in _imports(tree):
        if not module.startswith("verisight"):
            continue
        if module.startswith(own) or module in ALLOWED:
            continue
        found.append(f"{rel}:{line}: imports {module}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("store", "engine"):
            found.append(f"{rel}:{node.lineno}: reaches for .{node.attr}")
        if isinstance(node, ast.Call):
            f = node.func
            name = (
                f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            )
            if name.endswith(BUILDERS):
                found.append(f"{rel}:{node.lineno}: builds {name}(...)")
    return found


def test_the_shells_go_through_the_case_only() -> None:
    problems = [p for path in _sources() for p in _violations(path)]
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize(
    "source",
    [
        "from verisight.store.audit import AuditLog\n",
        "import verisight.store\n",
        "from verisight.backfill import backfill_grids\n",
        "def f(c):\n    return c.store.engine\n",
        "def f(c):\n    return c.banking.store.all()\n",
        "def f(e):\n    return ClusterStore(e)\n",
    ],
)
def test_the_check_catches_a_shell_that_bypasses_the_case(source: str, tmp_path: Path) -> None:
    shell = tmp_path / "verisight" / "cli"
    shell.mkdir(parents=True)
    bad = shell / "bad.py"
    bad.write_text(source)
    assert _violations(bad, tmp_path)


def test_no_shell_names_the_store_package() -> None:
    """Belt and braces: not even a lazy or string import of ``verisight.store``."""
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        assert "verisight.store" not in text, path
