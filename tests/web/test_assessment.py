"""Assessing over HTTP: the form, optimistic locking, second review, bank pre-fill, queue,
grid, history and export."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Table

from tests.web.conftest import DECISION, Browser
from verisight.assessment import AssessmentService
from verisight.store.schema import Bank, BankEntryRow, Match, Sighting

Factory = Callable[[], Browser]


def assess(b: Browser, sha: str, version: int = 0, **changes: str) -> int:
    r = b.post(f"/item/{sha}/assess", DECISION | {"version": str(version)} | changes)
    return int(r.status_code)  # type: ignore[attr-defined]


def test_assess_saves_and_moves_to_the_next_item(
    browser: Browser, service: AssessmentService, shas: list[str]
) -> None:
    assert browser.login("analyst") == 303
    r = browser.post(f"/item/{shas[0]}/assess", DECISION | {"version": "0"})
    assert r.status_code == 303  # type: ignore[attr-defined]
    assert r.headers["location"].startswith("/item/")  # type: ignore[attr-defined]
    a = service.assessments.get(shas[0])
    assert a and a.decision.outcome == "pseudo-photograph" and a.decision.category == "C"
    assert a.version == 1 and a.analyst == "analyst"
    page = browser.get(f"/item/{shas[0]}")
    assert "VICS 1" in page.text  # type: ignore[attr-defined]


def test_bad_forms_are_refused_and_category_only_for_criminal_outcomes(
    browser: Browser, service: AssessmentService, shas: list[str]
) -> None:
    assert browser.login("analyst") == 303
    assert assess(browser, shas[0], outcome="illegal-ish") == 400
    assert assess(browser, shas[0], category="") == 400  # criminal outcome needs a category
    assert assess(browser, shas[0], age_band="99") == 400
    assert assess(browser, shas[0], outcome="not-illegal", category="A") == 303
    a = service.assessments.get(shas[0])
    assert a and a.decision.category is None


def test_a_stale_edit_gets_409_and_is_never_silently_lost(
    app_factory: Factory, service: AssessmentService, shas: list[str]
) -> None:
    one, two = app_factory(), app_factory()
    assert one.login("analyst") == 303 and two.login("reviewer") == 303
    sha = shas[1]
    for b in (one, two):  # both open the form at version 0
        assert 'name="version" value="0"' in b.get(f"/item/{sha}").text  # type: ignore[attr-defined]
    assert assess(one, sha, 0, outcome="not-illegal") == 303
    r = two.post(f"/item/{sha}/assess", DECISION | {"version": "0"})
    assert r.status_code == 409  # type: ignore[attr-defined]
    assert "not</strong> saved" in r.text and "not-illegal" in r.text  # type: ignore[attr-defined]
    a = service.assessments.get(sha)
    assert a and a.decision.outcome == "not-illegal" and a.version == 1
    # an edit based on the current version goes through
    assert assess(two, sha, 1) == 303
    assert service.assessments.get(sha).version == 2  # type: ignore[union-attr]
    assert assess(one, sha, 1) == 409


def test_second_review_agreement_dispute_and_resolution(
    app_factory: Factory, service: AssessmentService, shas: list[str]
) -> None:
    admin, first, second, reviewer = (app_factory() for _ in range(4))
    assert admin.login("admin") == 303
    assert admin.post("/admin/qa", {"sample_rate": "100"}).status_code == 303  # type: ignore[attr-defined]
    assert first.login("analyst") == 303 and second.login("analyst2") == 303
    assert reviewer.login("reviewer") == 303
    agree, dispute = shas[0], shas[1]
    assert assess(first, agree) == 303 and assess(first, dispute) == 303
    assert service.assessments.get(agree).status == "awaiting-review"  # type: ignore[union-attr]
    queue = second.get("/queue").text  # type: ignore[attr-defined]
    assert "Second review" in queue and agree[:16] in queue
    form = second.get(f"/item/{agree}").text  # type: ignore[attr-defined]
    assert "Second opinion" in form and "neutral test note" not in form  # judged blind
    assert "/history/" not in form
    assert second.get(f"/history/{agree}").status_code == 403  # type: ignore[attr-defined]
    assert assess(second, agree, 1, note="") == 303
    assert service.assessments.get(agree).status == "final"  # type: ignore[union-attr]
    assert second.get(f"/history/{agree}").status_code == 200  # type: ignore[attr-defined]
    assert assess(second, dispute, 1, outcome="not-illegal") == 303
    a = service.assessments.get(dispute)
    assert a and a.status == "disputed" and a.decision.outcome == "pseudo-photograph"
    assert assess(second, dispute, 2) == 403  # an analyst cannot resolve
    assert "Disagreements" in reviewer.get("/queue").text  # type: ignore[attr-defined]
    assert assess(reviewer, dispute, 2, outcome="not-illegal") == 303
    a = service.assessments.get(dispute)
    assert a and a.status == "resolved" and a.decision.outcome == "not-illegal"
    stages = [(o.user, o.stage, o.decision.outcome) for o in service.assessments.opinions(dispute)]
    assert stages == [
        ("analyst", "first", "pseudo-photograph"),
        ("analyst2", "second", "not-illegal"),
        ("reviewer", "resolution", "not-illegal"),
    ]


def _bank_match(service: AssessmentService, sha: str, category: int, label: str) -> None:
    now = datetime.now(UTC)
    bank: Table = Bank.__table__  # type: ignore[assignment]
    entry: Table = BankEntryRow.__table__  # type: ignore[assignment]
    match: Table = Match.__table__  # type: ignore[assignment]
    with service.case.store.engine.begin() as conn:
        bid = conn.execute(
            bank.insert().values(name="list-1", kind="match", created_at=now)
        ).inserted_primary_key[0]
        eid = conn.execute(
            entry.insert().values(bank_id=bid, key="k1", sha256=sha, category=category, label=label)
        ).inserted_primary_key[0]
        conn.execute(
            match.insert().values(
                key="m1", media_sha256=sha, bank_id=bid, entry_id=eid,
                hash_type="sha256", distance=0, matched_at=now,
            )
        )  # fmt: skip


def test_bank_category_is_prefilled_and_disagreement_goes_to_review(
    browser: Browser, service: AssessmentService, shas: list[str]
) -> None:
    sha = shas[2]
    _bank_match(service, sha, 1, "Category B")
    assert browser.login("analyst") == 303
    page = browser.get(f"/item/{sha}").text  # type: ignore[attr-defined]
    assert "Pre-filled from a bank match" in page
    assert re.search(r'value="indecent-photograph" data-key="i" checked', page)
    assert re.search(r'value="B" data-key="b" checked', page)
    queue = browser.get("/queue?bank=matched").text  # type: ignore[attr-defined]
    assert sha[:16] in queue and shas[0][:16] not in queue
    assert shas[0][:16] in browser.get("/queue?bank=unmatched").text  # type: ignore[attr-defined]
    assert assess(browser, sha, outcome="not-illegal") == 303
    a = service.assessments.get(sha)
    assert a and a.status == "awaiting-review" and a.review_reason == "bank-disagreement"
    assert a.bank_category == 1


def test_queue_order_and_filters(
    browser: Browser, service: AssessmentService, shas: list[str]
) -> None:
    assert browser.login("analyst") == 303
    _bank_match(service, shas[0], 1, "B")
    view = browser.get("/queue").text  # type: ignore[attr-defined]
    order = [m for m in re.findall(r'href="/item/([0-9a-f]{64})"', view)]
    assert order[-1] == shas[0]  # known material after unknown (possible new victims first)
    sighting: Table = Sighting.__table__  # type: ignore[assignment]
    with service.case.store.engine.connect() as conn:
        path = conn.execute(sighting.select().where(sighting.c.media_sha256 == shas[3])).first()
    assert path is not None
    name = path.path.rsplit("/", 1)[-1]
    hits = browser.get(f"/queue?source={name}").text  # type: ignore[attr-defined]
    assert re.findall(r'href="/item/([0-9a-f]{64})"', hits) == [shas[3]]
    assert browser.get("/queue?provenance=bogus").status_code == 400  # type: ignore[attr-defined]
    assert browser.get("/queue?provenance=ai-declared").status_code == 200  # type: ignore[attr-defined]
    frag = browser.client.get("/queue", headers={"hx-request": "true"}).text
    assert frag.startswith('<section id="queue-list">')


def test_grid_assesses_a_page(
    browser: Browser, service: AssessmentService, shas: list[str]
) -> None:
    assert browser.login("analyst") == 303
    page = browser.get("/grid").text  # type: ignore[attr-defined]
    assert all(f"outcome.{s}" in page for s in shas)
    form: dict[str, str] = {}
    for s in shas[:2]:
        form |= {f"{k}.{s}": v for k, v in DECISION.items() if k != "note"}
        form[f"version.{s}"] = "0"
    form[f"outcome.{shas[2]}"] = ""  # skipped
    r = browser.post("/grid", form)
    assert r.status_code == 200  # type: ignore[attr-defined]
    assert [s for s in shas if service.assessments.get(s)] == shas[:2]


def test_history_and_export(browser: Browser, service: AssessmentService, shas: list[str]) -> None:
    assert browser.login("reviewer") == 303
    assert assess(browser, shas[0]) == 303
    hist = browser.get(f"/history/{shas[0]}").text  # type: ignore[attr-defined]
    assert "pseudo-photograph" in hist and "first" in hist and "assess" in hist
    data = browser.client.get("/export.json").json()["assessments"]
    assert data[0]["media"] == shas[0]
    assert data[0]["vics"] == 1 and data[0]["ncmec"] == "B2" and not data[0]["interpol_baseline"]
    assert any(e.action == "export" for e in service.audit.entries())


def test_unknown_media_is_404(browser: Browser) -> None:
    assert browser.login("analyst") == 303
    assert browser.client.get("/item/" + "0" * 64).status_code == 404
    assert browser.client.get("/item/../../etc").status_code == 404


def test_queue_puts_camera_evidence_first_and_ai_last(
    browser: Browser, service: AssessmentService, shas: list[str]
) -> None:
    if not service.assessments.has_provenance:
        return  # the provenance verdict column is not in this schema
    from sqlalchemy import text

    verdicts = {shas[0]: "ai-declared", shas[1]: "camera-declared", shas[2]: "ai-edited"}
    with service.case.store.engine.begin() as conn:
        for sha, verdict in verdicts.items():
            conn.execute(text("UPDATE media SET provenance = :v WHERE sha256 = :s"),
                         {"v": verdict, "s": sha})  # fmt: skip
    assert browser.login("analyst") == 303
    page = browser.get("/queue").text  # type: ignore[attr-defined]
    order = re.findall(r'href="/item/([0-9a-f]{64})"', page)
    assert order == [shas[1], shas[3], shas[2], shas[0]]
    only_ai = browser.get("/queue?provenance=ai-declared").text  # type: ignore[attr-defined]
    assert re.findall(r'href="/item/([0-9a-f]{64})"', only_ai) == [shas[0]]


def test_item_shows_provenance_evidence_as_readable_fields(
    browser: Browser, service: AssessmentService, shas: list[str]
) -> None:
    """As ``verisight media show`` does: verdict, evidence, generator, C2PA; no raw JSON and
    no prompt text."""
    from sqlalchemy import text

    from verisight.analysis.provenance.model import (
        C2paReport,
        Evidence,
        GeneratorInfo,
        Lora,
        ProvenanceReport,
    )

    report = ProvenanceReport(
        provenance="ai-declared",
        evidence=(
            Evidence(
                "generator-metadata",
                "PNG tEXt parameters",
                "ComfyUI: demo.safetensors",
                "ai-generated",
            ),
        ),
        conflict=True,
        conflict_reasons=("C2PA declares a capture",),
        generators=(
            GeneratorInfo(
                "ComfyUI",
                "PNG tEXt parameters",
                model_name="demo.safetensors",
                seed=42,
                steps=20,
                prompt="a lighthouse prompt",
                loras=(Lora("detail-lora", "abc123", 0.8),),
            ),
        ),
        c2pa=C2paReport(state="valid", claim_generator="demo-tool/1.0"),
    )
    with service.case.store.engine.begin() as conn:
        conn.execute(
            text("UPDATE media SET provenance = 'ai-declared', provenance_conflict = :c, "
                 "provenance_json = :j WHERE sha256 = :s"),
            {"c": True, "j": json.dumps(report.to_json()), "s": shas[0]},
        )  # fmt: skip
    assert browser.login("analyst") == 303
    page = browser.get(f"/item/{shas[0]}").text  # type: ignore[attr-defined]
    assert "Provenance evidence (conflicting)" in page
    assert "conflict: C2PA declares a capture" in page
    assert "ComfyUI: demo.safetensors" in page and "[PNG tEXt parameters]" in page
    assert "tool=ComfyUI, model_name=demo.safetensors, seed=42, steps=20" in page
    assert "LoRA detail-lora hash=abc123 w=0.8" in page
    assert "valid; generator demo-tool/1.0" in page
    assert '"evidence":' not in page and "&#34;evidence&#34;:" not in page  # no raw JSON
    assert '"claim_generator":' not in page and "&#34;claim_generator&#34;" not in page
    assert "a lighthouse prompt" not in page


def test_item_shows_provenance_evidence(
    browser: Browser, service: AssessmentService, shas: list[str]
) -> None:
    if not service.assessments.has_provenance:
        return
    from sqlalchemy import text

    report = '{"verdict": "ai-declared", "evidence": [{"source": "png-text", "tool": "demo"}]}'
    with service.case.store.engine.begin() as conn:
        conn.execute(
            text("UPDATE media SET provenance = 'ai-declared', provenance_json = :j "
                 "WHERE sha256 = :s"),
            {"j": report, "s": shas[0]},
        )  # fmt: skip
    assert browser.login("analyst") == 303
    page = browser.get(f"/item/{shas[0]}").text  # type: ignore[attr-defined]
    assert "Provenance evidence" in page and "png-text" in page and "ai-declared" in page
