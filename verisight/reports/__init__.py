"""Reports and exports: statistics over a case, rendered as JSON, Markdown, HTML or PDF;
hash lists (VICS, CSV, plain), evidence packages and draft CyberTipline reports.

Everything here is a pure function over the dataclasses that
:class:`verisight.store.reporting.ReportingStore` returns; the SQL lives there. A report shows
counts only, never an image.

Public API::

    from verisight.reports import build_report, period_spec
    report = build_report(ReportingStore(engine), period_spec("2024-06-01", "2024-06-30"))
    report.to_json()
"""

from verisight.reports.statistics import (
    DEFINITIONS,
    Figure,
    PeriodSpec,
    Report,
    build_report,
    period_spec,
)

__all__ = ["DEFINITIONS", "Figure", "PeriodSpec", "Report", "build_report", "period_spec"]
