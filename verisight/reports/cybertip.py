"""Draft NCMEC CyberTipline report XML (``verisight export cybertip``), for a person to review,
complete and submit. Verisight never contacts NCMEC or any other service.

The CyberTipline reporting API takes a ``<report>`` document, then one ``<fileDetails>``
document per uploaded file (which needs the ``reportId`` and ``fileId`` NCMEC returns, so
those are placeholders here). Child elements must appear in the XSD's sequence order or the
submission is refused. The orders used, from the published documentation
(https://report.cybertip.org/ispws/documentation/index.html, schema in its Appendix B) as
transcribed in public client code:

* ``report``: ``batchedReport``, ``incidentSummary``, ``internetDetails``,
  ``lawEnforcement``, ``reporter``, ``personOrUserReported``, ``intendedRecipient``,
  ``victim``, ``additionalInfo``;
* ``incidentSummary``: ``incidentType``, ``platform``, ``escalateToHighPriority``,
  ``reportAnnotations``, ``incidentDateTime``, ``incidentDateTimeDescription``;
* ``reporter``: ``reportingPerson`` (``firstName``, ``lastName``, ``phone``, ``email``, …),
  ``contactPerson``, …;
* ``webPageIncident``: ``url``…, ``additionalInfo``;
* ``fileDetails``: ``reportId``, ``fileId``, ``originalFileName``,
  ``uploadedToEspTimestamp``, ``locationOfFile``, ``fileViewedByEsp``, ``exifViewedByEsp``,
  ``publiclyAvailable``, ``fileRelevance``, ``fileAnnotations`` (presence flags, among them
  ``generativeAi`` and ``infant``), ``industryClassification`` (A1/A2/B1/B2),
  ``originalFileHash``… (attribute ``hashType``), ``ipCaptureEvent``, ``deviceId``,
  ``details``, ``additionalInfo``.

Sources consulted: the pydantic-xml model of the schema in a public Python CyberTipline client
(``report.py`` and ``file_details.py``: ``Report``, ``IncidentSummary``, ``FileDetails``,
``FileAnnotations``), and Johannes-Andersen/Cybertipline-Tools
(``src/types/reportDetails/IncidentSummary.ts``, ``src/types/common/Person.ts``,
``src/types/Constants/IncidentType.ts``). Field notes (``FIELD-NOTES.md``) list
``originalFileHash`` before ``industryClassification``; the schema transcriptions put
``fileAnnotations`` and ``industryClassification`` first, and that is the order used.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from verisight.assessment.mappings import map_decision
from verisight.names import escaped
from verisight.store.assessments import Decision
from verisight.store.reporting import EvidenceMedia
from verisight.vocab import AI_VERDICTS

INCIDENT_TYPE = "Child Pornography (possession, manufacture, and distribution)"
TO_COMPLETE = "TO BE COMPLETED BY THE REPORTER"
AI_ORIGINS = ("ai-photorealistic", "ai-non-photorealistic", "partially-synthetic")
AI_PROVENANCE = AI_VERDICTS
REPORT_ORDER = ("incidentSummary", "internetDetails", "reporter", "additionalInfo")
FILE_ORDER = (
    "reportId", "fileId", "originalFileName", "locationOfFile", "fileViewedByEsp",
    "publiclyAvailable", "fileRelevance", "fileAnnotations", "industryClassification",
    "originalFileHash", "additionalInfo",
)  # fmt: skip


@dataclass
class CybertipResult:
    directory: Path
    files: list[Path] = field(default_factory=list)


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, tag)
    if text is not None:
        el.text = text
    return el


def _iso(d: datetime) -> str:
    return d.astimezone(UTC).isoformat().replace("+00:00", "Z")


def report_xml(media: list[EvidenceMedia], now: datetime) -> ET.Element:
    times = [s.captured_at for m in media for s in m.sightings if s.captured_at]
    urls = sorted({s.url for m in media for s in m.sightings if s.url})
    report = ET.Element("report")
    summary = _sub(report, "incidentSummary")
    _sub(summary, "incidentType", INCIDENT_TYPE)
    _sub(summary, "incidentDateTime", _iso(min(times) if times else now))
    when = (
        "earliest capture time of the reported files"
        if times
        else "no capture time known: time the draft was made; correct before submitting"
    )
    _sub(summary, "incidentDateTimeDescription", when)
    if urls:
        web = _sub(_sub(report, "internetDetails"), "webPageIncident")
        for url in urls:
            _sub(web, "url", url)
    person = _sub(_sub(report, "reporter"), "reportingPerson")
    _sub(person, "firstName", TO_COMPLETE)
    _sub(person, "lastName", TO_COMPLETE)
    _sub(person, "email", TO_COMPLETE)
    _sub(report, "additionalInfo",
         f"Draft made by Verisight at {_iso(now)} for {len(media)} file(s); review every field "
         "before submitting. Verisight did not submit it.")  # fmt: skip
    return report


def file_xml(m: EvidenceMedia) -> ET.Element:
    fd = ET.Element("fileDetails")
    _sub(fd, "reportId", "0")
    _sub(fd, "fileId", "PENDING-UPLOAD")
    sighting = next((s for s in m.sightings if s.url), m.sightings[0] if m.sightings else None)
    if sighting is not None:
        # Readable text: XML holds neither undecodable bytes nor control characters.
        name = escaped(sighting.chain[-1]) if sighting.chain else sighting.path
        _sub(fd, "originalFileName", name.rsplit("/", 1)[-1] or name)
        if sighting.url:
            _sub(fd, "locationOfFile", sighting.url)
    a = m.assessment
    _sub(fd, "fileViewedByEsp", "true" if a is not None else "false")
    if sighting is not None and sighting.url:
        _sub(fd, "publiclyAvailable", "true")
    _sub(fd, "fileRelevance", "Reported")
    ai = m.provenance in AI_PROVENANCE or (a is not None and a.origin in AI_ORIGINS)
    infant = a is not None and a.age_band == "0-2"
    if ai or infant:
        notes = _sub(fd, "fileAnnotations")
        if infant:
            _sub(notes, "infant")
        if ai:
            _sub(notes, "generativeAi")
    if a is not None:
        ncmec = map_decision(Decision(a.outcome, a.category, a.origin, a.age_band, a.sex)).ncmec
        if ncmec:
            _sub(fd, "industryClassification", ncmec)
    for kind, value in (("MD5", m.md5), ("SHA1", m.sha1), ("SHA256", m.sha256)):
        _sub(fd, "originalFileHash", value).set("hashType", kind)
    if a is not None:
        cat = f", category {a.category}" if a.category else ""
        _sub(fd, "additionalInfo",
             f"UK assessment: {a.outcome}{cat}; origin {a.origin}; age band {a.age_band}; "
             f"status {a.status}; provenance verdict {m.provenance or 'not checked'}")  # fmt: skip
    return fd


def _write(el: ET.Element, path: Path) -> None:
    ET.indent(el)
    ET.ElementTree(el).write(path, encoding="utf-8", xml_declaration=True)


def write_cybertip(
    media: list[EvidenceMedia], directory: Path, *, now: datetime | None = None
) -> CybertipResult:
    """``report.xml`` and ``files/NNN-<sha256>.xml`` (one ``fileDetails`` per media)."""
    now = now or datetime.now(UTC)
    (directory / "files").mkdir(parents=True, exist_ok=True)
    result = CybertipResult(directory)
    path = directory / "report.xml"
    _write(report_xml(media, now), path)
    result.files.append(path)
    for i, m in enumerate(media, 1):
        path = directory / "files" / f"{i:03d}-{m.sha256}.xml"
        _write(file_xml(m), path)
        result.files.append(path)
    readme = directory / "README.txt"
    readme.write_text(
        "Draft CyberTipline report made by Verisight; nothing was sent anywhere.\n"
        "report.xml opens the report; each files/*.xml is the fileDetails of one file, to be\n"
        "sent after uploading that file (reportId and fileId are placeholders until then).\n"
        f"Complete every '{TO_COMPLETE}' field and review all others before submitting.\n",
        encoding="utf-8",
    )
    result.files.append(readme)
    return result
