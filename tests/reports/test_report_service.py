"""``case.reports``: every report and export is audited by the service, with the actor the
shell names (the CLI's ``cli:<user>``, the web app's or the API's own)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.reports.conftest import Generated
from verisight.errors import MediaNotFound, UsageError


def _last(g: Generated) -> tuple[str | None, str, dict[str, object]]:
    e = next(g.case.audit.entries(limit=1))
    return e.actor, e.action, e.detail


def test_reports_and_exports_are_audited_with_the_given_actor(
    gcase: Generated, tmp_path: Path
) -> None:
    reports = gcase.case.reports
    reports.report(actor="api:key-1", format="json", date_from="2024-06-01")
    assert _last(gcase) == ("api:key-1", "report", {
        "format": "json", "from": "2024-06-01", "to": None, "compare_from": None,
        "compare_to": None,
    })  # fmt: skip
    out = io.StringIO()
    res = reports.export_hashes(out, "sha256", actor="web:auditor")
    assert res.written == len(out.getvalue().splitlines()) > 0
    actor, action, detail = _last(gcase)
    assert (actor, action, detail["written"]) == ("web:auditor", "export-hashes", res.written)
    sha = next(iter(gcase.media))
    ev = reports.export_evidence(tmp_path / "ev.zip", actor="cli:tester", media=[sha[:12]])
    assert ev.media == 1
    actor, action, detail = _last(gcase)
    assert (actor, action, detail["sha256sums"]) == ("cli:tester", "export-evidence",
                                                     ev.sums_sha256)  # fmt: skip
    reports.export_cybertip(tmp_path / "tip", actor="cli:tester", media=[sha])
    assert _last(gcase)[:2] == ("cli:tester", "export-cybertip")
    # the generated case writes its decisions without audit entries: check the chain only
    assert gcase.case.audit.verify(decisions=False).ok


def test_bad_requests_are_refused_before_anything_is_audited(gcase: Generated) -> None:
    before = gcase.case.audit.count()
    with pytest.raises(UsageError):
        gcase.case.reports.export_hashes(io.StringIO(), "sha256", actor="x", outcomes=["nope"])
    with pytest.raises(MediaNotFound):
        gcase.case.reports.export_cybertip(Path("unused"), actor="x", media=["f" * 64])
    with pytest.raises(UsageError):
        list(gcase.case.clusters.list("no-such-kind"))
    assert gcase.case.audit.count() == before
