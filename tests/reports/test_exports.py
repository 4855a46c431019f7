"""Reports and exports through the CLI, on the generated case (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

from typer.testing import CliRunner

from tests.conftest import write_images
from tests.reports.conftest import Generated
from verisight.assessment.mappings import vics_category
from verisight.case import Case
from verisight.cli import app
from verisight.matching import read_bank
from verisight.reports.cybertip import FILE_ORDER, REPORT_ORDER
from verisight.store.audit import AuditLog

runner = CliRunner()


def _run(g: Generated, *args: str) -> tuple[int, str]:
    res = runner.invoke(app, [*args, "--case", str(g.case.directory),
                              "--database-url", g.case.database_url])  # fmt: skip
    return res.exit_code, res.output


def test_report_formats(gcase: Generated, tmp_path: Path) -> None:
    base = ["report", "--from", "2024-06-01", "--to", "2024-06-30",
            "--compare-from", "2024-05-01", "--compare-to", "2024-05-31"]  # fmt: skip
    code, text = _run(gcase, *base, "--format", "json", "--by", "source")
    assert code == 0, text
    doc = json.loads(text)
    assert set(doc["breakdowns"]) == {"source"} and doc["compare"]["change"]
    code, text = _run(gcase, *base, "--format", "md")
    assert code == 0 and "| Items seen |" in text and "bücher.example" in text
    html = tmp_path / "r.html"
    code, _ = _run(gcase, *base, "--format", "html", "-o", str(html))
    page = html.read_text(encoding="utf-8")
    assert code == 0 and page.count("data:image/png;base64,") >= 4
    assert "<script" not in page and "src='http" not in page and 'src="http' not in page
    pdf = tmp_path / "r.pdf"
    code, _ = _run(gcase, *base, "--format", "pdf", "-o", str(pdf))
    assert code == 0 and pdf.read_bytes().startswith(b"%PDF")
    assert _run(gcase, "report", "--from", "2024-13-01")[0] == 2
    assert _run(gcase, "report", "--by", "planet")[0] == 2
    actions = [e for e in AuditLog(gcase.case.store.engine).entries() if e.action == "report"]
    assert len(actions) == 4 and all(e.actor and e.actor.startswith("cli:") for e in actions)


def test_vics_export_round_trips_into_a_bank(gcase: Generated, tmp_path: Path) -> None:
    assessed = {s: m for s, m in gcase.media.items() if m.assessment}
    for model in ("UK", "US", "Default"):
        path = tmp_path / f"{model}.json"
        code, text = _run(gcase, "export", "hashes", "--format", "vics", "--vics-model", model,
                          "--include-pending", "-o", str(path))  # fmt: skip
        assert code == 0, text
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert doc["@odata.context"].endswith(f"/2.0.xml/{model}/$metadata#Media")
        assert all("MediaSize" in v and "MimeType" in v for v in doc["value"])
    entries = list(read_bank(tmp_path / "UK.json", "vics"))
    got = {(e.md5, e.sha1, e.sha256, e.pdq, e.category) for e in entries}
    want = {(m.md5, m.sha1, m.sha256, m.pdq, vics_category(str(m.assessment["outcome"])))
            for m in assessed.values() if m.assessment}  # fmt: skip
    assert got == want
    res = gcase.case.banking.import_file(tmp_path / "UK.json", "re-import", format="vics")
    assert res.added == len(want) and not res.skipped
    # settled only by default, and filters
    code, text = _run(gcase, "export", "hashes", "--format", "sha256", "--outcome",
                      "pseudo-photograph", "--category", "A")  # fmt: skip
    want_a = {s for s, m in assessed.items() if m.assessment and m.assessment["status"] ==
              "final" and m.assessment["outcome"] == "pseudo-photograph"
              and m.assessment["category"] == "A"}  # fmt: skip
    assert code == 0 and set(text.split()) - {"media", "written"} >= want_a
    assert _run(gcase, "export", "hashes", "--format", "md5", "--category", "Z")[0] == 2
    csv_path = tmp_path / "h.csv"
    assert _run(gcase, "export", "hashes", "--format", "csv", "-o", str(csv_path),
                "--include-pending")[0] == 0  # fmt: skip
    again = {(e.md5, e.sha256, e.category) for e in read_bank(csv_path, "csv")}
    assert again == {(a, c, e) for a, _b, c, _d, e in want}


def test_evidence_package_and_cybertip(gcase: Generated, tmp_path: Path) -> None:
    shas = sorted(s for s, m in gcase.media.items() if m.assessment)[:3]
    audit = AuditLog(gcase.case.store.engine)
    for sha in shas:
        audit.append("analyst-é", "assess", sha, {"note": "neutral ✓"})
    z = tmp_path / "ev.zip"
    args = [a for s in shas for a in ("--media", s[:12])]
    code, text = _run(gcase, "export", "evidence", *args, "-o", str(z))
    assert code == 0, text
    with zipfile.ZipFile(z) as zf:
        names = set(zf.namelist())
        sums = dict(line.split("  ")[::-1] for line in zf.read("SHA256SUMS").decode().splitlines())
        for name, digest in sums.items():
            assert hashlib.sha256(zf.read(name)).hexdigest() == digest
        assert names == set(sums) | {"SHA256SUMS", "signoff.json"}
        manifest = json.loads(zf.read("manifest.json"))
        assert [m["sha256"] for m in manifest["media"]] == shas
        assert manifest["media"][0]["assessment"]["analyst"] == "analyst-é"
        ver = json.loads(zf.read("audit-verification.json"))
        assert ver["chain_ok"] and ver["extract_entries"] == 3
        signoff = json.loads(zf.read("signoff.json"))
    last = next(AuditLog(gcase.case.store.engine).entries(limit=1))
    assert last.action == "export-evidence"
    assert last.detail["sha256sums"] == signoff["sha256sums_sha256"]
    out = tmp_path / "tip"
    code, text = _run(gcase, "export", "cybertip", *args, "-o", str(out))
    assert code == 0, text
    report = ET.parse(out / "report.xml").getroot()
    tags = [c.tag for c in report]
    assert tags == [t for t in REPORT_ORDER if t in tags]
    for f in sorted((out / "files").iterdir()):
        fd = ET.parse(f).getroot()
        tags = [c.tag for c in fd]
        order = [t for t in FILE_ORDER if t in tags]
        assert [t for i, t in enumerate(tags) if i == 0 or t != tags[i - 1]] == order
        assert {h.get("hashType") for h in fd.iter("originalFileHash")} == {
            "MD5", "SHA1", "SHA256"}  # fmt: skip
    assert _run(gcase, "export", "cybertip", "--media", "ffff0000", "-o", str(out))[0] == 1


def test_originals_are_re_read_or_explained(tmp_path: Path, database_url: str) -> None:
    files = write_images(tmp_path / "coll-ü", 2)
    with zipfile.ZipFile(tmp_path / "coll-ü" / "a.zip", "w") as zf:
        zf.write(files[0], "in/ß.jpg")
    files[0].unlink()  # the loose copy is gone; the zip member remains
    extra = write_images(tmp_path / "coll-ü" / "sub", 1, start=5)[0]
    case = Case(tmp_path / "case", database_url, create=True)
    case.scan([tmp_path / "coll-ü"], workers=1)
    shas = sorted(m.sha256 for m in case.media() if m.kind == "image")
    extra.write_bytes(b"changed")  # content changed after the scan
    z = tmp_path / "ev.zip"
    res = runner.invoke(app, ["export", "evidence", "--include-originals", "-o", str(z),
                              "--case", str(case.directory), "--database-url", database_url,
                              *[a for s in shas for a in ("--media", s)]])  # fmt: skip
    case.close()
    assert res.exit_code == 0, res.output
    with zipfile.ZipFile(z) as zf:
        media = json.loads(zf.read("manifest.json"))["media"]
        by = {m["sha256"]: m["original"] for m in media}
        included = [s for s, o in by.items() if o["included"]]
        assert len(included) == 2
        for s in included:
            assert hashlib.sha256(zf.read(f"originals/{s}")).hexdigest() == s
        missing = [o for o in by.values() if not o["included"]]
        assert len(missing) == 1 and "SHA-256 differs" in missing[0]["reason"]
