"""The `verisight` command as a user drives it: JSON shapes, exit codes, documented options."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.conftest import write_images
from verisight.cli import app

runner = CliRunner()

MEDIA_KEYS = {
    "sha256", "md5", "sha1", "size", "mime", "width", "height", "pdq", "pdq_quality",
    "exif_orientation", "camera", "error", "sightings",
}  # fmt: skip


def _scan(src: Path, case: Path, *extra: str) -> dict[str, object]:
    res = runner.invoke(
        app, ["scan", str(src), "--case", str(case), "--workers", "1", "--json", *extra]
    )
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)  # type: ignore[no-any-return]


def test_scan_json_summary_and_media_list(tmp_path: Path) -> None:
    write_images(tmp_path / "src", 3)
    (tmp_path / "src" / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0garbage")
    summary = _scan(tmp_path / "src", tmp_path / "case")
    assert {
        "seen", "analysed", "failed", "skipped", "distinct_media", "duplicate_sightings",
        "by_type", "errors_by_reason", "case",
    } <= summary.keys()  # fmt: skip
    assert summary["seen"] == 4 and summary["failed"] == 1
    res = runner.invoke(app, ["media", "list", "--case", str(tmp_path / "case"), "--json"])
    assert res.exit_code == 0
    objs = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(objs) == 4
    for o in objs:
        assert o.keys() >= MEDIA_KEYS
        assert o["sightings"] and {"path", "url", "captured_at"} <= o["sightings"][0].keys()
    bad = [o for o in objs if o["error"]]
    assert len(bad) == 1 and bad[0]["pdq"] is None
    assert bad[0]["error_reason"] in {"truncated", "corrupt-image"}
    good = [o for o in objs if not o["error"]]
    assert all(len(o["pdq"]) == 64 and o["width"] == 320 for o in good)


def test_media_show_by_prefix_and_errors(tmp_path: Path) -> None:
    write_images(tmp_path / "src", 1)
    _scan(tmp_path / "src", tmp_path / "case")
    listed = runner.invoke(app, ["media", "list", "--case", str(tmp_path / "case"), "--json"])
    sha = json.loads(listed.stdout.splitlines()[0])["sha256"]
    shown = runner.invoke(app, ["media", "show", sha[:12], "--case", str(tmp_path / "case")])
    assert shown.exit_code == 0 and sha in shown.stdout and "img-0000.jpg" in shown.stdout
    missing = runner.invoke(app, ["media", "show", "0" * 64, "--case", str(tmp_path / "case")])
    assert missing.exit_code == 1 and "no media" in missing.output
    nocase = runner.invoke(app, ["media", "list", "--case", str(tmp_path / "nope")])
    assert nocase.exit_code == 1 and "no case" in nocase.output
    assert not (tmp_path / "nope").exists()
    nopath = runner.invoke(app, ["scan", str(tmp_path / "missing"), "--case", str(tmp_path / "c")])
    assert nopath.exit_code == 2 and "no such file" in nopath.output


def test_sightings_list_shows_failures(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "empty.jpg").write_bytes(b"")
    _scan(src, tmp_path / "case")
    res = runner.invoke(
        app, ["sightings", "list", "--status", "failed", "--case", str(tmp_path / "case"), "--json"]
    )
    (row,) = [json.loads(x) for x in res.stdout.splitlines()]
    assert row["reason"] == "empty-file" and row["path"].endswith("empty.jpg")
