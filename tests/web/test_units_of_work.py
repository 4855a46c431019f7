"""One unit of work, one transaction, on SQLite and PostgreSQL: a decision and its audit entry
commit together or not at all (also per propagated member, for user changes and for a bank
import with its matches), the audit chain stays whole under concurrent units, and role checks
live in the services."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import write_images
from tests.web.conftest import DECISION
from tests.web.test_audit import cli
from tests.web.test_clusters import make_cluster, no_second_review
from verisight.assessment import AssessmentService
from verisight.case import Case
from verisight.errors import Forbidden
from verisight.store.audit import AuditLog
from verisight.store.banks import BankStore


class Injected(RuntimeError):
    """The failure a test injects between two writes of one unit."""


def fail_audit(monkeypatch: pytest.MonkeyPatch, action: str | None = None) -> None:
    """Make the audit append raise (for ``action`` only, when given)."""
    real = AuditLog.append

    def append(self: AuditLog, actor: str | None, act: str, *args: Any, **kw: Any) -> Any:
        if action is None or act == action:
            raise Injected(f"injected failure before the {act} audit entry")
        return real(self, actor, act, *args, **kw)

    monkeypatch.setattr(AuditLog, "append", append)


def audit_verifies(case: Case) -> None:
    """``verisight audit verify`` passes on the case."""
    res = CliRunner().invoke(
        cli(), ["audit", "verify", "--case", str(case.directory), "--database-url",
                case.database_url],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "audit log intact" in res.output


def test_a_decision_without_its_audit_entry_is_not_saved(
    service: AssessmentService, shas: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    analyst = service.users.by_name("analyst")
    assert analyst is not None
    entries = service.audit.count()
    fail_audit(monkeypatch, "assess")
    with pytest.raises(Injected):
        service.submit(analyst, shas[0], service.parse_decision(DECISION), 0)
    assert service.assessments.get(shas[0]) is None
    assert service.assessments.opinions(shas[0]) == []
    assert service.audit.count() == entries
    monkeypatch.undo()
    audit_verifies(service.case)
    # the same decision goes through once the failure is gone
    saved = service.submit(analyst, shas[0], service.parse_decision(DECISION), 0)
    assert saved.version == 1
    assert next(service.audit.entries(media_sha256=shas[0])).action == "assess"
    audit_verifies(service.case)


def test_each_propagated_member_commits_with_its_audit_entry(
    service: AssessmentService, shas: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rep, m1, m2, _ = shas
    make_cluster(service, rep, {m1: 5, m2: 12})
    no_second_review(service)
    analyst = service.users.by_name("analyst")
    assert analyst is not None
    service.submit(analyst, rep, service.parse_decision(DECISION), 0)
    real = AuditLog.append
    calls: list[str | None] = []

    def second_fails(self: AuditLog, actor: str | None, act: str, *a: Any, **kw: Any) -> Any:
        if act == "propagate":
            calls.append(a[0] if a else kw.get("media_sha256"))
            if len(calls) == 2:
                raise Injected("injected failure before the second member's audit entry")
        return real(self, actor, act, *a, **kw)

    monkeypatch.setattr(AuditLog, "append", second_fails)
    with pytest.raises(Injected):
        service.propagate(analyst, rep, {m1, m2}, confirmed=True)
    first, second = calls
    assert service.assessments.get(second) is None  # neither its decision...
    assert not [e for e in service.audit.entries(media_sha256=second) if e.action == "propagate"]
    done = service.assessments.get(first)  # ...while the member before it kept both
    assert done is not None and done.decision == service.parse_decision(DECISION)
    assert next(service.audit.entries(media_sha256=first)).action == "propagate"
    monkeypatch.undo()
    audit_verifies(service.case)


def test_a_user_change_without_its_audit_entry_is_not_made(
    service: AssessmentService, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = service.users.by_name("admin")
    assert admin is not None
    fail_audit(monkeypatch)
    with pytest.raises(Injected):
        service.accounts.add_user("newcomer", "analyst", "a long passphrase")
    with pytest.raises(Injected):
        service.accounts.set_org_welfare(admin, {"blur": "0"})
    with pytest.raises(Injected):
        service.set_review_policy(admin, 0.5)
    monkeypatch.undo()
    assert service.users.by_name("newcomer") is None
    assert service.accounts.org_welfare() == {}
    assert service.users.org_setting("qa") == {}
    audit_verifies(service.case)


def test_the_service_checks_the_role_for_org_welfare(service: AssessmentService) -> None:
    analyst = service.users.by_name("analyst")
    assert analyst is not None
    with pytest.raises(Forbidden):
        service.accounts.set_org_welfare(analyst, {"blur": "0"})
    assert service.accounts.org_welfare() == {}
    last = next(service.audit.entries(limit=1))
    assert (last.actor, last.action, last.detail) == ("analyst", "denied", {"perm": "manage"})


def test_a_bank_import_and_its_matches_commit_together(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_images(tmp_path / "src", 2)
    with Case(tmp_path / "case", database_url, create=True) as case:
        case.scan([tmp_path / "src"], workers=1, cluster=False)
        media = sorted(case.media(), key=lambda m: m.sha256)
        hashes = tmp_path / "list.csv"
        hashes.write_text(f"md5,pdq,label\n{media[0].md5},,a\n,{media[1].pdq},b\n")

        def broken(self: BankStore, matches: object) -> int:
            raise Injected("injected failure while recording the matches")

        monkeypatch.setattr(BankStore, "write_matches", broken)
        with pytest.raises(Injected):
            case.banking.import_file(hashes, "hotline")
        monkeypatch.undo()
        assert case.banking.banks() == []  # no bank, no entries, no import record
        assert list(case.banking.matches()) == []
        res = case.banking.import_file(hashes, "hotline")  # not "already imported"
        assert not res.already_imported and res.added == 2
        assert res.matching is not None and res.matching.media_matched == 2
        assert {m.media_sha256 for m in case.banking.matches()} == {m.sha256 for m in media}


def test_concurrent_units_keep_one_audit_chain(tmp_path: Path, database_url: str) -> None:
    """Two (four) analysts at once: each unit writes, then appends to the audit log inside
    its own transaction; the chain never forks and no entry is lost."""
    case = Case(tmp_path / "case", database_url, create=True)
    audit = AuditLog(case.store.engine)
    service = AssessmentService(case)
    errors: list[BaseException] = []

    def analyst(n: int) -> None:
        try:
            for i in range(6):
                with case.transaction() as conn:
                    service.users.bind(conn).set_org_setting(f"k{n}", {"i": i})
                    audit.bind(conn).append(f"user{n}", "org-settings", detail={"i": i})
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=analyst, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = audit.verify()
    assert report.ok, report.problems
    assert report.entries == 24
    audit_verifies(case)
    case.close()


def test_history_is_a_typed_result(service: AssessmentService, shas: list[str]) -> None:
    analyst = service.users.by_name("analyst")
    assert analyst is not None
    service.submit(analyst, shas[0], service.parse_decision(DECISION), 0)
    h = service.history(analyst, shas[0])
    assert h.assessment is not None and h.assessment.version == 1
    assert [o.stage for o in h.opinions] == ["first"]
    assert [e.action for e in h.entries][:2] == ["history", "assess"]
