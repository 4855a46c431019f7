"""The administration pages (banks, scans, exports) over HTTP on SQLite and PostgreSQL: each
route refuses the logged-out (redirect or 401), the wrong role (403) and a missing or wrong
CSRF token (403); each action writes its audit entry; a bank upload behaves as ``verisight
bank import``; a scan path outside the configured roots (symlinks included) is refused."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import jpeg_bytes, write_images
from tests.web.conftest import Browser
from verisight.assessment import AssessmentService
from verisight.case import Case
from verisight.web import create_app


def _actions(service: AssessmentService) -> list[str]:
    return [e.action for e in service.audit.entries()]


def _bank_csv(case: Case, bad: bool = False) -> bytes:
    media = sorted(case.media(), key=lambda m: m.sha256)
    lines = ["md5,label"] + [f"{m.md5},entry {i}" for i, m in enumerate(media[:2])]
    if bad:
        lines.append("not-a-hash,broken")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    """A scan root with a generated folder in it, and a folder outside it."""
    root = tmp_path / "incoming"
    write_images(root / "batch", 3, start=20)
    outside = tmp_path / "elsewhere"
    write_images(outside, 1, start=40)
    return root, outside


@pytest.fixture
def admin_app(service: AssessmentService, roots: tuple[Path, Path]) -> Iterator[Browser]:
    app = create_app(service, scan_roots=[roots[0]], scan_workers=1)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield Browser(client)
    app.state.admin.wait(60)


def _upload(b: Browser, data: bytes, name: str = "hotline", csrf: bool = True,
            **fields: str) -> Any:  # fmt: skip
    form = {"name": name, "format": "auto", "kind": "match"} | fields
    if csrf:
        form["csrf"] = b.csrf
    return b.client.post("/admin/banks/import", data=form,
                         files={"file": ("list.csv", data, "text/csv")},
                         headers={"accept": "text/html"}, follow_redirects=False)  # fmt: skip


GETS = ["/admin/banks", "/admin/scans", "/admin/scans/progress", "/exports"]
POSTS = ["/admin/banks/hotline/settings", "/admin/banks/hotline/entries",
         "/admin/banks/hotline/export", "/admin/scans", "/admin/scans/1/resume",
         "/exports/evidence", "/exports/vics"]  # fmt: skip


def test_logged_out_is_sent_to_login_or_401(admin_app: Browser) -> None:
    for url in GETS:
        r: Any = admin_app.get(url, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login", url
    for url in [*POSTS, "/admin/banks/import"]:
        assert admin_app.post(url, {}).status_code == 401, url  # type: ignore[attr-defined]


@pytest.mark.parametrize("role", ["analyst", "reviewer", "auditor"])
def test_other_roles_are_refused_admin_pages(admin_app: Browser, role: str,
                                             service: AssessmentService) -> None:  # fmt: skip
    assert admin_app.login(role) == 303
    for url in ["/admin/banks", "/admin/scans", "/admin/scans/progress"]:
        assert admin_app.get(url).status_code == 403, url  # type: ignore[attr-defined]
    form = {"kind": "match", "enabled": "0", "entry": "1", "format": "csv", "path": "x"}
    for url in POSTS[:5]:
        r: Any = admin_app.post(url, form)
        assert r.status_code == 403, url
    assert _upload(admin_app, b"md5\n").status_code == 403
    denied = [e for e in service.audit.entries() if e.action == "denied"]
    assert denied and all(e.actor == role for e in denied)
    assert {e.detail["perm"] for e in denied} == {"manage"}
    if role == "analyst":  # no export permission either
        assert admin_app.get("/exports").status_code == 403  # type: ignore[attr-defined]
        assert admin_app.post("/exports/vics", {}).status_code == 403  # type: ignore[attr-defined]


def test_csrf_is_required_on_every_post(admin_app: Browser, case: Case) -> None:
    assert admin_app.login("admin") == 303
    for url in POSTS:
        for token in (None, "wrong"):
            data = {"csrf": token} if token else {}
            r: Any = admin_app.client.post(url, data=data, follow_redirects=False)
            assert r.status_code == 403 and "CSRF" in r.text, url
    assert _upload(admin_app, _bank_csv(case), csrf=False).status_code == 403
    assert case.banking.banks() == []


def test_bank_upload_settings_entry_and_export(
    admin_app: Browser, case: Case, service: AssessmentService
) -> None:
    assert admin_app.login("admin") == 303
    r = _upload(admin_app, _bank_csv(case), label="neutral test list")
    assert r.status_code == 200 and "Imported 2 entries" in r.text
    assert case.banking.bank("hotline").entries == 2
    again = _upload(admin_app, _bank_csv(case))
    assert "already imported" in again.text
    assert _actions(service).count("bank-import") == 2
    page: Any = admin_app.get("/admin/banks")
    assert "hotline" in page.text
    # settings: kind and threshold
    r = admin_app.post("/admin/banks/hotline/settings", {"kind": "negative", "threshold": "12"})  # type: ignore[assignment]
    assert r.status_code == 303
    bank = case.banking.bank("hotline")
    assert (bank.kind, bank.pdq_threshold) == ("negative", 12)
    assert admin_app.post("/admin/banks/hotline/settings", {"kind": "positive"}).status_code == 400
    assert (
        admin_app.post("/admin/banks/hotline/entries", {"entry": "x", "enabled": "0"}).status_code
        == 400
    )  # type: ignore[attr-defined]
    # one entry disabled, then enabled
    entry_id = case.banking.entry_page("hotline")[0][0]
    r = admin_app.post("/admin/banks/hotline/entries", {"entry": str(entry_id), "enabled": "0"})  # type: ignore[assignment]
    assert r.status_code == 303
    assert case.curation.content.disabled() == {entry_id: 0}
    detail: Any = admin_app.get("/admin/banks/hotline")
    assert "disabled" in detail.text and "Enable" in detail.text
    admin_app.post("/admin/banks/hotline/entries", {"entry": str(entry_id), "enabled": "1"})
    assert case.curation.content.disabled() == {}
    # export: the CLI's writer, formula-safe CSV
    r = admin_app.post("/admin/banks/hotline/export", {"format": "csv"})  # type: ignore[assignment]
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    assert "entry 0" in r.text
    vics: Any = admin_app.post("/admin/banks/hotline/export", {"format": "vics"})
    assert json.loads(vics.text)
    acts = _actions(service)
    assert "bank-settings" in acts and "api-content-update" in acts
    assert acts.count("bank-export") == 2
    settings = next(e for e in service.audit.entries() if e.action == "bank-settings")
    assert settings.actor == "admin"
    assert service.verify_audit().ok


def test_bank_export_neutralises_formulas(admin_app: Browser, case: Case) -> None:
    assert admin_app.login("admin") == 303
    md5 = next(iter(case.media())).md5
    _upload(admin_app, f"md5,label\n{md5},=HYPERLINK(1)\n".encode())
    r: Any = admin_app.post("/admin/banks/hotline/export", {"format": "csv"})
    assert "=HYPERLINK" not in r.text.replace("'=HYPERLINK", "")


def test_bank_upload_with_an_invalid_row_behaves_as_the_cli(
    admin_app: Browser, case: Case, service: AssessmentService
) -> None:
    assert admin_app.login("admin") == 303
    r = _upload(admin_app, _bank_csv(case, bad=True))
    assert r.status_code == 400 and "Import refused" in r.text and "line 4" in r.text
    assert case.banking.banks() == []  # nothing half-imported, as the CLI
    r = _upload(admin_app, _bank_csv(case, bad=True), skip_invalid="on")
    assert r.status_code == 200 and "Skipped 1 invalid rows" in r.text
    assert case.banking.bank("hotline").entries == 2
    entry = [e for e in service.audit.entries() if e.action == "bank-import"][-1]
    assert entry.detail["skipped"] == 1


def test_scan_outside_the_roots_is_refused(
    admin_app: Browser, roots: tuple[Path, Path], service: AssessmentService
) -> None:
    root, outside = roots
    assert admin_app.login("admin") == 303
    link = root / "escape"
    link.symlink_to(outside, target_is_directory=True)
    for path in [str(outside), str(root / ".." / "elsewhere"), str(link), "/"]:
        r: Any = admin_app.post("/admin/scans", {"path": path})
        assert r.status_code == 403 and "scan root" in r.text, path
    assert "scan-start" not in _actions(service)


def test_scanning_is_off_without_roots(browser: Browser, roots: tuple[Path, Path]) -> None:
    assert browser.login("admin") == 303
    page: Any = browser.get("/admin/scans")
    assert "Scanning from the browser is off" in page.text
    r: Any = browser.post("/admin/scans", {"path": str(roots[0])})
    assert r.status_code == 403


def test_scan_runs_in_the_background_and_is_audited(
    admin_app: Browser, roots: tuple[Path, Path], case: Case, service: AssessmentService
) -> None:
    root, _ = roots
    (root / "batch" / "broken.jpg").write_bytes(jpeg_bytes(102)[:500])
    assert admin_app.login("admin") == 303
    before = sum(1 for _ in case.media())
    r: Any = admin_app.post("/admin/scans", {"path": str(root / "batch" / ".." / "batch")})
    assert r.status_code == 303
    admin = admin_app.client.app.state.admin  # type: ignore[attr-defined]
    admin.wait(120)
    job = admin_app.client.get("/admin/scans/progress").json()["job"]
    assert job["state"] == "finished" and job["seen"] == 4 and job["failed"] == 1, job
    assert sum(1 for m in case.media() if not m.error) == before + 3
    assert admin_app.client.get("/admin/scans/progress").json()["job"]["analysed"] == 3
    page: Any = admin_app.get("/admin/scans")
    assert "broken.jpg" in page.text and "truncated" in page.text
    entry = next(e for e in service.audit.entries() if e.action == "scan-start")
    assert entry.actor == "admin" and entry.detail["path"] == str((root / "batch").resolve())


def test_one_scan_at_a_time_and_resume(
    admin_app: Browser, roots: tuple[Path, Path], case: Case
) -> None:
    root, _ = roots
    assert admin_app.login("admin") == 303
    admin = admin_app.client.app.state.admin  # type: ignore[attr-defined]
    from verisight.services.admin import ScanJob

    admin._job = ScanJob(str(root), "admin")  # a scan still running
    r: Any = admin_app.post("/admin/scans", {"path": str(root)})
    assert r.status_code == 400 and "already running" in r.text
    admin._job = None
    # an interrupted scan (never finished) of the root: resumed from the page
    interrupted = admin.case.store.begin_scan([str((root / "batch").resolve())])
    r = admin_app.post(f"/admin/scans/{interrupted.id}/resume", {})
    assert r.status_code == 303
    admin.wait(120)
    job = admin_app.client.get("/admin/scans/progress").json()["job"]
    assert job["state"] == "finished" and job["resumed"] and job["scan"] == interrupted.id, job
    assert admin_app.post(f"/admin/scans/{interrupted.id}/resume", {}).status_code == 400  # type: ignore[attr-defined]


def test_exports_download_and_are_audited(
    admin_app: Browser, case: Case, service: AssessmentService
) -> None:
    assert admin_app.login("admin") == 303
    assert "Evidence package" in admin_app.get("/exports").text  # type: ignore[attr-defined]
    sha = next(iter(case.media())).sha256
    r: Any = admin_app.post("/exports/evidence", {"media": sha[:16]})
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert "manifest.json" in names
    v: Any = admin_app.post("/exports/vics", {"vics_model": "UK"})
    assert v.status_code == 200 and "attachment" in v.headers["content-disposition"]
    json.loads(v.text)
    assert admin_app.post("/exports/evidence", {}).status_code == 400  # type: ignore[attr-defined]
    assert admin_app.post("/exports/evidence", {"outcome": "nonsense"}).status_code == 400  # type: ignore[attr-defined]
    acts = _actions(service)
    assert "export-evidence" in acts and "export-hashes" in acts


def test_a_disabled_entry_matches_nothing(admin_app: Browser, case: Case) -> None:
    assert admin_app.login("admin") == 303
    _upload(admin_app, _bank_csv(case))
    assert case.banking.match().matches_found == 2
    entry_id = case.banking.entry_page("hotline")[0][0]
    admin_app.post("/admin/banks/hotline/entries", {"entry": str(entry_id), "enabled": "0"})
    assert case.banking.match().matches_found == 1
    admin_app.post("/admin/banks/hotline/entries", {"entry": str(entry_id), "enabled": "1"})
    assert case.banking.match().matches_found == 2


def test_an_upload_over_the_limit_is_refused(
    admin_app: Browser, case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    from verisight.web import limits

    assert admin_app.login("admin") == 303
    monkeypatch.setitem(limits.LIMITS, "/admin/banks/import", 2048)
    r = _upload(admin_app, b"md5,label\n" + b"0" * 4096)
    assert r.status_code == 413
    assert case.banking.banks() == []


def test_serve_refuses_a_scan_root_that_is_not_a_folder(
    case_dir_url: tuple[Path, str], tmp_path: Path
) -> None:
    import typer
    from typer.testing import CliRunner

    from verisight.cli import web as web_cli

    cli = typer.Typer()
    cli.callback()(lambda: None)
    web_cli.register(cli)
    directory, url = case_dir_url
    res = CliRunner().invoke(
        cli,
        ["serve", "--case", str(directory), "--database-url", url,
         "--scan-root", str(tmp_path / "missing")],
    )  # fmt: skip
    assert res.exit_code != 0 and "is not a folder" in res.output
