"""Renderers of a :class:`~verisight.reports.statistics.Report`: JSON, Markdown and HTML.

The HTML page is self-contained: inline CSS, charts as PNG ``data:`` URIs (from
:mod:`verisight.reports.charts`), no JavaScript, no fonts or scripts fetched from anywhere. A
report shows counts, never an image of a case. Every text from the case (bank names, sites,
model names) is escaped.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator

from verisight.reports.statistics import BREAKDOWN_DEFINITION, GROUP_COLUMNS, Report, Value, percent

TITLES = {
    "items_seen": "Items seen",
    "items_analysed": "Items analysed",
    "items_failed": "Items failed",
    "items_skipped": "Items skipped",
    "distinct_media": "Distinct media",
    "duplicates": "Duplicates",
    "videos": "Videos",
    "media_by_provenance": "Media by provenance verdict",
    "ai_provenance": "AI-declared or AI-edited media",
    "assessed": "Assessed media",
    "unassessed": "Unassessed media",
    "assessed_by_origin": "Assessed media by origin",
    "outcomes": "Outcomes by law (UK)",
    "criminal": "Criminal media",
    "criminal_by_category": "Criminal media by category",
    "outcome_by_category": "Criminal media by outcome and category",
    "criminal_by_age_band": "Criminal media by age band",
    "criminal_by_sex": "Criminal media by sex",
    "bank_matches": "Media matched by hash banks",
    "bank_matches_by_bank": "Bank matches by bank",
    "top_generator_models": "Top generator models",
    "top_loras": "Top LoRAs",
}


def to_json(report: Report) -> str:
    return json.dumps(report.to_json(), ensure_ascii=False, indent=2) + "\n"


def _period(report: Report, compare: bool = False) -> str:
    section = report.compare if compare else report.main
    assert section is not None
    p = section.spec
    return f"{p.label_from or 'the beginning'} to {p.label_to or 'now'}"


def _fmt_pct(p: object) -> str:
    return "–" if p is None else f"{p:+.1f}%"


def _rows(report: Report, name: str) -> Iterator[tuple[str, list[str]]]:
    """(label, cells) for one figure: value, and compare, change, percent when comparing."""
    value = report.main.figures[name].value
    base: Value | None = report.compare.figures[name].value if report.compare else None
    pct = percent(value, base) if base is not None else None
    if isinstance(value, int):
        cells = [f"{value:,}"]
        if isinstance(base, int):
            cells += [f"{base:,}", f"{value - base:+,}", _fmt_pct(pct)]
        yield "", cells
        return
    keys = list(value) + [k for k in (base or {}) if k not in value]  # type: ignore[union-attr]
    for k in keys:
        v = value.get(k, 0)
        cells = [f"{v:,}"]
        if isinstance(base, dict):
            b = base.get(k, 0)
            p = pct.get(k) if isinstance(pct, dict) else None
            cells += [f"{b:,}", f"{v - b:+,}", _fmt_pct(p)]
        yield k, cells


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def to_markdown(report: Report) -> str:
    cmp = report.compare is not None
    head = ["Value"] + (["Compare", "Change", "%"] if cmp else [])
    lines = [
        "# Verisight report",
        "",
        f"Period: {_period(report)}" + (f"; compared with {_period(report, True)}" if cmp else ""),
        "",
        f"Generated {report.to_json()['generated_at']}. Counts only; no image is shown.",
        "",
        "## Summary",
        "",
        "| Figure | " + " | ".join(head) + " |",
        "|---|" + "---:|" * len(head),
    ]
    dicts = []
    for name, fig in report.main.figures.items():
        if isinstance(fig.value, dict):
            dicts.append(name)
            continue
        for _label, cells in _rows(report, name):
            lines.append(f"| {TITLES[name]} | " + " | ".join(cells) + " |")
    for name in dicts:
        lines += ["", f"## {TITLES[name]}", "", "| | " + " | ".join(head) + " |"]
        lines.append("|---|" + "---:|" * len(head))
        rows = list(_rows(report, name))
        if not rows:
            lines.append("| (none) | " + " | ".join("0" for _ in head) + " |")
        for label, cells in rows:
            lines.append(f"| {_md(label)} | " + " | ".join(cells) + " |")
    for by, rows_ in report.main.breakdowns.items():
        lines += ["", f"## By {by}", "", f"Grouped by {BREAKDOWN_DEFINITION[by]}.", ""]
        lines.append("| " + by + " | " + " | ".join(GROUP_COLUMNS) + " |")
        lines.append("|---|" + "---:|" * len(GROUP_COLUMNS))
        if not rows_:
            lines.append("| (no items) | " + " | ".join("0" for _ in GROUP_COLUMNS) + " |")
        for r in rows_:
            cells = [f"{getattr(r, c):,}" for c in GROUP_COLUMNS]
            lines.append(f"| {_md(r.key)} | " + " | ".join(cells) + " |")
    lines += ["", "## Definitions", ""]
    for name, fig in report.main.figures.items():
        lines.append(f"- **{TITLES[name]}** (`{name}`): {_md(fig.definition)}")
    return "\n".join(lines) + "\n"


CSS = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;
padding:.2rem .6rem}td.n{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%}dt{font-weight:bold}dd{margin:0 0 .6rem 1rem}
"""


