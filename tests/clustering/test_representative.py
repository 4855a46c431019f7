"""The best copy represents a cluster, only where every member stays within the threshold of it
(docs/clustering.md)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from tests.clustering.helpers import flip_bits, hexof, random_hash, sha
from verisight.cli import app
from verisight.clustering.representative import Copy, RepresentativeRule, best_copy, rebase
from verisight.demo import build_demo_collection

runner = CliRunner()


def copies() -> tuple[list[Copy], np.ndarray]:
    base = random_hash(np.random.default_rng(3))
    small = Copy(sha("small"), hexof(base), 100, 320, 240, "JPEG", 10_000)
    big = Copy(sha("big"), hexof(flip_bits(base, list(range(10)))), 100, 640, 480, "JPEG", 30_000)
    png = Copy(sha("png"), hexof(flip_bits(base, list(range(5)))), 100, 640, 480, "PNG", 90_000)
    q60 = Copy(sha("q60"), hexof(flip_bits(base, [0, 1, 2])), 100, 640, 480, "JPEG", 15_000)
    weak = Copy(sha("weak"), hexof(base), 40, 1280, 960, "JPEG", 99_000)
    return [small, big, png, q60, weak], base


def test_best_copy_prefers_good_hash_then_pixels_then_original_format_then_bytes() -> None:
    cs, _ = copies()
    assert best_copy(cs) == sha("big")  # the poor hash loses despite more pixels
    assert best_copy(cs, RepresentativeRule(min_quality=30)) == sha("weak")
    png_first = RepresentativeRule(formats=("png", "jpeg"))
    assert best_copy(cs, png_first) == sha("png")
    assert RepresentativeRule.from_setting({"min_quality": "x"}) == RepresentativeRule()
    assert RepresentativeRule.from_setting({"formats": ["PNG"], "auto": False}).formats == ("png",)


def test_rebase_keeps_every_member_within_the_threshold_or_says_why() -> None:
    cs, base = copies()
    r = rebase(cs, sha("big"), 31)
    assert r.refused is None and r.distances[sha("big")] == 0
    assert r.distances[sha("small")] == 10 and max(r.distances.values()) <= 31
    far = Copy(sha("far"), hexof(flip_bits(base, list(range(200, 230)))), 100, 64, 64, "PNG")
    # `far` is 30 from `small` (a member) but 40 from `big`: `big` may not represent it
    refused = rebase([*cs, far], sha("big"), 31)
    assert refused.refused and "beyond the threshold" in refused.refused
    crop = Copy(sha("crop"), hexof(base), 100, 600, 450, "JPEG", match="crop")
    no_grid = rebase([*cs, crop], sha("big"), 31)
    assert no_grid.refused and "crop" in no_grid.refused
    assert rebase(cs, sha("nobody"), 31).refused == "not a member of this cluster"


def test_scans_choose_the_original_as_representative(tmp_path: Path, database_url: str) -> None:
    build_demo_collection(tmp_path / "demo")
    case = str(tmp_path / "case")
    db = ["--database-url", database_url]
    res = runner.invoke(app, ["scan", str(tmp_path / "demo"), "--case", case, "-w", "1", *db])
    assert res.exit_code == 0, res.output
    listed = runner.invoke(app, ["cluster", "list", "--case", case, *db, "--json"]).stdout
    clusters = [json.loads(x) for x in listed.splitlines()]
    shown = {}
    for c in clusters:
        if len(c["members"]) > 1 and c["kind"] == "near-duplicate":
            assert max(d for d in c["distances"] if d is not None) <= c["threshold"]
            media = json.loads(
                runner.invoke(
                    app, ["media", "show", c["representative"], "--case", case, *db, "--json"]
                ).stdout
            )
            shown[c["cluster"]] = media["sightings"][0]["path"]
    scene01 = [p for p in shown.values() if "scene-01" in p]
    assert scene01 == [str(tmp_path / "demo" / "photos" / "scene-01.jpg")], shown
