"""Charts of a report with matplotlib (``Figure`` objects, no pyplot state, offline): PNG
``data:`` URIs for the HTML page, and the PDF form of a report (matplotlib's ``PdfPages``:
the Markdown text in a monospaced font, then one page per chart). Counts only."""

from __future__ import annotations

import base64
import io
from typing import Any

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from verisight.reports.render import TITLES, to_markdown
from verisight.reports.statistics import Report

CHARTED = ("media_by_provenance", "outcomes", "criminal_by_category", "assessed_by_origin")
LINES_PER_PAGE = 70


def figures(report: Report) -> dict[str, Figure]:
    """One bar chart per charted figure (and per month when broken down by month)."""
    out: dict[str, Figure] = {}
    for name in CHARTED:
        value = report.main.figures[name].value
        assert isinstance(value, dict)
        base = report.compare.figures[name].value if report.compare else None
        out[TITLES[name]] = _bars(TITLES[name], value, base if isinstance(base, dict) else None)
    months = report.main.breakdowns.get("month")
    if months:
        counts = {r.key: r.items_seen for r in months}
        criminal = {r.key: r.criminal for r in months}
        out["Items and criminal media by month"] = _bars(
            "Items seen (left) and criminal media (right) by month", counts, criminal,
            labels=("items seen", "criminal media"),
        )  # fmt: skip
    return out


def _bars(
    title: str,
    value: dict[str, int],
    base: dict[str, int] | None,
    labels: tuple[str, str] = ("period", "comparison"),
) -> Figure:
    fig = Figure(figsize=(7, 3.2), dpi=100)
    ax = fig.subplots()
    keys = list(value) + [k for k in (base or {}) if k not in value]
    xs = range(len(keys))
    width = 0.4 if base is not None else 0.8
    ax.bar([x - (width / 2 if base is not None else 0) for x in xs],
           [value.get(k, 0) for k in keys], width, label=labels[0], color="#3b6ea5")  # fmt: skip
    if base is not None:
        ax.bar([x + width / 2 for x in xs], [base.get(k, 0) for k in keys], width,
               label=labels[1], color="#b0b7c3")  # fmt: skip
        ax.legend(fontsize=8)
    ax.set_xticks(list(xs), keys, rotation=20, ha="right", fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return fig


def data_uri(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def chart_uris(report: Report) -> dict[str, str]:
    return {title: data_uri(fig) for title, fig in figures(report).items()}


def to_pdf(report: Report) -> bytes:
    """The report as a PDF: text pages (the Markdown form), then the charts."""
    buf = io.BytesIO()
    lines = to_markdown(report).splitlines()
    meta: dict[str, Any] = {
        "Title": "Verisight report",
        "Creator": "Verisight",
        "Producer": "Verisight",
    }
    with PdfPages(buf, metadata=meta) as pdf:
        for i in range(0, max(len(lines), 1), LINES_PER_PAGE):
            page = Figure(figsize=(8.27, 11.69))
            page.text(0.04, 0.98, "\n".join(lines[i : i + LINES_PER_PAGE]), va="top",
                      family="DejaVu Sans Mono", fontsize=6.5)  # fmt: skip
            pdf.savefig(page)
        for fig in figures(report).values():
            pdf.savefig(fig)
    return buf.getvalue()
