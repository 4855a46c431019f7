"""Roles enforced on the server, the taxonomy mappings, and the ``verisight`` web commands."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from tests.web.conftest import DECISION, Browser
from tests.web.test_audit import cli
from verisight.assessment import AssessmentService
from verisight.assessment.mappings import JUDGEMENT_CALLS, map_decision, prefill_from_bank
from verisight.assessment.review import ReviewPolicy, agrees, review_reason, sampled
from verisight.assessment.roles import PERMISSIONS, Perm, Role
from verisight.cli import web as web_cli
from verisight.store.assessments import Decision

Factory = Callable[[], Browser]


def test_auditor_reads_but_cannot_assess(
    app_factory: Factory, service: AssessmentService, shas: list[str]
) -> None:
    auditor = app_factory()
    assert auditor.login("auditor") == 303
    r = auditor.post(f"/item/{shas[0]}/assess", DECISION | {"version": "0"})
    assert r.status_code == 403  # type: ignore[attr-defined]
    r = auditor.post("/grid", {f"{k}.{shas[0]}": v for k, v in DECISION.items()})
    assert r.status_code == 403  # type: ignore[attr-defined]
    assert service.assessments.get(shas[0]) is None
    denied = [e for e in service.audit.entries() if e.action == "denied"]
    assert denied and denied[0].actor == "auditor"
    assert auditor.client.get("/audit").status_code == 200
    assert auditor.client.get(f"/history/{shas[0]}").status_code == 200
    assert auditor.client.get("/export.json").status_code == 200
    assert auditor.client.get("/admin").status_code == 403


def test_analyst_cannot_manage_or_read_the_whole_log(app_factory: Factory) -> None:
    analyst = app_factory()
    assert analyst.login("analyst") == 303
    for url in ("/admin", "/audit", "/export.json"):
        assert analyst.client.get(url).status_code == 403, url
    assert analyst.post("/admin/qa", {"sample_rate": "50"}).status_code == 403  # type: ignore[attr-defined]


def test_only_analysts_and_reviewers_see_media() -> None:
    seeing = {r for r, perms in PERMISSIONS.items() if Perm.VIEW_MEDIA in perms}
    assert seeing == {Role.ANALYST, Role.REVIEWER}
    assert {r for r, p in PERMISSIONS.items() if Perm.RESOLVE in p} == {Role.REVIEWER}


def test_mappings() -> None:
    d = Decision("indecent-photograph", "A", "photographic", "3-6", "girls")
    m = map_decision(d)
    assert (m.vics, m.ncmec, m.interpol_baseline) == (1, "A1", True)
    m = map_decision(Decision("pseudo-photograph", "C", "ai-photorealistic", "14-15", "boys"))
    assert (m.vics, m.ncmec, m.interpol_baseline) == (1, "B2", False)
    m = map_decision(Decision("prohibited-image", "B", "ai-non-photorealistic", "7-10", "both"))
    assert (m.vics, m.ncmec, m.interpol_baseline) == (3, None, False)
    m = map_decision(Decision("not-illegal", None, "unknown", "unknown", "unidentified"))
    assert (m.vics, m.ncmec, m.interpol_baseline) == (0, None, False)
    assert prefill_from_bank(1, "cat. b") == {"outcome": "indecent-photograph", "category": "B"}
    assert prefill_from_bank(3, None) == {"outcome": "prohibited-image"}
    assert prefill_from_bank(None, "A") == {}
    assert len(JUDGEMENT_CALLS) >= 4


def test_review_rules() -> None:
    d = Decision("not-illegal", None, "unknown", "unknown", "unidentified")
    sha = "ab" * 32
    assert review_reason(sha, d, 1, ReviewPolicy(0.0)) == "bank-disagreement"
    assert review_reason(sha, d, 0, ReviewPolicy(0.0)) is None
    assert review_reason(sha, d, None, ReviewPolicy(1.0)) == "sample"
    share = sum(sampled(f"{i:064x}", 0.25) for i in range(2000)) / 2000
    assert 0.2 < share < 0.3
    assert agrees(d, Decision("not-illegal", None, "photographic", "0-2", "boys"))
    assert not agrees(d, Decision("prohibited-image", "C", "unknown", "unknown", "unidentified"))
    assert ReviewPolicy.from_setting({"sample_rate": "7"}).sample_rate == 1.0


def test_user_add_from_stdin(service: AssessmentService, case_dir_url: tuple[Path, str]) -> None:
    case_dir, url = case_dir_url
    args = ["user", "add", "newbie", "--role", "reviewer", "--case", str(case_dir),
            "--database-url", url]  # fmt: skip
    res = CliRunner().invoke(cli(), [*args, "--password-stdin"], input="a long passphrase\n")
    assert res.exit_code == 0, res.output
    user = service.users.by_name("newbie")
    assert user and user.role == "reviewer" and user.password_hash.startswith("$argon2id$")
    again = CliRunner().invoke(cli(), args, input="a long passphrase\n")
    assert again.exit_code == 2 and "already exists" in again.output
    bad = CliRunner().invoke(cli(), [*args[:3], "--role", "boss", *args[5:]], input="x" * 12)
    assert bad.exit_code == 2 and "role must be one of" in bad.output


def test_serve_binds_to_localhost_by_default() -> None:
    host = inspect.signature(web_cli.serve).parameters["host"].default
    assert host == "127.0.0.1"
