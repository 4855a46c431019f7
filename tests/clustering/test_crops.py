"""Crops: a media showing part of another joins its cluster only when its PDQ is within the
threshold of the PDQ of the matching window of the representative (verisight.clustering.crops)."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from verisight.analysis import analyse_bytes
from verisight.analysis.luma import (
    GRID_SIDE,
    KEY_BYTES,
    grid_array,
    layout_key,
    layout_keys_of,
    luma_grid,
)
from verisight.case import Case
from verisight.cli import app
from verisight.clustering import Candidate, ClusterPlan, update_clusters
from verisight.clustering.crops import CROP, crop_match, plan_crops
from verisight.clustering.near_duplicates import Member, NearDuplicateCluster, plan_update
from verisight.demo import scene
from verisight.limits import Limits
from verisight.store.clusters import ClusterStore

runner = CliRunner()

#: Fractions cut from (left, top, right, bottom): one side, all sides, uneven, two sides.
CROPS = [
    (0.10, 0, 0, 0),
    (0, 0, 0.10, 0.10),
    (0.05, 0.05, 0.05, 0.05),
    (0.02, 0.08, 0.07, 0.01),
    (0, 0.10, 0, 0),
]


def _jpeg(im: Image.Image, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _crop(im: Image.Image, cut: tuple[float, float, float, float]) -> Image.Image:
    w, h = im.size
    left, top, right, bottom = cut
    return im.crop(
        (round(w * left), round(h * top), round(w * (1 - right)), round(h * (1 - bottom)))
    )


def _grid(data: bytes) -> bytes:
    return luma_grid(Image.open(io.BytesIO(data)).convert("RGB"))


def _candidate(data: bytes) -> tuple[Candidate, bytes]:
    rec = analyse_bytes(data, Limits())
    assert rec.pdq is not None and rec.luma_grid is not None
    key = layout_key(rec.luma_grid)
    cand = Candidate(rec.sha256, rec.pdq, rec.pdq_quality, rec.pdq_variants or (), None, key)
    return cand, rec.luma_grid


def test_grid_and_key_shapes() -> None:
    grid = _grid(_jpeg(scene(1, (640, 480))))
    assert len(grid) == GRID_SIDE * GRID_SIDE and len(layout_key(grid)) == KEY_BYTES
    assert grid_array(grid).shape == (GRID_SIDE, GRID_SIDE)
    with pytest.raises(ValueError, match="4096 bytes"):
        grid_array(b"\0" * 10)


def test_layout_keys_of_a_batch_are_those_of_each_grid() -> None:
    """The scan computes a batch's keys together (:func:`layout_keys_of`): byte for byte
    the keys of :func:`layout_key`, for real grids and for noise."""
    rng = random.Random(5)
    grids = [_grid(_jpeg(scene(s, (320 + 16 * s, 240)))) for s in range(1, 9)]
    grids += [rng.randbytes(GRID_SIDE * GRID_SIDE) for _ in range(600)]  # arrays of 256
    assert layout_keys_of(grids) == [layout_key(g) for g in grids]
    assert layout_keys_of([]) == []
    with pytest.raises(ValueError, match="4096 bytes"):
        layout_keys_of([grids[0], b"\0" * 10])


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_crops_align_with_their_original_in_either_order(seed: int) -> None:
    im = scene(seed, (640, 480))
    original = _grid(_jpeg(im, 90))
    for cut in CROPS:
        cropped = _grid(_jpeg(_crop(im, cut)))
        d1, d2 = crop_match(original, cropped), crop_match(cropped, original)
        assert d1 is not None and d1 <= 31, cut
        assert d1 == d2


@pytest.mark.parametrize("seed", [14, 15])
def test_mirrored_crops_align_with_their_original(seed: int) -> None:
    from PIL import ImageOps

    im = scene(seed, (640, 480))
    original = _grid(_jpeg(im, 90))
    for cut in CROPS:
        flipped = _grid(_jpeg(ImageOps.mirror(_crop(im, cut))))
        d1, d2 = crop_match(original, flipped), crop_match(flipped, original)
        assert d1 is not None and d1 <= 31, cut
        assert d1 == d2
    # upside down is not a mirror image: not recognised as a crop
    assert crop_match(original, _grid(_jpeg(ImageOps.flip(_crop(im, CROPS[2]))))) is None


def test_different_pictures_never_align() -> None:
    """Not upright, and not mirrored either (``crop_match`` tries both)."""
    pictures = [scene(100 + i, (640, 480)) for i in range(10)]
    grids = [_grid(_jpeg(p)) for p in pictures]
    crops = [_grid(_jpeg(_crop(p, CROPS[i % len(CROPS)]))) for i, p in enumerate(pictures)]
    for i, g in enumerate(grids):
        for j, c in enumerate(crops):
            if i != j:
                assert crop_match(g, c) is None, (i, j)
                assert crop_match(g, grids[j]) is None, (i, j)


def test_plan_gathers_crops_and_pdq_clusters_of_crops_but_not_other_pictures() -> None:
    a, b = scene(21, (640, 480)), scene(22, (640, 480))
    crop_a = _crop(a, (0.08, 0.0, 0.0, 0.06))
    posts = {
        "a": _jpeg(a, 90),
        "a-jpeg": _jpeg(a, 60),
        "a-crop": _jpeg(crop_a, 90),
        "a-crop-jpeg": _jpeg(crop_a, 70),  # PDQ-near "a-crop": the two form a cluster
        "a-crop2": _jpeg(_crop(a, (0.0, 0.1, 0.09, 0.0))),
        "b": _jpeg(b, 90),
        "b-crop": _jpeg(_crop(b, (0.04, 0.04, 0.04, 0.04))),
    }
    pdq_only, plan, name = _plan(posts)
    assert len(pdq_only.new_clusters) > 2  # PDQ alone leaves the crops apart
    groups = {frozenset(name[m.sha256] for m in c.members): c for c in plan.new_clusters}
    assert set(groups) == {
        frozenset({"a", "a-jpeg", "a-crop", "a-crop-jpeg", "a-crop2"}),
        frozenset({"b", "b-crop"}),
    }
    for cluster in groups.values():
        assert "crop" not in name[cluster.representative]  # the container leads
        for m in cluster.members[1:]:
            assert m.distance <= 31
            assert (m.match == CROP) == ("crop" in name[m.sha256])


def test_plan_gathers_mirrored_crops() -> None:
    from PIL import ImageOps

    a, b = scene(23, (640, 480)), scene(24, (640, 480))
    posts = {
        "a": _jpeg(a, 90),
        "a-mirror-crop": _jpeg(ImageOps.mirror(_crop(a, (0.07, 0.02, 0.0, 0.05)))),
        "a-crop": _jpeg(_crop(a, (0.0, 0.0, 0.06, 0.08))),
        "b": _jpeg(b, 90),
        "b-mirror-crop": _jpeg(ImageOps.mirror(_crop(b, (0.03, 0.03, 0.03, 0.03)))),
    }
    pdq_only, plan, name = _plan(posts)
    assert len(pdq_only.new_clusters) == 5  # PDQ alone, flip-aware, leaves them all apart
    groups = {frozenset(name[m.sha256] for m in c.members) for c in plan.new_clusters}
    assert groups == {
        frozenset({"a", "a-mirror-crop", "a-crop"}),
        frozenset({"b", "b-mirror-crop"}),
    }


def test_a_cluster_moves_only_when_every_member_aligns() -> None:
    a, other = scene(31, (640, 480)), scene(32, (640, 480))
    data = {
        "a": _jpeg(a, 90),
        "a-jpeg": _jpeg(a, 60),
        "a-crop": _jpeg(_crop(a, (0.1, 0, 0, 0.05))),
        "other": _jpeg(other),
    }
    cands = {k: _candidate(v) for k, v in data.items()}
    grids = {c.sha256: g for c, g in cands.values()}
    sha = {k: c.sha256 for k, (c, _) in cands.items()}
    leader = NearDuplicateCluster(sha["a"], (Member(sha["a"], 0), Member(sha["a-jpeg"], 4)))
    # a made-up cluster led by the crop with an unrelated member: it must stay whole
    mixed = NearDuplicateCluster(sha["a-crop"], (Member(sha["a-crop"], 0), Member(sha["other"], 9)))
    plan = ClusterPlan((), (leader, mixed))
    out = plan_crops(plan, [c for c, _ in cands.values()], [], lambda s: {x: grids[x] for x in s})
    assert out == plan
    alone = NearDuplicateCluster(sha["a-crop"], (Member(sha["a-crop"], 0),))
    out = plan_crops(
        ClusterPlan((), (leader, alone)),
        [c for c, _ in cands.values()],
        [],
        lambda s: {x: grids[x] for x in s},
    )
    assert len(out.new_clusters) == 1 and out.new_clusters[0].members[-1].match == CROP


def _write(folder: Path, files: dict[str, bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)


def test_scanned_crop_joins_an_existing_cluster(tmp_path: Path, database_url: str) -> None:
    im = scene(41, (640, 480))
    _write(tmp_path / "a", {"orig.jpg": _jpeg(im, 90), "orig2.jpg": _jpeg(im, 70)})
    _write(tmp_path / "b", {"crop.jpg": _jpeg(_crop(im, (0.07, 0.02, 0.0, 0.08)))})
    _write(tmp_path / "b", {"other.jpg": _jpeg(scene(42, (640, 480)))})
    with Case(tmp_path / "case", database_url, create=True) as case:
        repo = ClusterStore(case.store.engine)
        case.scan([tmp_path / "a"], workers=1, cluster=False)
        update_clusters(repo)
        case.scan([tmp_path / "b"], workers=1, cluster=False)
        summary = update_clusters(repo)
        assert summary.joined_existing == 1 and summary.crop_matches == 1
        clusters = list(repo.iter_clusters("near-duplicate"))
    assert sorted(len(c.members) for c in clusters) == [1, 3]
    big = next(c for c in clusters if len(c.members) == 3)
    assert [m.match for m in big.members] == [None, None, CROP]
    assert big.to_json()["matches"] == [None, None, CROP]
    assert big.members[-1].distance is not None and big.members[-1].distance <= 31


def test_cli_crops_switch(tmp_path: Path) -> None:
    im = scene(51, (640, 480))
    _write(tmp_path / "src", {"orig.jpg": _jpeg(im), "crop.jpg": _jpeg(_crop(im, CROPS[2]))})
    counts = {}  # one embedded database per case (``database_url`` would share one)
    for flag in ("--no-crops", "--crops"):
        case = str(tmp_path / f"case{flag}")
        res = runner.invoke(
            app, ["scan", str(tmp_path / "src"), "--case", case, "--workers", "1", "--no-cluster"]
        )
        assert res.exit_code == 0, res.output
        res = runner.invoke(app, ["cluster", "--case", case, flag, "--json"])
        assert res.exit_code == 0, res.output
        counts[flag] = json.loads(res.stdout)
    assert counts["--no-crops"]["near_duplicate_clusters"] == 2
    assert counts["--no-crops"]["crop_matches"] == 0
    assert counts["--crops"]["near_duplicate_clusters"] == 1
    assert counts["--crops"]["crop_matches"] == 1


def test_grids_are_stored_at_scan_time(tmp_path: Path) -> None:
    data = _jpeg(scene(61, (640, 480)))
    _write(tmp_path / "src", {"x.jpg": data, "blank.txt": b"not an image"})
    with Case(tmp_path / "case", create=True) as case:
        case.scan([tmp_path / "src"], workers=1, cluster=False)
        repo = ClusterStore(case.store.engine)
        shas = [m.sha256 for m in case.media()]
        grids = repo.luma_grids(shas)
    rec = analyse_bytes(data, Limits())
    assert list(grids) == [rec.sha256] and grids[rec.sha256] == rec.luma_grid
    assert np.frombuffer(grids[rec.sha256], np.uint8).std() > 5


def test_grid_pdq_is_pdq_bit_for_bit() -> None:
    import pdqhash

    from verisight.clustering.alignment import GridBatch

    rng = np.random.default_rng(0)
    grids = [luma_grid(scene(70 + i, (320, 240))) for i in range(6)]
    grids.append(rng.integers(0, 256, GRID_SIDE * GRID_SIDE, dtype=np.uint8).tobytes())
    loaded = GridBatch({str(i): g for i, g in enumerate(grids)})
    hashes, quality = loaded.hashes(np.arange(len(grids)))
    for g, h, q in zip(grids, hashes, quality, strict=True):
        grey = np.frombuffer(g, np.uint8).reshape(GRID_SIDE, GRID_SIDE)
        bits, ref_q = pdqhash.compute(np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2)))
        assert bytes(h) == bytes(np.packbits(np.asarray(bits, np.uint8)))
        assert int(q) == ref_q


def _faint(im: Image.Image, contrast: float = 0.5) -> Image.Image:
    """A washed-out, slightly blurred copy: the same picture with a weak PDQ (quality < 50)."""
    from PIL import ImageEnhance, ImageFilter

    return ImageEnhance.Contrast(im).enhance(contrast).filter(ImageFilter.GaussianBlur(1.5))


def _plan(posts: dict[str, bytes]) -> tuple[ClusterPlan, ClusterPlan, dict[str, str]]:
    cands, grids, name = [], {}, {}
    for label, data in posts.items():
        cand, grid = _candidate(data)
        cands.append(cand)
        grids[cand.sha256] = grid
        name[cand.sha256] = label
    before = plan_update(cands, [])
    after = plan_crops(before, cands, [], lambda shas: {s: grids[s] for s in shas if s in grids})
    return before, after, name


def test_low_quality_media_may_join_a_good_representative_but_never_lead() -> None:
    a, b = scene(81, (640, 480)), scene(82, (640, 480))
    posts = {
        "a": _jpeg(a, 90),
        "a-faint": _jpeg(_faint(a)),
        "a-faint-crop": _jpeg(_faint(_crop(a, (0.05, 0.0, 0.03, 0.06)))),
        "b-faint": _jpeg(_faint(b)),
        "b-faint2": _jpeg(_faint(b, 0.45)),
    }
    before, after, name = _plan(posts)
    weak = {name[c.representative] for c in before.new_clusters if c.reason == "low-quality"}
    assert weak == {"a-faint", "a-faint-crop", "b-faint", "b-faint2"}
    groups = {frozenset(name[m.sha256] for m in c.members): c.reason for c in after.new_clusters}
    # a's weak copies join a's cluster; b's weak copies have no good representative: alone
    assert groups == {
        frozenset({"a", "a-faint", "a-faint-crop"}): None,
        frozenset({"b-faint"}): "low-quality",
        frozenset({"b-faint2"}): "low-quality",
    }


def test_blank_and_flat_media_never_join() -> None:
    grey = Image.new("RGB", (640, 480), (128, 128, 128))
    ramp = Image.fromarray(
        np.repeat(np.linspace(40, 220, 480, dtype=np.uint8)[:, None, None], 640, axis=1).repeat(
            3, axis=2
        )
    )
    sky = scene(91, (640, 480))
    posts = {"sky": _jpeg(sky), "grey": _jpeg(grey), "ramp": _jpeg(ramp), "sky2": _jpeg(sky, 60)}
    _, after, name = _plan(posts)
    groups = {frozenset(name[m.sha256] for m in c.members) for c in after.new_clusters}
    assert frozenset({"grey"}) in groups and frozenset({"ramp"}) in groups


def _axis_matrix(start: float, size: float, n: int = GRID_SIDE) -> np.ndarray:
    """The linear-interpolation matrix of one axis window, in float64 (a reference)."""
    m = np.zeros((n, n))
    for i in range(n):
        centre = np.float64(start) * n + (i + 0.5) * np.float64(size) - 0.5
        lo = int(min(max(np.floor(centre), 0), n - 2))
        w = min(max(centre - lo, 0.0), 1.0)
        m[i, lo] += 1 - w
        m[i, lo + 1] += w
    return m


@pytest.mark.parametrize("mirror", [False, True])
def test_the_distance_is_meta_pdq_of_the_located_window(mirror: bool) -> None:
    """Recompute the crop distance independently: the window the kernel located, resampled
    here and hashed by Meta's PDQ (``pdqhash``), against Meta's PDQ of the inner grid."""
    import pdqhash
    from PIL import ImageOps

    from verisight.clustering import alignment as al

    im = scene(31, (640, 480))
    cut = _crop(im, (0.06, 0.03, 0.02, 0.07))
    outer, inner = _grid(_jpeg(im, 90)), _grid(_jpeg(ImageOps.mirror(cut) if mirror else cut))
    loaded = al.GridBatch({"outer": outer, "inner": inner})
    bit = al.B_IN_MIRROR_A if mirror else al.B_IN_A
    (best,), _ = loaded.pairs([0], [1], [bit])
    assert best <= 31
    found, windows = np.zeros(1, np.int64), np.zeros((1, 4, 4), np.float32)
    k = al._k()
    k.locate_pairs(
        loaded.full, loaded.half, np.array([0]), np.array([1]), np.array([bit]), al._TABLES,
        found, windows,
    )  # fmt: skip
    assert found[0] == bit
    x0, xs, y0, ys = (float(v) for v in windows[0, 2 if mirror else 0])
    pixels = grid_array(outer).astype(np.float64)
    if mirror:
        pixels = pixels[:, ::-1]
    window = _axis_matrix(y0, ys) @ pixels @ _axis_matrix(x0, xs).T

    def meta(grey: np.ndarray) -> np.ndarray:
        """Meta's PDQ bits of a 64x64 grey image (R = G = B), rounded to 8 bits."""
        rgb = np.repeat(np.clip(np.rint(grey), 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)
        bits, _ = pdqhash.compute(np.ascontiguousarray(rgb))
        return np.asarray(bits, np.uint8)

    reference = int((meta(window) != meta(grid_array(inner))).sum())
    # the kernel hashes the float window; rounding it to 8 bits moves a few median bits
    assert abs(reference - int(best)) <= 6, (reference, best)
    assert reference <= 31


def test_a_damaged_stored_grid_is_left_out_and_the_pass_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    a = scene(25, (640, 480))
    posts = {"a": _jpeg(a, 90), "a-crop": _jpeg(_crop(a, (0.05, 0.0, 0.04, 0.06)))}
    cands, grids = [], {}
    for label, data in posts.items():
        cand, grid = _candidate(data)
        cands.append(cand)
        grids[cand.sha256] = grid if label == "a" else grid[:100]  # a truncated row
    before = plan_update(cands, [])
    with caplog.at_level("WARNING", logger="verisight.clustering.alignment"):
        after = plan_crops(before, cands, [], lambda shas: {s: grids[s] for s in shas})
    assert after == before  # the damaged media is examined as if it had no grid
    assert "luma grids of the wrong size left out" in caplog.text
