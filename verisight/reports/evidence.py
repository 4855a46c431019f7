"""Evidence packages (``verisight export evidence``): a zip a third party can check and repeat.

Contents, every name fixed:

==========================  ==============================================================
``manifest.json``           per media: hashes, size, type, provenance verdict and evidence,
                            every sighting (provenance chain, URL, capture time, scan), the
                            current assessment with its analyst and time, every opinion
                            (first, edit, second review, resolution) with analyst and time,
                            the mappings to VICS/NCMEC/INTERPOL, and whether its original is
                            included (and if not, exactly why)
``audit.jsonl``             the audit-log entries about these media, oldest first, each with
                            ``prev_hash`` and ``hash``
``audit-verification.json`` the whole log's chain verification (:meth:`AuditLog.verify`:
                            entries, head hash, problems) and each extracted entry's hash
                            recomputed
``originals/<sha256>``      only with ``include_originals``: the original bytes, re-read
                            from the sighting's file (or re-extracted from its archive or WARC
                            through :mod:`verisight.sources`) and checked against the SHA-256
``README.txt``              how the package relates to the ACPO principles and how to check it
``SHA256SUMS``              ``sha256sum -c`` format: the SHA-256 of every file above
``signoff.json``            who exported it and when, and the SHA-256 of ``SHA256SUMS``
==========================  ==============================================================

ACPO: (1) originals are only read, never changed; included copies are verified against the
SHA-256 recorded at scan time; (2) the exporting person is named (``cli:<os user>``); (3) the
audit trail is included with its hash chain so that a third party can recompute it
(``hash = sha256(prev_hash + "\\n" + canonical JSON)``, see :mod:`verisight.store.audit`); the
export itself is an audit entry that records the SHA-256 of ``SHA256SUMS``; (4) the case
officer remains responsible. There is no cryptographic signature: the sign-off is the named
person, the time and the audit entry.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from verisight.assessment.mappings import map_decision
from verisight.limits import Limits
from verisight.names import json_text
from verisight.sources.originals import Place, read_originals
from verisight.store.assessments import Decision
from verisight.store.audit import AuditLog, AuditRecord, canonical, entry_hash
from verisight.store.reporting import EvidenceMedia, ReportingStore, SightingRow

README = """Verisight evidence package
======================

manifest.json             what is known about each media, its sightings and assessments
audit.jsonl               the audit-log entries about these media (hash-chained)
audit-verification.json   verification of the whole audit chain at export time
originals/                the original files, only when exported with --include-originals
SHA256SUMS                SHA-256 of every file (check with: sha256sum -c SHA256SUMS)
signoff.json              who exported the package and when; SHA-256 of SHA256SUMS

ACPO principles: originals were only read, never altered, and any included original was
checked against the SHA-256 recorded when it was scanned; the person who exported the
package is named in signoff.json; each audit entry's hash can be recomputed as
sha256(prev_hash + "\\n" + canonical JSON of {seq, at, actor, action, media, detail}, keys
sorted, compact separators); the export itself is recorded in the audit log with the
SHA-256 of SHA256SUMS. This package carries no cryptographic signature.
"""


@dataclass
class EvidenceResult:
    path: Path
    media: int
    originals_included: int
    originals_missing: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    sums_sha256: str = ""


def _iso(d: datetime | None) -> str | None:
    return d.astimezone(UTC).isoformat().replace("+00:00", "Z") if d else None


def _sighting(s: SightingRow) -> dict[str, Any]:
    return {
        "path": s.path, "chain": s.chain, "url": s.url, "captured_at": _iso(s.captured_at),
        "status": s.status, "scan": s.scan_id, "depth": s.depth,
    }  # fmt: skip


def media_manifest(m: EvidenceMedia) -> dict[str, Any]:
    a = m.assessment
    assessment = None
    if a is not None:
        d = Decision(a.outcome, a.category, a.origin, a.age_band, a.sex)
        mapped = map_decision(d)
        assessment = {
            "outcome": a.outcome, "category": a.category, "origin": a.origin,
            "age_band": a.age_band, "sex": a.sex, "status": a.status, "analyst": m.analyst,
            "updated_at": _iso(m.assessed_at),
            "mapped": {"vics": mapped.vics, "ncmec": mapped.ncmec,
                       "interpol_baseline": mapped.interpol_baseline},
        }  # fmt: skip
    report = m.provenance_report
    return {
        "sha256": m.sha256, "md5": m.md5, "sha1": m.sha1, "pdq": m.pdq, "size": m.size,
        "mime": m.mime, "kind": m.kind,
        "provenance": {
            "verdict": m.provenance,
            "evidence": [e.to_json() for e in report.evidence] if report else [],
            "generator": report.generator.to_json() if report and report.generator else None,
            "c2pa": report.c2pa.to_json() if report and report.c2pa else None,
        },
        "sightings": [_sighting(s) for s in m.sightings],
        "assessment": assessment,
        "opinions": [
            {"analyst": o.user, "stage": o.stage, "outcome": o.outcome, "category": o.category,
             "origin": o.origin, "age_band": o.age_band, "sex": o.sex, "note": o.note,
             "version": o.version, "at": _iso(o.at)}
            for o in m.opinions
        ],
    }  # fmt: skip


def find_original(m: EvidenceMedia, limits: Limits | None = None) -> tuple[bytes | None, str]:
    """The original bytes from one of the media's sightings, or ``None`` and why not."""
    places = [Place(Path(s.chain[0]), s.locator, s.depth, s.path) for s in m.sightings if s.chain]
    (found,) = read_originals({m.sha256: places}, limits)
    return found.data, found.how


