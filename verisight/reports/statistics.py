"""The report's figures, each with the exact definition it was computed by.

:func:`build_report` asks :class:`~verisight.store.reporting.ReportingStore` for aggregates (all
counting happens in SQL) and returns a :class:`Report`: a period, its :class:`Figure` s, the
``--by`` breakdowns and, when a comparison period is given, the same figures for it with the
change. A figure's value is a count or a mapping of labels to counts; label sets come from
the taxonomy (:mod:`verisight.assessment.taxonomy`), so an empty period still lists every label
with 0.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from verisight.assessment.taxonomy import AGE_BAND, CATEGORY, ORIGIN, OUTCOME, SEX
from verisight.errors import UsageError
from verisight.store.intel import IntelStore
from verisight.store.reporting import BY, GroupRow, Period, ReportingStore
from verisight.vocab import AI_VERDICTS, CRIMINAL, NOT_CHECKED, Verdict

_HEXISH = re.compile(r"^[0-9a-f]{8,64}$")

Value = int | dict[str, int]
PROVENANCE = (*Verdict, NOT_CHECKED)
TOP = 10

ITEMS = (
    "Items (sightings: places an item was seen) whose time falls in the period; an item's time "
    "is its capture time (WARC-Date) where known, else the start of the scan that recorded it. "
    "Containers (archives, WARC files) are not items: their members are."
)
MEDIA = "distinct images and videos (by SHA-256) shown by at least one item seen in the period"
DEFINITIONS: dict[str, str] = {
    "items_seen": ITEMS + " Analysed, failed and skipped items all count.",
    "items_analysed": "Items seen in the period that were analysed.",
    "items_failed": "Items seen in the period that could not be analysed (with a reason).",
    "items_skipped": "Items seen in the period deliberately not analysed (with a reason).",
    "distinct_media": "The period's media: " + MEDIA + ".",
    "duplicates": "Items seen in the period that show an image or video, minus distinct_media: "
    "further sightings of media already counted once.",
    "videos": "The period's media whose kind is video.",
    "media_by_provenance": "The period's media by provenance verdict from their metadata: "
    "ai-declared, ai-edited, camera-declared, none (checked, nothing found), not-checked.",
    "ai_provenance": "The period's media whose metadata declares them AI-generated or "
    "AI-edited (ai-declared + ai-edited).",
    "assessed": "The period's media with a current assessment (any status).",
    "unassessed": "The period's media without an assessment (distinct_media - assessed).",
    "assessed_by_origin": "Assessed media of the period by the analyst's origin judgement.",
    "outcomes": "Assessed media of the period by legal outcome (UK): indecent-photograph "
    "(Protection of Children Act 1978 s.1), pseudo-photograph (PCA 1978 s.1, s.7(7)), "
    "prohibited-image (Coroners and Justice Act 2009 s.62), not-illegal.",
    "criminal": "Assessed media of the period whose outcome is criminal (indecent-photograph, "
    "pseudo-photograph or prohibited-image).",
    "criminal_by_category": "Criminal media of the period by Sentencing Council category "
    "(A, B, C; 'none' where no category was recorded).",
    "outcome_by_category": "Criminal media of the period by outcome and category "
    "('outcome/category').",
    "criminal_by_age_band": "Criminal media of the period by the youngest apparent age band.",
    "criminal_by_sex": "Criminal media of the period by the sex of the children shown.",
    "bank_matches": "The period's media matched by at least one hash bank of kind 'match' "
    "(negative banks are not counted).",
    "bank_matches_by_bank": "The period's media matched by each 'match' bank (a media matched "
    "by two banks counts once in each).",
    "top_generator_models": f"The {TOP} generator models (name, else hash, as the generation "
    "metadata declares it) declared by most of the period's media, with their media counts.",
    "top_loras": f"The {TOP} LoRAs declared in the generation metadata of most of the "
    "period's media, with their media counts (a media listing a LoRA twice counts once).",
}
BREAKDOWN_DEFINITION = {
    "source": "the outermost file for items inside an archive or WARC capture, else the folder "
    "holding the file",
    "site": "the host of the item's URL (WARC-Target-URI), lower-cased; '(no URL)' when none",
    "month": "the UTC month (YYYY-MM) of the item's time",
}
GROUP_COLUMNS = ("items_seen", "distinct_media", "assessed", "criminal", "ai_provenance")


@dataclass(frozen=True)
class Figure:
    value: Value
    definition: str


@dataclass(frozen=True)
class PeriodSpec:
    """A period as the user gave it (dates inclusive) and as queried (``[start, end)``)."""

    label_from: str | None
    label_to: str | None
    period: Period

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.label_from,
            "to": self.label_to,
            "start": _iso(self.period.start),
            "end_exclusive": _iso(self.period.end),
            "time_basis": "sighting capture time (WARC-Date) where known, else scan start",
        }


@dataclass
class Section:
    """The figures and breakdowns of one period."""

    spec: PeriodSpec
    figures: dict[str, Figure]
    breakdowns: dict[str, list[GroupRow]] = field(default_factory=dict)


@dataclass
class Report:
    main: Section
    compare: Section | None
    generated_at: datetime

    def change(self, name: str) -> Value | None:
        """Main minus compare for figure ``name`` (per label for mappings)."""
        if self.compare is None:
            return None
        return _delta(self.main.figures[name].value, self.compare.figures[name].value)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "generated_at": _iso(self.generated_at),
            "period": self.main.spec.to_json(),
            "figures": _figures_json(self.main),
            "breakdowns": _breakdowns_json(self.main),
            "compare": None,
        }
        if self.compare is not None:
            out["compare"] = {
                "period": self.compare.spec.to_json(),
                "figures": _figures_json(self.compare),
                "breakdowns": _breakdowns_json(self.compare),
                "change": {
                    name: {
                        "value": self.change(name),
                        "percent": percent(
                            self.main.figures[name].value, self.compare.figures[name].value
                        ),
                    }
                    for name in self.main.figures
                },
            }
        return out


def parse_date(text: str, *, end: bool = False) -> datetime:
    """``YYYY-MM-DD`` (the whole day: ``end`` gives the next midnight) or an ISO datetime."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            if end:
                day += timedelta(days=1)
            return datetime.combine(day, time(), tzinfo=UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"not a date (YYYY-MM-DD) or ISO date-time: {text!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def period_spec(start: str | None, end: str | None) -> PeriodSpec:
    p = Period(parse_date(start) if start else None, parse_date(end, end=True) if end else None)
    if p.start is not None and p.end is not None and p.end <= p.start:
        raise UsageError(f"the period ends before it starts ({start} .. {end})")
    return PeriodSpec(start, end, p)


def build_section(store: ReportingStore, spec: PeriodSpec, by: tuple[str, ...]) -> Section:
    p = spec.period
    f: dict[str, Value] = {}
    items = store.item_counts(p)
    seen = sum(items.values())
    f["items_seen"] = seen
    for status in ("analysed", "failed", "skipped"):
        f[f"items_{status}"] = items.get(status, 0)
    kinds = store.media_by(p, "kind")
    distinct = sum(kinds.values())
    f["distinct_media"] = distinct
    f["duplicates"] = store.media_sightings(p) - distinct
    f["videos"] = kinds.get("video", 0)
    prov = store.media_by(p, "provenance", null=NOT_CHECKED)
    f["media_by_provenance"] = _labelled(PROVENANCE, prov)
    f["ai_provenance"] = sum(prov.get(v, 0) for v in AI_VERDICTS)
    outcomes = _one(store.assessed_by(p, ["outcome"]))
    assessed = sum(outcomes.values())
    f["assessed"] = assessed
    f["unassessed"] = distinct - assessed
    f["assessed_by_origin"] = _labelled(ORIGIN.codes(), _one(store.assessed_by(p, ["origin"])))
    f["outcomes"] = _labelled(OUTCOME.codes(), outcomes)
    f["criminal"] = sum(outcomes.get(c, 0) for c in CRIMINAL)
    by_cat = store.assessed_by(p, ["outcome", "category"], criminal_only=True)
    cats: Counter[str] = Counter()
    for (_outcome, cat), n in by_cat.items():
        cats[cat] += n
    f["criminal_by_category"] = _labelled((*CATEGORY.codes(), "none"), dict(cats))
    f["outcome_by_category"] = _labelled(
        [f"{o}/{c}" for o in CRIMINAL for c in (*CATEGORY.codes(), "none")],
        {f"{o}/{c}": n for (o, c), n in by_cat.items()},
    )
    f["criminal_by_age_band"] = _labelled(
        AGE_BAND.codes(), _one(store.assessed_by(p, ["age_band"], criminal_only=True))
    )
    f["criminal_by_sex"] = _labelled(
        SEX.codes(), _one(store.assessed_by(p, ["sex"], criminal_only=True))
    )
    banks = store.matches_by_bank(p)
    f["bank_matches"] = banks.pop("")
    f["bank_matches_by_bank"] = dict(sorted(banks.items()))
    name = _alias_namer(store)
    models = store.media_by(p, "generator_model", null="")
    models.pop("", None)
    named_models: Counter[str] = Counter()
    for model, n in models.items():
        named_models[name(model)] += n
    f["top_generator_models"] = _top(named_models)
    loras: Counter[str] = Counter()
    for names in store.iter_loras(p):
        loras.update({name(x) for x in names})
    f["top_loras"] = _top(loras)
    figures = {name: Figure(f[name], DEFINITIONS[name]) for name in DEFINITIONS}
    return Section(spec, figures, {b: store.groups(p, b) for b in by})


def build_report(
    store: ReportingStore,
    main: PeriodSpec,
    compare: PeriodSpec | None = None,
    by: tuple[str, ...] = ("site", "month"),
    *,
    now: datetime | None = None,
) -> Report:
    for b in by:
        if b not in BY:
            raise UsageError(f"--by must be one of {', '.join(BY)} (got {b!r})")
    by = tuple(dict.fromkeys(by))
    return Report(
        build_section(store, main, by),
        build_section(store, compare, by) if compare else None,
        now or datetime.now(UTC),
    )


def percent(value: Value, base: Value) -> float | dict[str, float | None] | None:
    """Change in percent of ``base`` (``None`` where the base is 0)."""
    if isinstance(value, int) and isinstance(base, int):
        return None if base == 0 else round((value - base) * 100.0 / base, 1)
    assert isinstance(value, dict) and isinstance(base, dict)
    out: dict[str, float | None] = {}
    for k in sorted(set(value) | set(base), key=_order(value, base)):
        b = base.get(k, 0)
        out[k] = None if b == 0 else round((value.get(k, 0) - b) * 100.0 / b, 1)
    return out


def _delta(value: Value, base: Value) -> Value:
    if isinstance(value, int) and isinstance(base, int):
        return value - base
    assert isinstance(value, dict) and isinstance(base, dict)
    keys = sorted(set(value) | set(base), key=_order(value, base))
    return {k: value.get(k, 0) - base.get(k, 0) for k in keys}


def _order(value: dict[str, int], base: dict[str, int]) -> Any:
    known = list(value) + [k for k in base if k not in value]
    return known.index


def _one(d: dict[tuple[str, ...], int]) -> dict[str, int]:
    return {k[0]: n for k, n in d.items()}


def _labelled(labels: Any, counts: dict[str, int]) -> dict[str, int]:
    """Every label (0 when absent), then any label outside the set (unknown values kept)."""
    out = {label: counts.get(label, 0) for label in labels}
    for k, v in sorted(counts.items()):
        if k not in out:
            out[k] = v
    return out


def _alias_namer(store: ReportingStore) -> Callable[[str], str]:
    """Names for bare model/LoRA hashes from `verisight intel import-models` (prefix match)."""
    aliases = IntelStore(store.engine).aliases()

    def name(key: str) -> str:
        k = key.lower()
        if not aliases or not _HEXISH.match(k):
            return key
        for a in aliases:
            if a.hash.startswith(k) or k.startswith(a.hash):
                return f"{a.name} ({key})"
        return key

    return name


def _top(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP])


def _iso(d: datetime | None) -> str | None:
    return d.isoformat().replace("+00:00", "Z") if d else None


def _figures_json(s: Section) -> dict[str, Any]:
    return {n: {"value": f.value, "definition": f.definition} for n, f in s.figures.items()}


def _breakdowns_json(s: Section) -> dict[str, Any]:
    return {
        by: {
            "definition": f"Items of the period grouped by {by}: {BREAKDOWN_DEFINITION[by]}; "
            "per group: items_seen, distinct_media, assessed, criminal and ai_provenance "
            "as defined above, restricted to the group's items.",
            "rows": [r.__dict__ for r in rows],
        }
        for by, rows in s.breakdowns.items()
    }