def to_html(report: Report, charts: dict[str, str] | None = None) -> str:
    """The report as one HTML page; ``charts`` maps a title to a ``data:`` URI."""
    e = html.escape
    cmp = report.compare is not None
    head = ["Value"] + (["Compare", "Change", "%"] if cmp else [])
    th = "".join(f"<th>{h}</th>" for h in head)
    out = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        "<meta name=viewport content='width=device-width,initial-scale=1'>",
        f"<title>Verisight report: {e(_period(report))}</title><style>{CSS}</style></head><body>",
        "<h1>Verisight report</h1>",
        f"<p>Period: {e(_period(report))}"
        + (f"; compared with {e(_period(report, True))}" if cmp else "")
        + f". Generated {e(str(report.to_json()['generated_at']))}. Counts only; no image is "
        "shown.</p>",
        f"<h2>Summary</h2><table><tr><th>Figure</th>{th}</tr>",
    ]
    dicts = []
    for name, fig in report.main.figures.items():
        if isinstance(fig.value, dict):
            dicts.append(name)
            continue
        for _label, cells in _rows(report, name):
            tds = "".join(f"<td class=n>{e(c)}</td>" for c in cells)
            out.append(f"<tr><td title='{e(fig.definition)}'>{e(TITLES[name])}</td>{tds}</tr>")
    out.append("</table>")
    for title, uri in (charts or {}).items():
        out.append(f"<figure><img alt='{e(title)} (chart)' src='{uri}'></figure>")
    for name in dicts:
        out.append(f"<h2>{e(TITLES[name])}</h2><table><tr><th></th>{th}</tr>")
        for label, cells in _rows(report, name):
            tds = "".join(f"<td class=n>{e(c)}</td>" for c in cells)
            out.append(f"<tr><td>{e(label)}</td>{tds}</tr>")
        out.append("</table>")
    for by, rows in report.main.breakdowns.items():
        hdr = "".join(f"<th>{c}</th>" for c in GROUP_COLUMNS)
        out.append(f"<h2>By {e(by)}</h2><p>Grouped by {e(BREAKDOWN_DEFINITION[by])}.</p>")
        out.append(f"<table><tr><th>{e(by)}</th>{hdr}</tr>")
        for r in rows:
            tds = "".join(f"<td class=n>{getattr(r, c):,}</td>" for c in GROUP_COLUMNS)
            out.append(f"<tr><td>{e(r.key)}</td>{tds}</tr>")
        out.append("</table>")
    out.append("<h2>Definitions</h2><dl>")
    for name, fig in report.main.figures.items():
        out.append(f"<dt>{e(TITLES[name])} <code>{name}</code></dt><dd>{e(fig.definition)}</dd>")
    out.append("</dl></body></html>\n")
    return "\n".join(out)
