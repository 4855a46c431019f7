"""Decisions per near-duplicate cluster over HTTP: members shown shielded with their distances,
propagation only after an explicit confirmation, one audit entry per member, own decisions
kept, overrides, roles, and the queue's triage order."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from tests.conftest import write_images
from tests.web.conftest import DECISION, Browser
from verisight.assessment import AssessmentService, QueueFilter
from verisight.case import Case
from verisight.clustering import ClusterPlan, Member, NearDuplicateCluster
from verisight.store.clusters import ClusterStore


def make_cluster(service: AssessmentService, rep: str, members: dict[str, int]) -> None:
    """A near-duplicate cluster written as `verisight cluster` would (benign generated images)."""
    cluster = NearDuplicateCluster(
        rep, (Member(rep, 0), *(Member(s, d) for s, d in members.items()))
    )
    ClusterStore(service.case.store.engine).apply_plan(ClusterPlan((), (cluster,)), 31)


def no_second_review(service: AssessmentService) -> None:
    service.users.set_org_setting("qa", {"sample_rate": 0.0})


def status(r: object) -> int:
    return int(r.status_code)  # type: ignore[attr-defined]


def body(r: object) -> str:
    return str(r.text)  # type: ignore[attr-defined]


def members_form(*shas: str) -> dict[str, str]:
    return {f"member.{s}": "1" for s in shas}


def propagations(service: AssessmentService, sha: str) -> list[dict[str, object]]:
    return [e.detail | {"actor": e.actor} for e in service.audit.entries(media_sha256=sha)
            if e.action == "propagate"]  # fmt: skip


def test_representative_shows_members_shielded_with_distances(
    browser: Browser, service: AssessmentService, shas: list[str]
) -> None:
    rep, m1, m2, other = shas
    make_cluster(service, rep, {m1: 5, m2: 12})
    assert browser.login("analyst") == 303
    page = body(browser.get(f"/item/{rep}"))
    for sha, d in ((m1, 5), (m2, 12)):
        assert f'data-sha="{sha}" data-distance="{d}"' in page
        assert f'src="/media/{sha}/shielded.jpg"' in page
        assert f'name="member.{sha}" value="1" checked' in page
        assert f"/media/{sha}/revealed.jpg" not in page  # never the clear image
    assert f"member.{other}" not in page and 'id="apply-members"' in page
    # a member links to its representative; a singleton shows no cluster
    member = body(browser.get(f"/item/{m1}"))
    assert 'id="cluster-member"' in member and f'href="/item/{rep}"' in member
    assert 'id="cluster"' not in body(browser.get(f"/item/{other}"))


def test_propagation_needs_confirmation_and_audits_each_member(
    browser: Browser, service: AssessmentService, shas: list[str]
) -> None:
    rep, m1, m2, other = shas
    make_cluster(service, rep, {m1: 5, m2: 12})
    no_second_review(service)
    assert browser.login("analyst") == 303
    url = f"/item/{rep}/propagate"
    # nothing to propagate before the representative is assessed
    assert status(browser.post(url, members_form(m1, m2) | {"confirm": "yes"})) == 400
    assert status(browser.post(f"/item/{rep}/assess", DECISION | {"version": "0"})) == 303
    # without CSRF: refused; without confirm: a confirmation page, nothing changes
    assert status(browser.post(url, members_form(m1, m2) | {"confirm": "yes"}, csrf=False)) == 403
    confirm = browser.post(url, members_form(m1, m2))
    assert status(confirm) == 200 and 'name="confirm" value="yes"' in body(confirm)
    assert "Confirm: apply to 2" in body(confirm)
    assert service.assessments.get(m1) is None and service.assessments.get(m2) is None
    assert not propagations(service, m1) and not propagations(service, m2)
    # media outside the cluster, or a member as the source, are refused
    assert status(browser.post(url, members_form(m1, other) | {"confirm": "yes"})) == 400
    assert (
        status(browser.post(f"/item/{m1}/propagate", members_form(m2) | {"confirm": "yes"})) == 400
    )
    assert service.assessments.get(other) is None and service.assessments.get(m2) is None
    # confirmed: each member gets the representative's decision, audited per member
    done = browser.post(url, members_form(m1, m2) | {"confirm": "yes"})
    assert status(done) == 200 and "Applied to 2 members" in body(done)
    source = service.assessments.get(rep)
    assert source is not None
    for sha, d in ((m1, 5), (m2, 12)):
        a = service.assessments.get(sha)
        assert a is not None and a.decision == source.decision and a.status == "final"
        assert [o.stage for o in service.assessments.opinions(sha)] == ["propagated"]
        (entry,) = propagations(service, sha)
        assert entry["actor"] == "analyst" and entry["from"] == rep and entry["distance"] == d
        assert entry["stage"] == "propagated" and entry["outcome"] == DECISION["outcome"]
    assert service.assessments.get(other) is None
    assert service.verify_audit().ok
    # members that received the decision leave the queue
    queue = body(browser.get("/queue"))
    assert f"/item/{m1}" not in queue and f"/item/{other}" in queue


def test_own_decisions_and_unchecked_members_are_kept(
    app_factory: object, service: AssessmentService, shas: list[str]
) -> None:
    rep, own, unchecked, plain = shas
    make_cluster(service, rep, {own: 3, unchecked: 7, plain: 9})
    no_second_review(service)
    b: Browser = app_factory()  # type: ignore[operator]
    assert b.login("analyst") == 303
    mine_form = DECISION | {"version": "0", "outcome": "not-illegal"}
    assert status(b.post(f"/item/{own}/assess", mine_form)) == 303
    assert status(b.post(f"/item/{rep}/assess", DECISION | {"version": "0"})) == 303
    page = body(b.get(f"/item/{rep}"))
    assert "own decision (kept)" in page
    done = b.post(f"/item/{rep}/propagate", members_form(own, plain) | {"confirm": "yes"})
    assert status(done) == 200
    assert "own-decision" in body(done) and "excluded" in body(done)
    mine = service.assessments.get(own)
    assert mine is not None and mine.decision.outcome == "not-illegal" and mine.version == 1
    assert service.assessments.get(unchecked) is None
    got = service.assessments.get(plain)
    assert got is not None and got.decision.outcome == DECISION["outcome"]
    assert not propagations(service, own) and not propagations(service, unchecked)
    assert len(propagations(service, plain)) == 1


def test_auditor_may_not_propagate(
    app_factory: object, service: AssessmentService, shas: list[str]
) -> None:
    rep, m1, _, _ = shas
    make_cluster(service, rep, {m1: 4})
    no_second_review(service)
    analyst: Browser = app_factory()  # type: ignore[operator]
    auditor: Browser = app_factory()  # type: ignore[operator]
    assert analyst.login("analyst") == 303 and auditor.login("auditor") == 303
    assert status(analyst.post(f"/item/{rep}/assess", DECISION | {"version": "0"})) == 303
    for form in (members_form(m1), members_form(m1) | {"confirm": "yes"}):
        assert status(auditor.post(f"/item/{rep}/propagate", form)) == 403
    assert service.assessments.get(m1) is None and not propagations(service, m1)


def test_a_propagated_decision_can_be_overridden(
    app_factory: object, service: AssessmentService, shas: list[str]
) -> None:
    rep, m1, _, _ = shas
    make_cluster(service, rep, {m1: 6})
    no_second_review(service)
    one: Browser = app_factory()  # type: ignore[operator]
    two: Browser = app_factory()  # type: ignore[operator]
    assert one.login("analyst") == 303 and two.login("analyst2") == 303
    assert status(one.post(f"/item/{rep}/assess", DECISION | {"version": "0"})) == 303
    form = members_form(m1) | {"confirm": "yes"}
    assert status(one.post(f"/item/{rep}/propagate", form)) == 200
    page = body(two.get(f"/item/{m1}"))
    assert 'id="propagated-note"' in page and 'name="version" value="1"' in page
    override = DECISION | {"version": "1", "outcome": "not-illegal"}
    assert status(two.post(f"/item/{m1}/assess", override)) == 303
    a = service.assessments.get(m1)
    assert a is not None and a.decision.outcome == "not-illegal" and a.analyst == "analyst2"
    assert [o.stage for o in service.assessments.opinions(m1)] == ["propagated", "edit"]
    last = next(e for e in service.audit.entries(media_sha256=m1) if e.action == "assess")
    assert last.actor == "analyst2" and last.detail["replaces"] == "propagated"
    assert 'id="propagated-note"' not in body(two.get(f"/item/{m1}"))
    # propagating again keeps the override
    assert status(one.post(f"/item/{rep}/propagate", form)) == 200
    again = service.assessments.get(m1)
    assert again is not None and again.decision.outcome == "not-illegal"


def test_queue_follows_triage_tiers_then_cluster_size(
    browser: Browser, service: AssessmentService, case: Case, tmp_path: Path
) -> None:
    write_images(tmp_path / "more", 2, start=4)
    case.scan([tmp_path / "more"], workers=1, cluster=False)
    shas = sorted(m.sha256 for m in case.media())
    assert len(shas) == 6
    ai_rep, lone, big, m1, ai_member, m2 = shas
    make_cluster(service, big, {m1: 2, m2: 8})
    make_cluster(service, ai_rep, {ai_member: 4})
    make_cluster(service, lone, {})
    with case.store.engine.begin() as conn:
        conn.execute(text("UPDATE media SET provenance = 'ai-declared' WHERE sha256 IN (:a, :b)"),
                     {"a": ai_rep, "b": ai_member})  # fmt: skip
    assert browser.login("analyst") == 303
    page = body(browser.get("/queue"))
    # one row per decision: a cluster is one row (its representative), members are no rows
    for member in (m1, m2, ai_member):
        assert f'href="/item/{member}"' not in page
    order = sorted((big, lone, ai_rep), key=lambda s: page.index(f'href="/item/{s}"'))
    # by tier (declared AI last although its cluster is larger than the singleton), then
    # largest cluster first
    assert order == [big, lone, ai_rep]
    assert 'id="decisions-left">3<' in page
    assert "no-ai-evidence" in page and "declared-ai" in page and "3 media" in page
    assert 'class="variants">JPEG' in page  # the variants the cluster holds
    # filters keep working on the triaged queue
    only_ai = body(browser.get("/queue?provenance=ai-declared"))
    assert f'href="/item/{ai_rep}"' in only_ai and f'href="/item/{big}"' not in only_ai
    # /next starts with the largest cluster's representative
    r = browser.client.get("/next", follow_redirects=False)
    assert r.headers["location"] == f"/item/{big}"


def test_an_unsettled_decision_does_not_propagate(
    browser: Browser, service: AssessmentService, shas: list[str]
) -> None:
    rep, m1, _, _ = shas
    make_cluster(service, rep, {m1: 4})
    service.users.set_org_setting("qa", {"sample_rate": 1.0})  # every decision awaits review
    assert browser.login("analyst") == 303
    assert status(browser.post(f"/item/{rep}/assess", DECISION | {"version": "0"})) == 303
    assert 'id="propagate-blocked"' in body(browser.get(f"/item/{rep}"))
    form = members_form(m1) | {"confirm": "yes"}
    assert status(browser.post(f"/item/{rep}/propagate", form)) == 400
    assert service.assessments.get(m1) is None


def test_a_crop_member_is_labelled_and_its_propagation_says_so(
    browser: Browser, service: AssessmentService, shas: list[str]
) -> None:
    rep, m1, m2, _ = shas
    cluster = NearDuplicateCluster(rep, (Member(rep, 0), Member(m1, 4), Member(m2, 9, "crop")))
    ClusterStore(service.case.store.engine).apply_plan(ClusterPlan((), (cluster,)), 31)
    no_second_review(service)
    assert browser.login("analyst") == 303
    page = body(browser.get(f"/item/{rep}"))
    assert page.count('<span class="match"') == 1 and ">crop</span>" in page
    assert "as a crop" in body(browser.get(f"/item/{m2}"))
    assert "as a crop" not in body(browser.get(f"/item/{m1}"))
    assert status(browser.post(f"/item/{rep}/assess", DECISION | {"version": "0"})) == 303
    url = f"/item/{rep}/propagate"
    assert status(browser.post(url, members_form(m1, m2) | {"confirm": "yes"})) == 200
    assert propagations(service, m2)[0]["match"] == "crop"
    assert "match" not in propagations(service, m1)[0]


def test_members_propagated_from_an_earlier_decision_are_flagged_and_brought_up_to_date(
    browser: Browser, service: AssessmentService, shas: list[str]
) -> None:
    rep, m1, m2, _ = shas
    make_cluster(service, rep, {m1: 5, m2: 9})
    no_second_review(service)
    assert browser.login("analyst") == 303
    assert status(browser.post(f"/item/{rep}/assess", DECISION | {"version": "0"})) == 303
    assert (
        status(browser.post(f"/item/{rep}/propagate", members_form(m1, m2) | {"confirm": "yes"}))
        == 200
    )
    page = body(browser.get(f"/item/{rep}"))
    assert 'id="stale-members"' not in page and "propagated from an earlier decision" not in page
    # the representative is assessed again, differently: both members are now out of date
    revised = DECISION | {"version": "1", "category": "B"}
    assert status(browser.post(f"/item/{rep}/assess", revised)) == 303
    page = body(browser.get(f"/item/{rep}"))
    assert 'id="stale-members"' in page and "2 members hold a decision propagated" in page
    assert page.count("propagated from an earlier decision</strong>") == 2
    assert 'id="stale-note"' in body(browser.get(f"/item/{m1}"))
    before = service.assessments.get(m1)
    assert before is not None and before.decision.category == "C"
    # applying again (confirmed) replaces the propagated decisions, audited with what they were
    done = browser.post(f"/item/{rep}/propagate", members_form(m1) | {"confirm": "yes"})
    assert status(done) == 200 and "Applied to 1 member" in body(done)
    after = service.assessments.get(m1)
    assert after is not None and after.decision.category == "B"
    assert [o.stage for o in service.assessments.opinions(m1)] == ["propagated", "propagated"]
    latest = propagations(service, m1)
    replaced = [e for e in latest if e.get("replaces") == "propagated"]
    assert len(replaced) == 1 and replaced[0]["category"] == "B"
    assert replaced[0]["previous"]["category"] == "C"  # type: ignore[index]
    page = body(browser.get(f"/item/{rep}"))
    assert "1 member holds a decision propagated" in page  # m2 was left unchecked
    assert 'id="stale-note"' not in body(browser.get(f"/item/{m1}"))
    assert service.verify_audit().ok


def test_queue_lists_decisions_never_containers(
    browser: Browser, service: AssessmentService, case: Case, tmp_path: Path
) -> None:
    import zipfile

    folder = tmp_path / "boxed"
    folder.mkdir()
    with zipfile.ZipFile(folder / "collection.zip", "w") as z:
        for p in write_images(tmp_path / "loose", 2, start=10):
            z.write(p, p.name)
    case.scan([folder], workers=1, cluster=False)
    containers = [m.sha256 for m in case.media() if m.kind == "archive"]
    assert containers
    no_second_review(service)
    rep, m1, m2, other = sorted(m.sha256 for m in case.media() if m.kind == "image")[:4]
    make_cluster(service, rep, {m1: 5, m2: 12})
    assert browser.login("analyst") == 303
    page = body(browser.get("/queue"))
    assert all(f"/item/{c}" not in page for c in containers)
    analyst = service.users.by_name("analyst")
    assert analyst is not None
    left = service.queue(analyst, QueueFilter()).total
    assert f'id="decisions-left">{left}<' in page
    # the representative decided: the cluster's row says what is left (applying it)
    assert status(browser.post(f"/item/{rep}/assess", DECISION | {"version": "0"})) == 303
    page = body(browser.get("/queue"))
    assert "decided: apply to 2 members of 3" in page and f'href="/item/{rep}"' in page
    assert f'id="decisions-left">{left}<' in page
    # the grid offers only media still to assess
    grid = body(browser.get("/grid"))
    assert f"outcome.{rep}" not in grid and f"outcome.{other}" in grid
    done = browser.post(f"/item/{rep}/propagate", members_form(m1, m2) | {"confirm": "yes"})
    assert status(done) == 200
    assert f'id="decisions-left">{left - 1}<' in body(browser.get("/queue"))


def test_a_reviewer_changes_the_representative_audited_within_the_threshold(
    browser: Browser, service: AssessmentService, shas: list[str]
) -> None:
    rep, m1, m2, _other = shas
    pdq = {m.sha256: m.pdq for m in service.case.media()}
    assert all(pdq.values())
    make_cluster(service, rep, {m1: 5, m2: 12})
    # the generated images are different pictures: give the members near copies of m1's hash
    # so that m1 may represent them all
    with service.case.store.engine.begin() as conn:
        for sha in (rep, m2):
            conn.execute(text("UPDATE media SET pdq = :p WHERE sha256 = :s"),
                         {"p": pdq[m1], "s": sha})  # fmt: skip
    url = f"/item/{m1}/representative"
    # analysts may not; without CSRF nobody may
    assert browser.login("analyst") == 303
    assert 'id="make-representative"' not in body(browser.get(f"/item/{m1}"))
    assert status(browser.post(url)) == 403
    reviewer = Browser(browser.client)
    browser.client.cookies.clear()
    assert reviewer.login("reviewer") == 303
    assert 'id="make-representative"' in body(reviewer.get(f"/item/{m1}"))
    assert status(reviewer.post(url, csrf=False)) == 403
    assert service.case.clusters.show(_cluster_of(service, m1)).representative == rep
    r = reviewer.post(url)
    assert status(r) == 303
    c = service.case.clusters.show(_cluster_of(service, m1))
    assert c.representative == m1 and {m.sha256: m.distance for m in c.members}[rep] == 0
    (entry,) = [e for e in service.audit.entries(media_sha256=m1) if e.action == "representative"]
    assert entry.actor == "reviewer" and entry.detail["from"] == rep
    assert entry.detail["cluster"] == c.id
    assert service.verify_audit().ok
    # a copy beyond the threshold of a member is refused, and the representative kept
    with service.case.store.engine.begin() as conn:
        far = "f" * 64 if pdq[m1] != "f" * 64 else "0" * 64
        conn.execute(text("UPDATE media SET pdq = :p WHERE sha256 = :s"), {"p": far, "s": m2})
    refused = reviewer.post(f"/item/{m2}/representative")
    assert status(refused) == 400 and "beyond the threshold" in body(refused)
    assert service.case.clusters.show(c.id).representative == m1
    # once members hold decisions propagated from it, the representative stays
    no_second_review(service)
    assert status(reviewer.post(f"/item/{m1}/assess", DECISION | {"version": "0"})) == 303
    done = reviewer.post(f"/item/{m1}/propagate", members_form(rep) | {"confirm": "yes"})
    assert status(done) == 200
    kept = reviewer.post(f"/item/{rep}/representative")
    assert status(kept) == 400 and "propagated" in body(kept)


def _cluster_of(service: AssessmentService, sha: str) -> int:
    c = ClusterStore(service.case.store.engine).near_duplicate_of(sha)
    assert c is not None
    return c.id
