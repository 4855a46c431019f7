"""Issue 18 item 4: a blind second review stays blind (409 page, export) and nobody resolves
a dispute over her own opinion."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.web.conftest import DECISION, Browser
from tests.web.test_assessment import assess
from verisight.assessment import AssessmentService
from verisight.errors import Forbidden

Factory = Callable[[], Browser]
SECRET = "first analyst's private note"


def _sample_everything(app_factory: Factory) -> None:
    admin = app_factory()
    assert admin.login("admin") == 303
    assert admin.post("/admin/qa", {"sample_rate": "100"}).status_code == 303  # type: ignore[attr-defined]


def test_stale_second_opinion_conflict_page_stays_blind(
    app_factory: Factory, service: AssessmentService, shas: list[str]
) -> None:
    _sample_everything(app_factory)
    first, second = app_factory(), app_factory()
    assert first.login("analyst") == 303 and second.login("analyst2") == 303
    sha = shas[0]
    assert assess(first, sha, note=SECRET, outcome="not-illegal") == 303
    r = second.post(f"/item/{sha}/assess", DECISION | {"version": "0"})
    assert r.status_code == 409  # type: ignore[attr-defined]
    page = r.text  # type: ignore[attr-defined]
    assert "not</strong> saved" in page and "given blind" in page
    assert SECRET not in page
    assert ", analyst)" not in page


def test_export_withholds_decisions_awaiting_a_blind_review(
    app_factory: Factory, service: AssessmentService, shas: list[str]
) -> None:
    _sample_everything(app_factory)
    analyst, reviewer, auditor = app_factory(), app_factory(), app_factory()
    assert analyst.login("analyst") == 303 and reviewer.login("reviewer") == 303
    assert auditor.login("auditor") == 303
    assert assess(analyst, shas[0], note=SECRET) == 303  # awaiting someone's review
    assert assess(reviewer, shas[1]) == 303  # the reviewer's own, awaiting review
    got = reviewer.get("/export.json").json()["assessments"]  # type: ignore[attr-defined]
    assert [row["media"] for row in got] == [shas[1]]
    assert SECRET not in reviewer.get("/export.json").text  # type: ignore[attr-defined]
    everything = auditor.get("/export.json").json()["assessments"]  # type: ignore[attr-defined]
    assert {row["media"] for row in everything} == {shas[0], shas[1]}
    exports = [e for e in service.audit.entries(limit=100) if e.action == "export"]
    assert any(e.detail.get("withheld") == 1 and e.actor == "reviewer" for e in exports)


def test_reviewer_cannot_resolve_a_dispute_over_her_own_opinion(
    app_factory: Factory, service: AssessmentService, shas: list[str]
) -> None:
    _sample_everything(app_factory)
    reviewer, analyst = app_factory(), app_factory()
    assert reviewer.login("reviewer") == 303 and analyst.login("analyst") == 303
    sha = shas[0]
    assert assess(reviewer, sha) == 303  # the reviewer's first opinion
    assert assess(analyst, sha, 1, outcome="not-illegal") == 303
    assert service.assessments.get(sha).status == "disputed"  # type: ignore[union-attr]
    assert assess(reviewer, sha, 2, outcome="pseudo-photograph") == 403
    assert service.assessments.get(sha).status == "disputed"  # type: ignore[union-attr]
    user = service.users.by_name("reviewer")
    assert user is not None
    with pytest.raises(Forbidden):
        service.submit(user, sha, service.parse_decision(DECISION), 2)
