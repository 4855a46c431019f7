"""Regenerate the screenshots in ``docs/screens/`` with the browser the tests use.

    .venv/bin/python scripts/screens.py [--out docs/screens]

Builds a throw-away case of generated abstract images (never real material), adds one user
per role and a little history, serves the app on a free local port and drives Debian's
Chromium through Playwright.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import Table

from verisight.assessment import AssessmentService
from verisight.case import Case
from verisight.demo import scene
from verisight.store.schema import Bank, BankEntryRow, Match
from verisight.web import create_app
from verisight.web.server import background

PASSWORD = "screenshots only"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]  # fmt: skip


def build_case(root: Path) -> tuple[Case, AssessmentService, list[str]]:
    folder = root / "collection" / "forum-capture"
    folder.mkdir(parents=True)
    for i in range(9):
        scene(100 + i, (480, 360)).save(folder / f"image-{i:02d}.jpg", quality=90)
    case = Case(root / "case", create=True)
    case.scan([root / "collection"], workers=1, cluster=False)  # stale_cluster() places some
    service = AssessmentService(case, hasher=PasswordHasher(time_cost=1, memory_cost=1024))
    for role in ("admin", "analyst", "reviewer", "auditor"):
        service.accounts.add_user(role, role, PASSWORD)
    case.api_keys.create("partner-lookup", ["lookup"], actor="admin")  # for admin-keys.png
    shas = sorted(m.sha256 for m in case.media())
    now = datetime.now(UTC)
    bank: Table = Bank.__table__  # type: ignore[assignment]
    entry: Table = BankEntryRow.__table__  # type: ignore[assignment]
    match: Table = Match.__table__  # type: ignore[assignment]
    with case.store.engine.begin() as conn:
        bid = conn.execute(
            bank.insert().values(name="example-list", kind="match", created_at=now)
        ).inserted_primary_key[0]
        eid = conn.execute(
            entry.insert().values(bank_id=bid, key="e1", sha256=shas[0], category=1, label="C")
        ).inserted_primary_key[0]
        conn.execute(
            match.insert().values(key="m1", media_sha256=shas[0], bank_id=bid, entry_id=eid,
                                  hash_type="sha256", distance=0, matched_at=now)
        )  # fmt: skip
    return case, service, shas


def stale_cluster(service: AssessmentService, rep: str, members: list[str]) -> None:
    """A near-duplicate cluster whose representative was assessed, propagated to its
    members, then assessed again differently: the members' decisions are out of date."""
    from verisight.clustering import ClusterPlan, Member, NearDuplicateCluster
    from verisight.store.clusters import ClusterStore

    cluster = NearDuplicateCluster(
        rep, (Member(rep, 0), *(Member(s, 4 + 5 * i) for i, s in enumerate(members)))
    )
    ClusterStore(service.case.store.engine).apply_plan(ClusterPlan((), (cluster,)), 31)
    service.users.set_org_setting("qa", {"sample_rate": 0.0})
    analyst = service.users.by_name("analyst")
    assert analyst is not None
    first = {"outcome": "pseudo-photograph", "category": "C", "origin": "ai-photorealistic",
             "age_band": "14-15", "sex": "unidentified"}  # fmt: skip
    service.submit(analyst, rep, service.parse_decision(first), 0)
    service.propagate(analyst, rep, set(members[:2]), confirmed=True)
    service.submit(analyst, rep, service.parse_decision(first | {"category": "B"}), 1)


def reposts(case: Case, root: Path) -> None:
    """Re-encoded, resized and PNG copies of two of the pictures, scanned (and clustered)
    later: the queue shows each picture as one decision with its variants."""
    folder = root / "collection-2" / "reposts"
    folder.mkdir(parents=True)
    for i in (0, 1):
        img = scene(100 + i, (480, 360))
        img.save(folder / f"image-{i:02d}-q60.jpg", quality=60)
        img.resize((240, 180)).save(folder / f"image-{i:02d}-small.jpg", quality=85)
        img.save(folder / f"image-{i:02d}.png")
    case.scan([root / "collection-2"], workers=1)


