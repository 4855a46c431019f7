"""Clusters in a case database (SQLite and PostgreSQL) and the ``verisight cluster`` command."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

from tests.clustering.helpers import distance, flip_bits, hexof, noisy, random_hash, sha
from tests.conftest import jpeg_bytes
from verisight.cli import app
from verisight.clustering import ClusterParams, update_clusters
from verisight.demo import scene
from verisight.store import Store
from verisight.store.clusters import ClusterMember, ClusterStore
from verisight.store.schema import Media

runner = CliRunner()


def add_media(store: Store, rows: list[dict[str, object]]) -> None:
    base = {"md5": "0" * 32, "sha1": "0" * 40, "size": 1, "mime": "image/jpeg", "kind": "image",
            "generator_model": None, "generator_seed": None, "generator_prompt": None}  # fmt: skip
    with store.engine.begin() as conn:
        conn.execute(insert(Media.__table__), [{**base, **r} for r in rows])


def test_build_then_update_incrementally(database_url: str) -> None:
    rng = np.random.default_rng(11)
    bases = [random_hash(rng) for _ in range(4)]
    rows: list[dict[str, object]] = [
        {"sha256": sha(f"b{b}v{v}"), "pdq": hexof(noisy(h, rng, 6)), "pdq_quality": 100}
        for b, h in enumerate(bases)
        for v in range(3)
    ]
    rows += [
        {"sha256": sha("low"), "pdq": hexof(bases[0]), "pdq_quality": 20},
        {"sha256": sha("nopdq"), "pdq": None, "pdq_quality": None},
        {"sha256": sha("gen1"), "pdq": hexof(random_hash(rng)), "pdq_quality": 90,
         "generator_model": "m", "generator_seed": "1"},
        {"sha256": sha("gen2"), "pdq": hexof(random_hash(rng)), "pdq_quality": 90,
         "generator_model": "m", "generator_seed": "1"},
    ]  # fmt: skip
    store = Store.open(database_url)
    try:
        add_media(store, rows)
        repo = ClusterStore(store.engine)
        first = update_clusters(repo)
        assert (first.new_media, first.new_clusters, first.singletons) == (16, 6, 2)
        assert first.near_duplicate_clusters == 8 and first.series == 1
        clusters = list(repo.iter_clusters("near-duplicate"))
        pdq = {str(r["sha256"]): r["pdq"] for r in rows}
        members = [m.sha256 for c in clusters for m in c.members]
        assert sorted(members) == sorted(pdq)  # every media exactly once
        for c in clusters:
            assert c.members[0].sha256 == c.representative
            for m in c.members:
                if c.reason is None:
                    assert m.distance == distance(str(pdq[c.representative]), str(pdq[m.sha256]))
        reasons = {c.representative: c.reason for c in clusters if c.reason}
        assert reasons == {sha("low"): "low-quality", sha("nopdq"): "no-pdq"}
        (series,) = repo.iter_clusters("series")
        assert {m.sha256 for m in series.members} == {sha("gen1"), sha("gen2")}
        assert series.to_json()["basis"] == ["seed"]

        # a later scan: one new variant joins its existing cluster, a new image forms its own
        target = next(c for c in clusters if c.reason is None and len(c.members) == 3)
        rep_pdq = str(pdq[target.representative])
        rep_hash = np.frombuffer(bytes.fromhex(rep_pdq), np.uint8)
        add_media(
            store,
            [
                {
                    "sha256": sha("late"),
                    "pdq": hexof(flip_bits(rep_hash, [3, 9])),
                    "pdq_quality": 80,
                },
                {"sha256": sha("new"), "pdq": hexof(random_hash(rng)), "pdq_quality": 80},
            ],
        )
        second = update_clusters(repo)
        assert (second.new_media, second.joined_existing, second.new_clusters) == (2, 1, 1)
        after = repo.get_cluster(target.id)
        assert {m.sha256 for m in after.members} == {m.sha256 for m in target.members} | {
            sha("late")
        }
        assert {m.sha256: m.distance for m in after.members}[sha("late")] == 2
        # earlier clusters are untouched
        for c in clusters:
            if c.id != target.id:
                assert repo.get_cluster(c.id).members == c.members
        third = update_clusters(repo)  # nothing new: nothing changes
        assert third.new_media == 0 and third.near_duplicate_clusters == 9
        assert [c.id for c in repo.clusters_of(sha("gen1"))] != []
        # the database refuses a media in two near-duplicate clusters
        with pytest.raises(IntegrityError), store.engine.begin() as conn:
            conn.execute(
                insert(ClusterMember.__table__),
                [{"cluster_id": clusters[0].id, "kind": "near-duplicate",
                  "media_sha256": sha("new"), "distance": 0,
                  "added_at": clusters[0].created_at}],
            )  # fmt: skip
    finally:
        store.close()


def _variants(seed: int) -> list[bytes]:
    img = scene(seed, (480, 360))
    out = []
    for q in (95, 70, 50):
        out.append(jpeg_bytes(seed, (480, 360), q))
    buf = io.BytesIO()
    img.resize((360, 270)).save(buf, "JPEG", quality=85)
    out.append(buf.getvalue())
    return out


def test_cli_clusters_scanned_variants(tmp_path: Path, database_url: str) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for seed in (1, 2, 3):
        for i, data in enumerate(_variants(seed)):
            (src / f"s{seed}-{i}.jpg").write_bytes(data)
    case = str(tmp_path / "case")
    db = ["--database-url", database_url]
    res = runner.invoke(
        app, ["scan", str(src), "--case", case, "--workers", "1", "--no-cluster", *db]
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["cluster", "--case", case, *db, "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["new_media"] == 12 and summary["near_duplicate_clusters"] == 3
    res = runner.invoke(app, ["cluster", "list", "--case", case, *db, "--json"])
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    assert len(lines) == 3
    for obj in lines:
        assert {"cluster", "kind", "representative", "members"} <= obj.keys()
        assert obj["kind"] == "near-duplicate" and len(obj["members"]) == 4
        assert obj["members"][0] == obj["representative"]
    shown = runner.invoke(app, ["cluster", "show", str(lines[0]["cluster"]), "--case", case, *db])
    assert shown.exit_code == 0 and "representative" in shown.stdout
    again = runner.invoke(app, ["cluster", "--case", case, *db, "--json"])
    assert json.loads(again.stdout)["new_media"] == 0
    listed = runner.invoke(app, ["cluster", "list", "--case", case, *db])
    assert listed.exit_code == 0 and "near-duplicate" in listed.stdout


def test_cli_errors(tmp_path: Path) -> None:
    nocase = runner.invoke(app, ["cluster", "--case", str(tmp_path / "nope")])
    assert nocase.exit_code == 1 and "no case" in nocase.output
    (tmp_path / "c").mkdir()
    bad = runner.invoke(app, ["cluster", "--case", str(tmp_path / "c"), "--threshold", "999"])
    assert bad.exit_code == 2 and "threshold" in bad.output
    missing = runner.invoke(app, ["cluster", "show", "42", "--case", str(tmp_path / "c")])
    assert missing.exit_code == 2 and "no cluster 42" in missing.output
    kind = runner.invoke(app, ["cluster", "list", "--kind", "x", "--case", str(tmp_path / "c")])
    assert kind.exit_code == 2
    assert ClusterParams().threshold == 31


def test_scan_clusters_incrementally_unless_told_not_to(tmp_path: Path, database_url: str) -> None:
    src, more = tmp_path / "src", tmp_path / "more"
    src.mkdir()
    more.mkdir()
    for i, data in enumerate(_variants(1)):
        (src / f"s1-{i}.jpg").write_bytes(data)
    variants = _variants(2)
    for i, data in enumerate(variants[:2]):
        (more / f"s2-{i}.jpg").write_bytes(data)
    case = str(tmp_path / "case")
    db = ["--database-url", database_url, "--workers", "1", "--json"]
    first = json.loads(runner.invoke(app, ["scan", str(src), "--case", case, *db]).stdout)
    assert first["clustering"]["new_media"] == 4
    assert first["clustering"]["near_duplicate_clusters"] == 1
    # --no-cluster leaves the new media for later; the next scan (or `cluster`) takes them
    skipped = runner.invoke(app, ["scan", str(more), "--case", case, "--no-cluster", *db])
    assert json.loads(skipped.stdout)["clustering"] is None
    (more / "s2-late.jpg").write_bytes(variants[2])
    late = json.loads(runner.invoke(app, ["scan", str(more), "--case", case, *db]).stdout)
    assert late["clustering"]["new_media"] == 3 and late["clustering"]["new_clusters"] == 1
    assert (
        json.loads(runner.invoke(app, ["cluster", "--case", case, *db[:2], "--json"]).stdout)[
            "new_media"
        ]
        == 0
    )
    # the human summary says what clustering did
    text = runner.invoke(app, ["scan", str(src), "--case", case, *db[:4]]).stdout
    assert "clustered 0 new media: 0 joined existing clusters, 0 new clusters" in text
