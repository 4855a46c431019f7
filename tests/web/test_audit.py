"""The audit log: every action is an entry, and tampering with the database is detected
(on SQLite and PostgreSQL); ``verisight audit verify`` reports it."""

from __future__ import annotations

import threading
from pathlib import Path

import typer
from sqlalchemy import Table, delete, update
from typer.testing import CliRunner

from tests.web.conftest import DECISION, Browser
from verisight.assessment import AssessmentService
from verisight.cli import web as web_cli
from verisight.store.audit import AuditLog
from verisight.store.schema import AuditEntry

AUDIT: Table = AuditEntry.__table__  # type: ignore[assignment]


def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root."""

    web_cli.register(app)
    return app


def test_every_action_is_audited(
    browser: Browser, service: AssessmentService, shas: list[str]
) -> None:
    assert browser.login("analyst", "wrong password!") == 401
    assert browser.login("reviewer") == 303
    sha = shas[0]
    browser.get(f"/item/{sha}")
    browser.client.post(f"/media/{sha}/reveal", headers={"x-csrf-token": browser.csrf})
    browser.post(f"/item/{sha}/assess", DECISION | {"version": "0"})
    browser.client.get("/export.json")
    browser.get(f"/history/{sha}")
    actions = [e.action for e in reversed(list(service.audit.entries()))]
    for expected in ("user-add", "login-failed", "login", "view", "reveal", "assess", "export",
                     "history"):  # fmt: skip
        assert expected in actions, expected
    reveal = next(e for e in service.audit.entries() if e.action == "reveal")
    assert reveal.actor == "reviewer" and reveal.media_sha256 == sha and reveal.at.tzinfo
    assert service.verify_audit().ok


def _seed(service: AssessmentService, n: int = 6) -> None:
    for i in range(n):
        service.audit.append("analyst", "view", "ab" * 32, {"i": i})


def test_edited_entry_is_detected(
    service: AssessmentService, case_dir_url: tuple[Path, str]
) -> None:
    _seed(service)
    seq = service.audit.count() - 2
    with service.case.store.engine.begin() as conn:
        conn.execute(update(AUDIT).where(AUDIT.c.seq == seq).values(actor="someone-else"))
    report = service.verify_audit()
    assert not report.ok and any(f"entry {seq}:" in p and "edited" in p for p in report.problems)
    res = CliRunner().invoke(cli(), ["audit", "verify", "--case", str(case_dir_url[0]),
                                     "--database-url", case_dir_url[1]])  # fmt: skip
    assert res.exit_code == 1, res.output
    assert "edited" in res.output


def test_edit_with_recomputed_hash_is_detected_by_the_next_entry(
    service: AssessmentService,
) -> None:
    from verisight.store.audit import entry_hash

    _seed(service)
    seq = 3
    with service.case.store.engine.begin() as conn:
        row = conn.execute(AUDIT.select().where(AUDIT.c.seq == seq)).one()
        forged = entry_hash(row.prev_hash, seq, row.at, row.actor, "export", row.media_sha256,
                            row.detail)  # fmt: skip
        conn.execute(update(AUDIT).where(AUDIT.c.seq == seq).values(action="export", hash=forged))
    problems = service.verify_audit().problems
    assert any(p.startswith(f"entry {seq + 1}:") for p in problems)


def test_deleted_entry_is_detected(service: AssessmentService) -> None:
    _seed(service)
    with service.case.store.engine.begin() as conn:
        conn.execute(delete(AUDIT).where(AUDIT.c.seq == 4))
    problems = service.verify_audit().problems
    assert any("entry 5:" in p and "deleted" in p for p in problems)


def test_reordered_entries_are_detected(service: AssessmentService) -> None:
    _seed(service)
    with service.case.store.engine.begin() as conn:  # swap 3 and 4
        conn.execute(update(AUDIT).where(AUDIT.c.seq == 3).values(seq=-1))
        conn.execute(update(AUDIT).where(AUDIT.c.seq == 4).values(seq=3))
        conn.execute(update(AUDIT).where(AUDIT.c.seq == -1).values(seq=4))
    assert not service.verify_audit().ok


def test_intact_log_verifies_from_the_cli(
    service: AssessmentService, case_dir_url: tuple[Path, str]
) -> None:
    _seed(service)
    res = CliRunner().invoke(cli(), ["audit", "verify", "--case", str(case_dir_url[0]),
                                     "--database-url", case_dir_url[1], "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert '"ok": true' in res.output


def test_concurrent_appends_keep_one_chain(service: AssessmentService) -> None:
    log = AuditLog(service.case.store.engine)
    start = log.count()

    def work(k: int) -> None:
        for i in range(10):
            log.append(f"user{k}", "view", None, {"i": i})

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report = log.verify()
    assert report.ok, report.problems
    assert report.entries == start + 40


def _verify_cli(case_dir_url: tuple[Path, str]) -> object:
    return CliRunner().invoke(cli(), ["audit", "verify", "--case", str(case_dir_url[0]),
                                      "--database-url", case_dir_url[1]])  # fmt: skip


def test_a_garbage_timestamp_is_reported_not_a_traceback(
    service: AssessmentService, case_dir_url: tuple[Path, str]
) -> None:
    """Issue 18 item 13 (SQLite stores timestamps as text; PostgreSQL refuses garbage)."""
    _seed(service)
    engine = service.case.store.engine
    if engine.dialect.name != "sqlite":
        return
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE audit_entry SET at = 'not a time' WHERE seq = 2")
    res = _verify_cli(case_dir_url)
    assert res.exit_code == 1, res.output  # type: ignore[attr-defined]
    assert "entry 2: timestamp 'not a time' is unreadable" in res.output  # type: ignore[attr-defined]
    assert "Traceback" not in res.output  # type: ignore[attr-defined]
    assert res.exception is None or isinstance(res.exception, SystemExit)  # type: ignore[attr-defined]


def test_audit_verify_catches_a_decision_edited_in_the_database(
    service: AssessmentService, case_dir_url: tuple[Path, str], shas: list[str]
) -> None:
    """The chain is intact, but an assessment row no longer says what was audited."""
    from verisight.store.schema import Assessment

    analyst = service.users.by_name("analyst")
    assert analyst is not None
    service.submit(analyst, shas[0], service.parse_decision(DECISION), 0)
    assert _verify_cli(case_dir_url).exit_code == 0  # type: ignore[attr-defined]
    table: Table = Assessment.__table__  # type: ignore[assignment]
    with service.case.store.engine.begin() as conn:
        conn.execute(update(table).values(outcome="not-illegal", category=None))
    res = _verify_cli(case_dir_url)
    assert res.exit_code == 1  # type: ignore[attr-defined]
    assert f"media {shas[0]}: its assessment" in res.output.replace("\n", "")  # type: ignore[attr-defined]
