"""`verisight case check` replays the audit chain's decisions against the decision tables: a
decision edited, added or deleted directly in the database is reported, on SQLite and
PostgreSQL (issue: editing `assessment` or `assessment_opinion` went unnoticed)."""

from __future__ import annotations

import pytest

from verisight.assessment import AssessmentService
from verisight.case import Case
from verisight.store.assessments import Decision

NEUTRAL = Decision("not-illegal", None, "unknown", "unknown", "unidentified", "a test note")
OTHER = Decision("not-illegal", None, "ai-non-photorealistic", "unknown", "unidentified")
#: Another legal outcome, by its code only (for a second opinion that disagrees).
LEGAL_CODE_ONLY = Decision("prohibited-image", "C", "unknown", "unknown", "unidentified")


def _decide(service: AssessmentService, shas: list[str]) -> None:
    analyst = service.accounts.users.by_name("analyst")
    second = service.accounts.users.by_name("analyst2")
    assert analyst is not None and second is not None
    service.submit(analyst, shas[0], NEUTRAL, 0)
    service.submit(analyst, shas[0], OTHER, 1)  # an edit
    service.submit(analyst, shas[1], NEUTRAL, 0)


def test_decisions_made_through_the_service_agree(
    case: Case, service: AssessmentService, shas: list[str]
) -> None:
    _decide(service, shas)
    # A blind second review that disagrees, then its resolution.
    users = service.accounts.users
    admin, analyst, second, reviewer = (
        users.by_name(n) for n in ("admin", "analyst", "analyst2", "reviewer")
    )
    assert admin and analyst and second and reviewer
    service.set_review_policy(admin, 1.0)
    # Agreeing on the outcome: final, and the first decision stays the current one.
    assert service.submit(analyst, shas[2], NEUTRAL, 0).status == "awaiting-review"
    assert service.submit(second, shas[2], OTHER, 1).status == "final"
    # Disagreeing: disputed, then the reviewer's resolution becomes the current one.
    assert service.submit(analyst, shas[3], NEUTRAL, 0).status == "awaiting-review"
    assert service.submit(second, shas[3], LEGAL_CODE_ONLY, 1).status == "disputed"
    assert service.submit(reviewer, shas[3], OTHER, 2).status == "resolved"
    report = case.check()
    assert report.ok, report.problems


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("UPDATE assessment SET origin = 'photographic' WHERE media_sha256 = :a",
         "differs from what the audit chain recorded"),
        ("UPDATE assessment SET version = 7, status = 'final' WHERE media_sha256 = :a",
         "differs from what the audit chain recorded"),
        ("UPDATE assessment_opinion SET note = 'changed' WHERE media_sha256 = :b",
         "differs from audit entry"),
        ("DELETE FROM assessment_opinion WHERE media_sha256 = :b",
         "has no opinion row"),
    ],
)  # fmt: skip
def test_direct_edits_are_reported(
    case: Case, service: AssessmentService, shas: list[str], statement: str, expected: str
) -> None:
    _decide(service, shas)
    from sqlalchemy import text

    with case.store.engine.begin() as conn:
        conn.execute(text(statement), {"a": shas[0], "b": shas[1]})
    report = case.check()
    assert not report.ok
    assert any(expected in p for p in report.problems), report.problems


def test_an_unaudited_decision_is_reported(
    case: Case, service: AssessmentService, shas: list[str]
) -> None:
    _decide(service, shas)
    analyst = service.accounts.users.by_name("analyst")
    assert analyst is not None
    # A decision written through the store alone, as a crash between the two writes would.
    service.assessments.save(
        shas[2], NEUTRAL, user_id=analyst.id, stage="first", expected_version=0,
        status="final", review_reason=None, bank_category=None,
    )  # fmt: skip
    problems = case.check().problems
    assert f"media {shas[2]}: its assessment has no audit entry" in problems
    assert f"media {shas[2]}: opinion version 1 has no audit entry" in problems


def test_propagated_decisions_agree(
    case: Case, service: AssessmentService, shas: list[str]
) -> None:
    from tests.web.test_clusters import make_cluster, no_second_review

    rep, m1, m2, _ = shas
    make_cluster(service, rep, {m1: 5, m2: 9})
    no_second_review(service)
    analyst = service.accounts.users.by_name("analyst")
    assert analyst is not None
    service.submit(analyst, rep, NEUTRAL, 0)
    assert len(service.propagate(analyst, rep, {m1, m2}, confirmed=True).applied) == 2
    service.submit(analyst, rep, OTHER, 1)
    assert len(service.propagate(analyst, rep, {m1}, confirmed=True).applied) == 1
    report = case.check()
    assert report.ok, report.problems
