"""``verisight cluster grids``: luma grids for media scanned before scans kept them, re-read from
their originals (loose files and archive members, checked by SHA-256), so that new crops of
old pictures join their clusters (verisight.backfill)."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import text
from typer.testing import CliRunner

from verisight.backfill import backfill_grids
from verisight.case import Case
from verisight.cli import app
from verisight.clustering import update_clusters
from verisight.clustering.crops import CROP
from verisight.demo import scene
from verisight.limits import Limits
from verisight.sources import Item
from verisight.sources.originals import Place, read_originals
from verisight.store.clusters import ClusterStore

runner = CliRunner()


def _jpeg(im: Image.Image, quality: int = 88) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _crop(im: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    w, h = im.size
    return im.crop(
        (round(w * left), round(h * top), round(w * (1 - right)), round(h * (1 - bottom)))
    )


def _old_case(case: Case) -> dict[str, bytes]:
    """Forget the case's luma grids, as in a case scanned before they were kept; returns
    them as they were."""
    with case.store.engine.begin() as conn:
        grids = {
            r.sha256: bytes(r.grid)
            for r in conn.execute(text("SELECT sha256, grid FROM media_luma"))
        }
        conn.execute(text("DELETE FROM media_luma"))
    return grids


def _collection(root: Path) -> dict[str, Path]:
    """Loose pictures and a zip of two more, one of them inside a nested zip."""
    loose = root / "loose"
    loose.mkdir(parents=True)
    files = {}
    for i in range(2):
        files[f"loose{i}"] = loose / f"pic{i}.jpg"
        files[f"loose{i}"].write_bytes(_jpeg(scene(60 + i, (640, 480))))
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("deep.jpg", _jpeg(scene(62, (640, 480))))
    with zipfile.ZipFile(root / "posts.zip", "w") as z:
        z.writestr("a/member.jpg", _jpeg(scene(63, (640, 480))))
        z.writestr("nested.zip", inner.getvalue())
        z.writestr("notes.txt", b"not an image")
    files["zip"] = root / "posts.zip"
    return files


def test_backfill_recomputes_every_grid_exactly_from_files_and_archive_members(
    tmp_path: Path, database_url: str
) -> None:
    _collection(tmp_path / "src")
    with Case(tmp_path / "case", database_url, create=True) as case:
        case.scan([tmp_path / "src"], workers=1, cluster=False)
        before = _old_case(case)
        assert len(before) == 4
        repo = ClusterStore(case.store.engine)
        assert set(repo.media_without_grids()) == set(before)
        done = backfill_grids(repo)
        assert (done.missing, done.computed, done.failed) == (4, 4, ())
        assert repo.luma_grids(sorted(before)) == before  # byte for byte what the scan kept
        assert not repo.media_without_grids()
        again = backfill_grids(repo)
        assert (again.missing, again.computed) == (0, 0)


def test_what_cannot_be_reread_is_reported_with_the_reason_and_retried_later(
    tmp_path: Path, database_url: str
) -> None:
    files = _collection(tmp_path / "src")
    with Case(tmp_path / "case", database_url, create=True) as case:
        case.scan([tmp_path / "src"], workers=1, cluster=False)
        before = _old_case(case)
        files["loose0"].unlink()
        files["loose1"].write_bytes(_jpeg(scene(99, (640, 480))))  # changed since the scan
        saved = files["zip"].read_bytes()
        files["zip"].unlink()
        repo = ClusterStore(case.store.engine)
        done = backfill_grids(repo)
        assert (done.missing, done.computed, len(done.failed)) == (4, 0, 4)
        why = " | ".join(r for _, r in done.failed)
        assert "pic0.jpg: cannot read" in why
        assert "pic1.jpg: content changed since the scan" in why
        assert "posts.zip is gone" in why
        files["zip"].write_bytes(saved)  # the archive is back: only those are retried
        later = backfill_grids(repo)
        assert (later.missing, later.computed, len(later.failed)) == (4, 2, 2)
        assert len(repo.luma_grids(sorted(before))) == 2


def test_read_originals_walks_each_container_once_and_checks_every_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = {name: _jpeg(scene(70 + i, (160, 120))) for i, name in enumerate("abc")}
    with zipfile.ZipFile(tmp_path / "x.zip", "w") as z:
        for name, d in data.items():
            z.writestr(f"{name}.jpg", d)
    sha = {n: hashlib.sha256(d).hexdigest() for n, d in data.items()}
    zipped = tmp_path / "x.zip"
    loc = {name: next(x for x in _locators(zipped) if x.endswith(f"{name}.jpg")) for name in "abc"}
    wanted = {
        sha["a"]: [Place(zipped, loc["a"], 1, "x.zip#a.jpg")],
        sha["b"]: [Place(tmp_path / "gone.jpg", "gone.jpg", 0, "gone.jpg"),
                   Place(zipped, loc["b"], 1, "x.zip#b.jpg")],
        "0" * 64: [Place(zipped, loc["c"], 1, "x.zip#c.jpg")],  # not the content there
        "1" * 64: [Place(zipped, loc["c"] + "-missing", 1, "x.zip#missing.jpg")],
    }  # fmt: skip
    import verisight.sources.originals as originals
    from verisight.sources import iter_items

    walks: list[list[Path]] = []

    def counted(roots: list[Path], limits: Limits) -> Iterator[Item]:
        walks.append(list(roots))
        return iter_items(roots, limits)

    monkeypatch.setattr(originals, "iter_items", counted)
    got = {o.sha256: o for o in read_originals(wanted)}
    assert walks == [[zipped]]  # one walk for the four members wanted from it
    assert set(got) == set(wanted)
    assert got[sha["a"]].data == data["a"] and got[sha["b"]].data == data["b"]
    assert "gone.jpg: cannot read" not in got[sha["b"]].how  # found: the reason is where
    assert got[sha["b"]].how == "re-read from x.zip#b.jpg"
    assert got["0" * 64].data is None and "content changed" in got["0" * 64].how
    assert got["1" * 64].data is None and "not found again in" in got["1" * 64].how


def _locators(path: Path) -> list[str]:
    from verisight.sources import iter_items

    return [i.provenance.locator for i in iter_items([path], Limits())]


def test_after_a_backfill_a_new_crop_joins_an_old_picture(
    tmp_path: Path, database_url: str
) -> None:
    im = scene(81, (640, 480))
    old, new1, new2 = tmp_path / "old", tmp_path / "new1", tmp_path / "new2"
    for folder in (old, new1, new2):
        folder.mkdir()
    (old / "orig.jpg").write_bytes(_jpeg(im, 90))
    (new1 / "crop1.jpg").write_bytes(_jpeg(_crop(im, 0.08, 0.0, 0.0, 0.06)))
    (new2 / "crop2.jpg").write_bytes(_jpeg(_crop(im, 0.0, 0.07, 0.05, 0.0)))
    with Case(tmp_path / "case", database_url, create=True) as case:
        repo = ClusterStore(case.store.engine)
        case.scan([old], workers=1, cluster=False)
        _old_case(case)
        update_clusters(repo)
        case.scan([new1], workers=1, cluster=False)
        assert update_clusters(repo).crop_matches == 0  # the old picture has no grid
        assert backfill_grids(repo).computed == 1
        case.scan([new2], workers=1, cluster=False)
        summary = update_clusters(repo)
        assert summary.crop_matches == 1 and summary.joined_existing == 1
        (big,) = [c for c in repo.iter_clusters("near-duplicate") if len(c.members) > 1]
    assert [m.match for m in big.members] == [None, CROP]


def test_cli_cluster_grids(tmp_path: Path) -> None:
    files = _collection(tmp_path / "src")
    case_dir = tmp_path / "case"
    res = runner.invoke(
        app,
        ["scan", str(tmp_path / "src"), "--case", str(case_dir), "--workers", "1", "--no-cluster"],
    )
    assert res.exit_code == 0, res.output
    with Case(case_dir) as case:
        _old_case(case)
    files["loose0"].unlink()
    res = runner.invoke(app, ["cluster", "grids", "--case", str(case_dir), "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert report["missing"] == 4 and report["computed"] == 3
    assert [f["reason"].split(": ")[1] for f in report["failed"]] == [
        "cannot read (No such file or directory)"
    ]
    res = runner.invoke(app, ["cluster", "grids", "--case", str(case_dir)])
    assert res.exit_code == 0
    assert (
        "1 media had no luma grid: 0 computed from their originals, 1 left without one"
        in res.output
    )
