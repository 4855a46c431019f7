"""Hash banks end to end on SQLite and PostgreSQL: atomic imports, exact and PDQ matching,
per-bank thresholds, negative banks, rotations, look-ups and export round trips."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import jpeg_bytes, write_images
from verisight.case import Case
from verisight.demo import scene
from verisight.matching import InvalidInputError
from verisight.matching.signals import HashType


def _case(tmp_path: Path, url: str, n: int = 4) -> Case:
    write_images(tmp_path / "src", n)
    case = Case(tmp_path / "case", url, create=True)
    case.scan([tmp_path / "src"], workers=1)
    return case


def _by_name(case: Case) -> dict[str, dict[str, str]]:
    return {
        Path(m.sightings[0].path).name: {"md5": m.md5, "sha1": m.sha1, "sha256": m.sha256,
                                         "pdq": m.pdq or ""}
        for m in case.media()
    }  # fmt: skip


def test_import_is_atomic_idempotent_and_matches(tmp_path: Path, database_url: str) -> None:
    case = _case(tmp_path, database_url)
    h = _by_name(case)
    good = tmp_path / "list.csv"
    good.write_text(
        "md5,pdq,label,category\n"
        f"{h['img-0000.jpg']['md5']},,a,1\n"
        f",{h['img-0001.jpg']['pdq']},b,2\n"
    )
    res = case.banking.import_file(good, "hotline")
    assert (res.read, res.added) == (2, 2)
    assert res.matching is not None and res.matching.media_matched == 2
    again = case.banking.import_file(good, "hotline")
    assert again.already_imported and case.banking.bank("hotline").entries == 2
    bad = tmp_path / "bad.csv"
    bad.write_text(f"md5,label\n{h['img-0002.jpg']['md5']},c\nnot-a-hash,d\n")
    with pytest.raises(InvalidInputError) as err:
        case.banking.import_file(bad, "second")
    assert "line 3" in str(err.value.location)
    assert [b.name for b in case.banking.banks()] == ["hotline"]  # nothing half-imported
    res = case.banking.import_file(bad, "second", skip_invalid=True)
    assert res.added == 1 and len(res.skipped) == 1 and res.skipped[0].location.line == 3
    matches = {(m.media_sha256, m.bank, m.hash_type) for m in case.banking.matches()}
    assert matches == {
        (h["img-0000.jpg"]["sha256"], "hotline", "md5"),
        (h["img-0001.jpg"]["sha256"], "hotline", "pdq"),
        (h["img-0002.jpg"]["sha256"], "second", "md5"),
    }
    case.close()


def test_pdq_threshold_per_bank_and_negative_banks(tmp_path: Path, database_url: str) -> None:
    case = _case(tmp_path, database_url, 2)
    h = _by_name(case)
    target = h["img-0000.jpg"]["pdq"]
    flipped = f"{int(target, 16) ^ ((1 << 20) - 1):064x}"  # 20 bits away
    (tmp_path / "near.txt").write_text(f"pdq {flipped}\n")
    strict = case.banking.import_file(tmp_path / "near.txt", "strict", pdq_threshold=10)
    assert strict.matching is not None and strict.matching.media_matched == 0
    loose = case.banking.import_file(tmp_path / "near.txt", "loose")
    assert loose.matching is not None and loose.matching.media_matched == 1
    (m,) = list(case.banking.matches())
    assert (m.bank, m.distance) == ("loose", 20)
    (tmp_path / "allow.txt").write_text(f"{h['img-0000.jpg']['sha1']}\n")
    case.banking.import_file(tmp_path / "allow.txt", "known-fp", kind="negative")
    case.banking.delete("loose")
    case.banking.import_file(tmp_path / "near.txt", "loose2")
    banks = {m.bank for m in case.banking.matches()}
    assert banks == {"known-fp"}  # the allow-list suppresses the PDQ hit
    case.close()


def test_matching_in_chunks_equals_one_pass(tmp_path: Path, database_url: str) -> None:
    """A scan's media are matched a chunk at a time (bounded memory at millions): the
    summary and the recorded matches equal one pass over all of them, negative banks
    included (a suppressed media's hits stay suppressed whichever chunk holds it)."""
    case = _case(tmp_path, database_url, 6)
    h = _by_name(case)
    names = sorted(h)
    (tmp_path / "bank.csv").write_text(
        "md5,pdq,label\n"
        + "".join(f"{h[n]['md5']},,exact\n" for n in names[:2])
        + "".join(f",{h[n]['pdq']},near\n" for n in names[1:5])
    )
    (tmp_path / "allow.txt").write_text(f"{h[names[3]]['sha1']}\n")
    case.banking.import_file(tmp_path / "bank.csv", "list", rematch=False)
    case.banking.import_file(tmp_path / "allow.txt", "fp", kind="negative", rematch=False)
    media = sorted(h[n]["sha256"] for n in names)
    chunked = case.banking.match(media=iter(media), chunk=2)
    rows = sorted((m.media_sha256, m.bank, m.hash_type) for m in case.banking.matches())
    case.banking.delete("list")
    case.banking.import_file(tmp_path / "bank.csv", "list", rematch=False)
    whole = case.banking.match(media=media)
    # the second pass finds the allow-list's hit already recorded: only new_matches differs
    assert chunked.new_matches == chunked.matches_found
    assert chunked.to_json() | {"new_matches": 0} == whole.to_json() | {"new_matches": 0}
    assert chunked.media_considered == 6 and chunked.suppressed >= 1
    assert sorted((m.media_sha256, m.bank, m.hash_type) for m in case.banking.matches()) == rows
    case.close()


def test_rotations_are_matched_when_asked(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    img = scene(3, (320, 240))
    for name, im in (("orig.jpg", img), ("rot.jpg", img.transpose(Image.Transpose.ROTATE_90))):
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=92)
        (src / name).write_bytes(buf.getvalue())
    with Case(tmp_path / "case", create=True) as case:
        case.scan([src], workers=1)
        h = _by_name(case)
        (tmp_path / "b.txt").write_text(f"pdq {h['orig.jpg']['pdq']}\n")
        res = case.banking.import_file(tmp_path / "b.txt", "b")
        assert res.matching is not None and res.matching.media_matched == 1
        summary = case.banking.match(rotations=True)
        assert summary.media_matched == 2
        rot = [m for m in case.banking.matches() if m.media_sha256 == h["rot.jpg"]["sha256"]]
        assert rot and rot[0].variant not in (None, "original")


def test_lookup_and_vics_round_trip(tmp_path: Path, database_url: str) -> None:
    case = _case(tmp_path, database_url, 3)
    h = _by_name(case)
    vics = tmp_path / "v.json"
    vics.write_text(
        '{"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/UK/'
        '$metadata#Media", "value": ['
        f'{{"MediaID": 7, "Category": 1, "MD5": "{h["img-0001.jpg"]["md5"].upper()}", '
        f'"SHA1": "{h["img-0001.jpg"]["sha1"]}", "Series": "s1", "Comments": "c", '
        f'"AlternativeHashes": [{{"HashName": "PDQ", "HashValue": "{h["img-0002.jpg"]["pdq"]}"}}]}}'
        "]}"
    )
    res = case.banking.import_file(vics, "vics")
    assert res.format == "vics" and res.read == 1
    hits = list(case.banking.lookup({HashType.MD5: [h["img-0001.jpg"]["md5"]]}))
    assert len(hits) == 1
    _, _, entry, dist = hits[0]
    assert (entry.bank, entry.row.category, entry.row.source_id, entry.row.series, dist) == (
        "vics", 1, "7", "s1", 0,
    )  # fmt: skip
    pdq_hits = list(case.banking.lookup({HashType.PDQ: [h["img-0002.jpg"]["pdq"]]}))
    assert pdq_hits and pdq_hits[0][2].bank == "vics"
    out = io.StringIO()
    assert case.banking.export("vics", out, "vics") == 1
    (tmp_path / "again.json").write_text(out.getvalue())
    res2 = case.banking.import_file(tmp_path / "again.json", "copy")
    assert res2.read == 1
    a = list(case.banking.entries("vics"))
    b = list(case.banking.entries("copy"))
    strip = lambda r: (r.md5, r.sha1, r.pdq, r.category, r.source_id, r.comments)  # noqa: E731
    assert [strip(r) for r in a] == [strip(r) for r in b]
    case.close()


def test_scan_matches_new_media_against_existing_banks(tmp_path: Path) -> None:
    with Case(tmp_path / "case", create=True) as case:
        data = jpeg_bytes(42)
        (tmp_path / "list.txt").write_text(__import__("hashlib").md5(data).hexdigest() + "\n")
        case.banking.import_file(tmp_path / "list.txt", "pre")
        (tmp_path / "src").mkdir()
        (tmp_path / "src" / "x.jpg").write_bytes(data)
        summary = case.scan([tmp_path / "src"], workers=1)
        assert summary.matching is not None and summary.matching.media_matched == 1
        assert summary.to_json()["matching"]["media_matched"] == 1