def login(page: Any, url: str, name: str) -> None:
    page.goto(f"{url}/login")
    page.fill('input[name="name"]', name)
    page.fill('input[name="password"]', PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def admin_screens(browser: Any, url: str, out: Path, scan_root: Path) -> None:
    """The administration pages: banks, one bank, a finished scan, exports."""
    from playwright.sync_api import expect

    admin = browser.new_page(viewport={"width": 1280, "height": 860})
    login(admin, url, "admin")
    admin.goto(f"{url}/admin/banks")
    admin.screenshot(path=str(out / "admin-banks.png"), full_page=True)
    admin.goto(f"{url}/admin/banks/example-list")
    admin.screenshot(path=str(out / "admin-bank.png"), full_page=True)
    admin.goto(f"{url}/admin/scans")
    admin.fill("input[name=path]", str(scan_root))
    with admin.expect_navigation():
        admin.click("#scan-form button[type=submit]")
    expect(admin.locator("#scan-state")).to_have_text("finished", timeout=120_000)
    admin.screenshot(path=str(out / "admin-scans.png"), full_page=True)
    admin.goto(f"{url}/exports")
    admin.screenshot(path=str(out / "exports.png"), full_page=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screens"))
    out = parser.parse_args().out
    chromium = shutil.which("chromium")
    if chromium is None:
        print("chromium not found: apt-get install chromium", file=sys.stderr)
        return 1
    from playwright.sync_api import expect, sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        case, service, shas = build_case(Path(tmp))
        reviewer = service.users.by_name("reviewer")
        assert reviewer is not None
        form = {"outcome": "not-illegal", "origin": "unknown", "age_band": "unknown",
                "sex": "unidentified"}  # fmt: skip
        decision = service.parse_decision(form)
        service.submit(reviewer, shas[1], decision, 0)
        stale_cluster(service, shas[2], shas[3:6])
        reposts(case, Path(tmp))
        app = create_app(service, scan_roots=[Path(tmp) / "collection"], scan_workers=1)
        with background(app) as url, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.goto(f"{url}/login")
            page.screenshot(path=str(out / "login.png"))
            login(page, url, "analyst")
            page.screenshot(path=str(out / "queue.png"), full_page=True)
            page.goto(f"{url}/item/{shas[0]}")
            page.screenshot(path=str(out / "item-shielded.png"), full_page=True)
            page.keyboard.down("v")
            expect(page.locator("#reveal-state")).to_have_text("revealed")
            page.wait_for_timeout(300)
            page.screenshot(path=str(out / "item-revealed.png"), full_page=True)
            page.keyboard.up("v")
            page.goto(f"{url}/grid")
            page.screenshot(path=str(out / "grid.png"), full_page=True)
            page.goto(f"{url}/settings")
            page.screenshot(path=str(out / "settings.png"), full_page=True)
            page.goto(f"{url}/item/{shas[2]}")
            page.locator("#cluster").scroll_into_view_if_needed()
            page.screenshot(path=str(out / "cluster-stale.png"), full_page=True)
            page.goto(f"{url}/history/{shas[1]}")
            page.screenshot(path=str(out / "history.png"), full_page=True)
            lead = browser.new_page(viewport={"width": 1280, "height": 860})
            login(lead, url, "reviewer")  # reviewers and admins land on the dashboard
            lead.screenshot(path=str(out / "dashboard.png"), full_page=True)
            auditor = browser.new_page(viewport={"width": 1280, "height": 860})
            login(auditor, url, "auditor")
            auditor.screenshot(path=str(out / "audit.png"))
            auditor.goto(f"{url}/reports?generate=1")
            auditor.screenshot(path=str(out / "reports.png"), full_page=True)
            admin = browser.new_page(viewport={"width": 1280, "height": 860})
            login(admin, url, "admin")
            admin.goto(f"{url}/admin/users")
            admin.screenshot(path=str(out / "admin-users.png"), full_page=True)
            admin.goto(f"{url}/admin/keys")
            admin.screenshot(path=str(out / "admin-keys.png"), full_page=True)
            admin_screens(browser, url, out, Path(tmp) / "collection")
            browser.close()
            app.state.admin.wait(120)
        case.close()
    for p in sorted(out.glob("*.png")):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