def _audit_json(r: AuditRecord) -> dict[str, Any]:
    return {
        "seq": r.seq, "at": r.at.astimezone(UTC).isoformat(), "actor": r.actor,
        "action": r.action, "media": r.media_sha256, "detail": r.detail,
        "prev_hash": r.prev_hash, "hash": r.hash,
    }  # fmt: skip


def audit_extract(audit: AuditLog, shas: Sequence[str]) -> Iterator[AuditRecord]:
    entries: list[AuditRecord] = []
    for sha in shas:
        entries.extend(audit.entries(media_sha256=sha))
    yield from sorted(entries, key=lambda r: r.seq)


def write_evidence(
    store: ReportingStore,
    audit: AuditLog,
    shas: Sequence[str],
    out: Path,
    *,
    actor: str,
    include_originals: bool = False,
    now: datetime | None = None,
) -> EvidenceResult:
    """Write the package to ``out`` (see the module docstring); ``shas`` must exist."""
    now = now or datetime.now(UTC)
    stamp = now.astimezone(UTC).timetuple()[:6]
    result = EvidenceResult(out, len(shas), 0)

    def put(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
        info = zipfile.ZipInfo(name, date_time=stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, data)
        result.files[name] = hashlib.sha256(data).hexdigest()

    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w") as zf:
        media: list[dict[str, Any]] = []
        for sha in shas:
            m = store.evidence(sha)
            entry = media_manifest(m)
            if include_originals:
                data, how = find_original(m)
                if data is not None:
                    put(zf, f"originals/{sha}", data)
                    result.originals_included += 1
                    entry["original"] = {"included": True, "file": f"originals/{sha}", "how": how}
                else:
                    result.originals_missing.append(sha)
                    entry["original"] = {"included": False, "reason": how}
            else:
                entry["original"] = {"included": False, "reason": "not requested"}
            media.append(entry)
        extract = list(audit_extract(audit, shas))
        verified = audit.verify()
        recomputed = [
            r.seq for r in extract
            if entry_hash(r.prev_hash, r.seq, r.at, r.actor, r.action, r.media_sha256,
                          canonical(r.detail)) != r.hash
        ]  # fmt: skip
        manifest = {
            "format": "verisight-evidence/1", "created_at": _iso(now), "created_by": actor,
            "media_count": len(media), "media": media,
        }  # fmt: skip
        put(zf, "manifest.json", _dump(manifest))
        put(zf, "audit.jsonl", "".join(
            json_text(_audit_json(r)) + "\n" for r in extract
        ).encode())  # fmt: skip
        put(zf, "audit-verification.json", _dump({
            "verified_at": _iso(now), "chain_ok": verified.ok, "entries": verified.entries,
            "head": verified.head, "problems": verified.problems,
            "extract_entries": len(extract), "extract_hashes_not_recomputed": recomputed,
        }))  # fmt: skip
        put(zf, "README.txt", README.encode())
        sums = "".join(f"{h}  {n}\n" for n, h in sorted(result.files.items())).encode()
        put(zf, "SHA256SUMS", sums)
        result.sums_sha256 = hashlib.sha256(sums).hexdigest()
        put(zf, "signoff.json", _dump({
            "signed_off_by": actor, "signed_off_at": _iso(now),
            "sha256sums_sha256": result.sums_sha256,
            "note": "sign-off without a cryptographic signature; the export is recorded in "
                    "the case's hash-chained audit log with this SHA-256",
        }))  # fmt: skip
    return result


def _dump(obj: Any) -> bytes:
    # json_text: chain links with undecodable bytes stay lossless and the file valid UTF-8.
    return (json_text(obj, indent=2, sort_keys=False) + "\n").encode()
