"""Report figures against expectations computed in Python from the generated case."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime

from tests.reports.conftest import Generated, GSighting
from verisight.reports import build_report, period_spec
from verisight.reports.statistics import DEFINITIONS
from verisight.store.reporting import ReportingStore

CRIMINAL = ("indecent-photograph", "pseudo-photograph", "prohibited-image")


def _in(s: GSighting, start: datetime | None, end: datetime | None) -> bool:
    return not s.container and (start is None or s.time >= start) and (
        end is None or s.time < end)  # fmt: skip


def expected(g: Generated, start: datetime | None, end: datetime | None) -> dict[str, object]:
    items = [s for s in g.sightings if _in(s, start, end)]
    shown = [s for s in items if s.media and g.media[s.media].kind in ("image", "video")]
    media = [g.media[sha] for sha in {s.media for s in shown if s.media}]
    assessed = [m for m in media if m.assessment]
    criminal = [m for m in assessed if m.assessment and m.assessment["outcome"] in CRIMINAL]
    loras: Counter[str] = Counter()
    for m in media:
        loras.update(set(m.loras))
    banks: Counter[str] = Counter(b for m in media for b in m.banks)
    return {
        "items_seen": len(items),
        "items_failed": sum(s.status == "failed" for s in items),
        "distinct_media": len(media),
        "duplicates": len(shown) - len(media),
        "videos": sum(m.kind == "video" for m in media),
        "ai_provenance": sum(m.provenance in ("ai-declared", "ai-edited") for m in media),
        "not_checked": sum(m.provenance is None for m in media),
        "assessed": len(assessed),
        "unassessed": len(media) - len(assessed),
        "criminal": len(criminal),
        "outcomes": Counter(m.assessment["outcome"] for m in assessed if m.assessment),
        "categories": Counter(m.assessment["category"] for m in criminal if m.assessment),
        "ages": Counter(m.assessment["age_band"] for m in criminal if m.assessment),
        "bank_matches": sum(bool(m.banks) for m in media),
        "banks": banks,
        "models": Counter(m.model for m in media if m.model),
        "loras": loras,
    }


def check(fig: dict[str, dict[str, object]], exp: dict[str, object]) -> None:
    v = {name: f["value"] for name, f in fig.items()}
    scalars = ("items_seen", "items_failed", "distinct_media", "duplicates", "videos",
               "ai_provenance", "assessed", "unassessed", "criminal", "bank_matches")  # fmt: skip
    for name in scalars:
        assert v[name] == exp[name], name
    assert v["media_by_provenance"]["not-checked"] == exp["not_checked"]  # type: ignore[index]
    outcomes = v["outcomes"]
    assert isinstance(outcomes, dict)
    assert {k: n for k, n in outcomes.items() if n} == dict(exp["outcomes"])  # type: ignore[call-overload]
    cats = v["criminal_by_category"]
    assert isinstance(cats, dict)
    assert {k: n for k, n in cats.items() if n} == dict(exp["categories"])  # type: ignore[call-overload]
    ages = v["criminal_by_age_band"]
    assert isinstance(ages, dict)
    assert {k: n for k, n in ages.items() if n} == dict(exp["ages"])  # type: ignore[call-overload]
    assert v["bank_matches_by_bank"] == dict(exp["banks"])  # type: ignore[call-overload]
    assert v["top_generator_models"] == dict(exp["models"])  # type: ignore[call-overload]
    assert v["top_loras"] == dict(exp["loras"])  # type: ignore[call-overload]


def test_figures_match_an_independent_count(gcase: Generated) -> None:
    store = ReportingStore(gcase.case.store.engine)
    main = period_spec("2024-06-01", "2024-06-30")
    cmp = period_spec("2024-05-01", "2024-05-31")
    doc = build_report(store, main, cmp, ("site", "month", "source")).to_json()
    june = expected(gcase, datetime(2024, 6, 1, tzinfo=UTC), datetime(2024, 7, 1, tzinfo=UTC))
    may = expected(gcase, datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC))
    check(doc["figures"], june)
    check(doc["compare"]["figures"], may)
    change = doc["compare"]["change"]["items_seen"]
    assert change["value"] == june["items_seen"] - may["items_seen"]  # type: ignore[operator]
    assert set(doc["figures"]) == set(DEFINITIONS)
    assert all(f["definition"] for f in doc["figures"].values())
    months = {r["key"]: r["items_seen"] for r in doc["breakdowns"]["month"]["rows"]}
    assert months == {"2024-06": june["items_seen"]}


def test_all_time_and_breakdowns(gcase: Generated) -> None:
    store = ReportingStore(gcase.case.store.engine)
    doc = build_report(store, period_spec(None, None), None, ("site", "month", "source")).to_json()
    check(doc["figures"], expected(gcase, None, None))
    items = [s for s in gcase.sightings if not s.container]
    sites = Counter(
        (re.sub(r":\d+$", "", s.url.split("/")[2]).lower() if s.url else "(no URL)") for s in items
    )
    got = {r["key"]: r["items_seen"] for r in doc["breakdowns"]["site"]["rows"]}
    assert got == dict(sites)
    assert "bücher.example" in got
    months = Counter(s.time.strftime("%Y-%m") for s in items)
    assert {r["key"]: r["items_seen"] for r in doc["breakdowns"]["month"]["rows"]} == months
    sources = Counter(
        s.path.split(" › ")[0] if s.depth else s.path.rsplit("/", 1)[0] for s in items
    )
    rows = doc["breakdowns"]["source"]["rows"]
    assert {r["key"]: r["items_seen"] for r in rows} == dict(sources)
    for r in rows:
        shas = {s.media for s in items if s.media and (
            s.path.split(" › ")[0] if s.depth else s.path.rsplit("/", 1)[0]) == r["key"]
            and gcase.media[s.media].kind in ("image", "video")}  # fmt: skip
        assert r["distinct_media"] == len(shas)
        assert r["criminal"] == sum(
            1 for sha in shas if (a := gcase.media[sha].assessment) and a["outcome"] in CRIMINAL
        )


def test_empty_case_and_empty_period_give_zeros(gcase: Generated, tmp_path: object) -> None:
    store = ReportingStore(gcase.case.store.engine)
    doc = build_report(store, period_spec("1999-01-01", "1999-01-31"),
                       period_spec("1998-01-01", "1998-12-31")).to_json()  # fmt: skip
    for name, f in doc["figures"].items():
        value = f["value"]
        if isinstance(value, dict):
            assert all(n == 0 for n in value.values()), name
        else:
            assert value == 0, name
    assert doc["figures"]["outcomes"]["value"]["pseudo-photograph"] == 0
    assert doc["compare"]["change"]["items_seen"] == {"value": 0, "percent": None}
