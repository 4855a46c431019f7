"""`verisight case backup|restore|check`: a consistent copy taken while a scan writes,
restored and verified, on SQLite and PostgreSQL; and every disagreement `check` must see."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import write_images
from tests.helpers import dump_case
from verisight.case import Case
from verisight.cli import app
from verisight.store.audit import AuditLog

runner = CliRunner()


def _case_with_history(root: Path, database_url: str) -> Case:
    write_images(root / "src", 8)
    case = Case(root / "case", database_url, create=True)
    case.scan([root / "src"], workers=1)
    log = AuditLog(case.store.engine)
    for i in range(3):
        log.append("analyst", "view", None, {"n": i})
    return case


def test_backup_restore_gives_the_same_case(tmp_path: Path, database_url: str) -> None:
    with _case_with_history(tmp_path, database_url) as case:
        manifest = case.backup(tmp_path / "backup")
        before = dump_case(case.database_url)
        head = AuditLog(case.store.engine).verify().head
    assert manifest.audit_head == head and manifest.audit_entries == 3
    assert manifest.counts["media"] == 8 and manifest.files["thumbs"] == 8
    saved = json.loads((tmp_path / "backup" / "backup.json").read_text())
    assert saved["audit_head"] == head

    restore_url = None if database_url.startswith("sqlite") else database_url
    if restore_url is not None:  # lose the PostgreSQL data, then restore over it
        with Case(tmp_path / "case", database_url) as case, case.store.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM sighting")
            conn.exec_driver_sql("DELETE FROM cluster_member")  # scans cluster what they add
            conn.exec_driver_sql("DELETE FROM cluster")
            conn.exec_driver_sql("DELETE FROM media_luma")
            conn.exec_driver_sql("DELETE FROM media")
    with Case.restore(tmp_path / "backup", tmp_path / "restored", restore_url) as restored:
        report = restored.check(audit_head=head)
        assert report.ok, report.problems
        assert report.thumbnails_checked == 8 and report.audit_head == head
        assert dump_case(restored.database_url) == before
        assert restored.thumbnail(next(restored.media()).sha256) is not None


def test_backup_taken_while_a_scan_writes_is_consistent(tmp_path: Path) -> None:
    write_images(tmp_path / "src", 160)
    case_dir = tmp_path / "case"
    Case(case_dir, create=True).close()
    scan = subprocess.Popen(
        [sys.executable, "-m", "verisight", "scan", str(tmp_path / "src"), "--case",
         str(case_dir), "--workers", "1", "--batch-size", "10"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        with Case(case_dir) as case:
            while sum(1 for _ in case.media()) < 20:
                assert scan.poll() is None and time.monotonic() < deadline, "scan ended early"
                time.sleep(0.05)
            manifest = case.backup(tmp_path / "backup")
    finally:
        assert scan.wait(timeout=300) == 0, scan.stderr.read() if scan.stderr else ""
    assert 20 <= manifest.counts["media"] < 160, "the snapshot was not taken mid-scan"
    with Case.restore(tmp_path / "backup", tmp_path / "restored") as restored:
        report = restored.check(audit_head=manifest.audit_head)
        assert report.ok, report.problems
        assert report.counts == manifest.counts
        # The restored snapshot resumes to the same content as the finished scan.
        restored.scan([tmp_path / "src"], workers=1)
        assert sum(1 for _ in restored.media()) == 160
        assert restored.check().ok


def test_check_sees_missing_files_truncated_audit_and_strays(
    tmp_path: Path, database_url: str
) -> None:
    with _case_with_history(tmp_path, database_url) as case:
        head = AuditLog(case.store.engine).verify().head
        assert case.check(audit_head=head).ok
        sha = next(case.media()).sha256
        thumb = case.thumbnail(sha)
        assert thumb is not None
        thumb.unlink()
        stray = thumb.parent / ("0" * 64 + ".jpg")
        stray.write_bytes(b"x")
        with case.store.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM audit_entry WHERE seq = 3")
        report = case.check(audit_head=head)
    assert not report.ok
    assert f"media {sha}: its thumbnail is missing" in report.problems
    assert any("is not in the chain" in p for p in report.problems)
    assert any("without a media row" in n for n in report.notes)


def test_restore_refuses_an_occupied_case(tmp_path: Path) -> None:
    with _case_with_history(tmp_path, f"sqlite:///{tmp_path / 'case' / 'verisight.db'}") as case:
        case.backup(tmp_path / "backup")
    res = runner.invoke(app, ["case", "restore", str(tmp_path / "backup"), "--case",
                              str(tmp_path / "case")])  # fmt: skip
    assert res.exit_code == 2 and "--force" in res.output
    res = runner.invoke(app, ["case", "backup", str(tmp_path / "backup"), "--case",
                              str(tmp_path / "case")])  # fmt: skip
    assert res.exit_code == 2 and "not empty" in res.output


def test_cli_backup_restore_check(tmp_path: Path) -> None:
    write_images(tmp_path / "src", 4)
    case = str(tmp_path / "case")
    assert (
        runner.invoke(app, ["scan", str(tmp_path / "src"), "--case", case, "-w", "1"]).exit_code
        == 0
    )
    res = runner.invoke(app, ["case", "backup", str(tmp_path / "b"), "--case", case, "--json"])
    assert res.exit_code == 0, res.output
    backed = json.loads(res.stdout)
    assert backed["counts"]["media"] == 4 and backed["database"] == "sqlite"
    res = runner.invoke(app, ["case", "restore", str(tmp_path / "b"), "--case",
                              str(tmp_path / "r"), "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["ok"] is True
    res = runner.invoke(app, ["case", "check", "--case", str(tmp_path / "r")])
    assert res.exit_code == 0 and "case consistent: 4 media" in res.stdout
    next((tmp_path / "r" / "thumbs").glob("*/*.jpg")).unlink()
    res = runner.invoke(app, ["case", "check", "--case", str(tmp_path / "r"), "--json"])
    assert res.exit_code == 1 and json.loads(res.stdout)["ok"] is False


def test_postgres_backup_without_pg_dump_explains(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _case_with_history(tmp_path, postgres_url) as case:
        monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
        from verisight.errors import CaseError

        with pytest.raises(CaseError, match="pg_dump is not installed"):
            case.backup(tmp_path / "backup")
