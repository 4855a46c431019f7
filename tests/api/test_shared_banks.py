"""Banks are shared with the CLI in both directions, and the batch extension returns entry
metadata with per-bank thresholds and negative banks applied as in ``verisight match``."""

from __future__ import annotations

import io
import json
from pathlib import Path

from typer.testing import CliRunner

from tests.api.conftest import Api
from tests.matching.conftest import sample_entries
from verisight.case import Case
from verisight.cli import app as cli
from verisight.matching import BankEntry, write_bank

runner = CliRunner()


def _flip(h: str, bits: int) -> str:
    return format(int(h, 16) ^ ((1 << bits) - 1), "064x")


def _cli(case: Case, *args: str) -> str:
    r = runner.invoke(cli, [*args, "--case", str(case.directory),
                            "--database-url", case.database_url])  # fmt: skip
    assert r.exit_code == 0, r.output
    return r.stdout


def test_a_bank_imported_by_the_cli_is_served(api: Api, case: Case, tmp_path: Path) -> None:
    entries = sample_entries()
    buf = io.StringIO()
    write_bank(entries, buf, "vics")
    (tmp_path / "list.json").write_text(buf.getvalue())
    _cli(case, "bank", "import", str(tmp_path / "list.json"), "--name", "KNOWN")
    api.refresh()
    assert "KNOWN" in [b["name"] for b in api.get("/c/banks").json()]
    with_pdq = [e for e in entries if e.pdq]
    r = api.post("/m/lookup/batch", json={"signals": [e.pdq for e in with_pdq]})
    results = r.json()["results"]
    assert [res["signal"] for res in results] == [e.pdq for e in with_pdq]
    for e, res in zip(with_pdq, results, strict=True):
        m = next(m for m in res["matches"] if m["distance"] == "0")
        assert (m["bank"], m["bank_kind"], m["category"], m["source_id"], m["series"]) == (
            "KNOWN", "match", e.category, e.source_id, e.series,
        )  # fmt: skip
        assert m["threshold"] == 31 and m["variant"] == "original"
    md5 = next(e.md5 for e in entries if e.md5)
    assert "KNOWN" in api.get("/m/lookup", params={"signal_type": "md5", "signal": md5}).json()


def test_a_bank_made_by_the_api_is_a_verisight_bank(api: Api, case: Case) -> None:
    api.post("/c/banks", json={"name": "FROM_API"})
    pdq = api.add_photo("FROM_API", 5, metadata='{"content_id": "m-5"}')["signals"]["pdq"]
    listed = [json.loads(line) for line in _cli(case, "bank", "list", "--json").splitlines()]
    assert any(b.get("name", b.get("bank")) == "FROM_API" for b in listed)
    vics = json.loads(_cli(case, "bank", "export", "FROM_API", "--format", "vics"))
    assert pdq in json.dumps(vics) and "m-5" in json.dumps(vics)
    hits = _cli(case, "lookup", "--pdq", pdq, "--json") if _has_pdq_option() else ""
    if hits:
        assert "FROM_API" in hits


def _has_pdq_option() -> bool:
    return "--pdq" in runner.invoke(cli, ["lookup", "--help"]).stdout


def test_thresholds_and_negative_banks_as_in_match(api: Api, case: Case, tmp_path: Path) -> None:
    base = "a5" * 32

    def bank(name: str, pdq: str, *extra: str) -> None:
        f = tmp_path / f"{name}.json"
        buf = io.StringIO()
        write_bank([BankEntry(pdq=pdq, label=name.lower())], buf, "vics")
        f.write_text(buf.getvalue())
        _cli(case, "bank", "import", str(f), "--name", name, *extra)

    bank("STRICT", base, "--threshold", "4")
    bank("LOOSE", _flip(base, 1))
    other = "3c" * 32
    bank("ALLOW", other, "--kind", "negative")
    bank("HIDDEN", _flip(other, 2))
    api.refresh()
    q_near, q_mid, q_allowed = _flip(base, 3), _flip(base, 10), _flip(other, 1)
    r = api.post("/m/lookup/batch", json={"signals": [q_near, q_mid, q_allowed]}).json()
    near, mid, allowed = r["results"]
    assert {(m["bank"], m["threshold"]) for m in near["matches"]} == {("STRICT", 4), ("LOOSE", 31)}
    assert [m["bank"] for m in mid["matches"]] == ["LOOSE"]  # 10 > STRICT's 4
    assert [m["bank"] for m in allowed["matches"]] == ["ALLOW"]  # HIDDEN suppressed
    assert allowed["suppressed_by_negative_bank"] is True
    assert not near["suppressed_by_negative_bank"]
    # HMA's lookup applies the same rules
    hma = api.get("/m/lookup", params={"signal_type": "pdq", "signal": q_allowed}).json()
    assert set(hma) == {"ALLOW"}
    # raw_lookup is the raw index: no negative suppression
    raw = api.get("/m/raw_lookup", params={"signal_type": "pdq", "signal": q_allowed}).json()
    assert len(raw["matches"]) == 2


def test_batch_rotations_and_limits(api: Api) -> None:
    api.post("/c/banks", json={"name": "B"})
    rotated = api.post(
        "/h/hash", params={}, files={"photo": ("x.jpg", _rotated_jpeg(), "image/jpeg")}
    ).json()["pdq"]
    api.post("/c/bank/B/signal", json={"pdq": rotated})
    api.refresh()
    r = api.post("/h/hash", files={"photo": ("x.jpg", _jpeg(), "image/jpeg")})
    from verisight.analysis import analyse_bytes
    from verisight.limits import Limits

    rec = analyse_bytes(_jpeg(), Limits())
    variants = [rec.pdq, *(rec.pdq_variants or ())]
    assert r.json()["pdq"] == rec.pdq
    off = api.post("/m/lookup/batch", json={"signals": [variants]}).json()["results"][0]
    on = api.post("/m/lookup/batch", json={"signals": [variants], "rotations": True}).json()
    assert off["matches"] == []
    (m,) = on["results"][0]["matches"]
    assert m["bank"] == "B" and m["variant"] != "original"
    # the same on HMA's POST /m/lookup with the extension parameter rotations=true
    upright = {"photo": ("x.jpg", _jpeg(), "image/jpeg")}
    assert api.post("/m/lookup", files=upright).json()["pdq"] == {}
    turned = api.post("/m/lookup", params={"rotations": "true"}, files=upright).json()
    assert list(turned["pdq"]) == ["B"]
    too_many = api.post("/m/lookup/batch", json={"signals": ["0" * 64] * 10_001})
    assert too_many.status_code == 400 and "message" in too_many.json()
    bad = api.post("/m/lookup/batch", json={"signals": ["nothex"]})
    assert bad.status_code == 400


def _jpeg() -> bytes:
    from tests.conftest import jpeg_bytes

    return jpeg_bytes(11)


def _rotated_jpeg() -> bytes:
    from PIL import Image

    im = Image.open(io.BytesIO(_jpeg())).transpose(Image.Transpose.ROTATE_90)
    out = io.BytesIO()
    im.save(out, "JPEG", quality=95)
    return out.getvalue()
