"""Uniform frames (screenshot borders, letterboxes): the scan hashes the content inside them
(``pdq_trimmed``), and clustering and bank matching use that hash too."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from tests.media.images import scene
from verisight.analysis import analyse_bytes
from verisight.analysis.pdq import MATCH_DISTANCE, frame_box, hamming
from verisight.case import Case, media_json
from verisight.clustering import update_clusters
from verisight.limits import Limits
from verisight.store.clusters import ClusterStore


def _jpeg(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def _base(seed: int = 0) -> Image.Image:
    return scene(480, 360, seed)


def _bordered(im: Image.Image) -> Image.Image:
    """A 10 % light-grey border on the top and left sides."""
    w, h = im.size
    out = Image.new("RGB", (w + w // 10, h + h // 10), (230, 230, 230))
    out.paste(im, (w // 10, h // 10))
    return out


def _letterboxed(im: Image.Image) -> Image.Image:
    """Black bars above and below (a quarter of the height each)."""
    w, h = im.size
    out = Image.new("RGB", (w, h + h // 2), (0, 0, 0))
    out.paste(im, (0, h // 4))
    return out


def _dark_noisy_edges(im: Image.Image, seed: int = 0) -> Image.Image:
    """The top and bottom 10 % replaced by dark but busy pixels (not a uniform frame)."""
    arr = np.asarray(im).copy()
    rng = np.random.default_rng(seed)
    band = arr.shape[0] // 10
    arr[:band] = rng.integers(0, 70, (band, arr.shape[1], 3))
    arr[-band:] = rng.integers(0, 70, (band, arr.shape[1], 3))
    return Image.fromarray(arr)


def test_frame_box_finds_borders_on_some_sides() -> None:
    base = np.asarray(_base())
    assert frame_box(base) is None
    h, w = base.shape[:2]
    framed = np.zeros((h + 40, w + 30, 3), np.uint8)
    framed[...] = (200, 10, 10)
    framed[40:, 10 : 10 + w] = base
    assert frame_box(framed) == (40, h + 40, 10, 10 + w)


def test_blank_and_tiny_images_are_not_trimmed() -> None:
    assert frame_box(np.full((100, 100, 3), 128, np.uint8)) is None
    small = np.zeros((40, 40, 3), np.uint8)
    small[10:30, 10:30] = np.asarray(_base().resize((20, 20)))
    assert frame_box(small) is None  # the content would be under 32 px per side


def test_borders_and_letterboxes_get_a_trimmed_hash_near_the_original() -> None:
    limits = Limits()
    base = analyse_bytes(_jpeg(_base()), limits)
    assert base.pdq is not None and base.pdq_trimmed is None
    for im in (_bordered(_base()), _letterboxed(_base())):
        rec = analyse_bytes(_jpeg(im), limits)
        assert rec.pdq is not None and rec.pdq_trimmed is not None
        assert hamming(rec.pdq, base.pdq) > MATCH_DISTANCE  # the frame moves the whole hash
        assert hamming(rec.pdq_trimmed, base.pdq) <= 16


def test_dark_but_busy_edges_are_not_trimmed() -> None:
    im = _dark_noisy_edges(_base())
    assert frame_box(np.asarray(im)) is None
    assert analyse_bytes(_jpeg(im), Limits()).pdq_trimmed is None


def _write(folder: Path, images: dict[str, Image.Image]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, im in images.items():
        (folder / name).write_bytes(_jpeg(im))


def test_framed_variants_cluster_with_the_original(tmp_path: Path, database_url: str) -> None:
    src = tmp_path / "src"
    _write(src, {"orig.jpg": _base(), "border.jpg": _bordered(_base()),
                 "letterbox.jpg": _letterboxed(_base()), "other.jpg": _base(7)})  # fmt: skip
    with Case(tmp_path / "case", database_url, create=True) as case:
        case.scan([src], workers=1, cluster=False)
        by_name = {Path(m.sightings[0].path).name: m for m in case.media()}
        assert media_json(by_name["border.jpg"])["pdq_trimmed"] == by_name["border.jpg"].pdq_trimmed
        assert media_json(by_name["orig.jpg"])["pdq_trimmed"] is None
        repo = ClusterStore(case.store.engine)
        update_clusters(repo)
        groups = {
            frozenset(m.sha256 for m in c.members) for c in repo.iter_clusters("near-duplicate")
        }
    same = frozenset(by_name[n].sha256 for n in ("orig.jpg", "border.jpg", "letterbox.jpg"))
    assert groups == {same, frozenset({by_name["other.jpg"].sha256})}


def test_a_framed_variant_joins_an_existing_cluster(tmp_path: Path) -> None:
    _write(tmp_path / "a", {"orig.jpg": _base()})
    _write(tmp_path / "b", {"border.jpg": _bordered(_base())})
    with Case(tmp_path / "case", create=True) as case:
        repo = ClusterStore(case.store.engine)
        case.scan([tmp_path / "a"], workers=1, cluster=False)
        update_clusters(repo)
        case.scan([tmp_path / "b"], workers=1, cluster=False)
        summary = update_clusters(repo)
        assert summary.joined_existing == 1 and summary.near_duplicate_clusters == 1
        (cluster,) = repo.iter_clusters("near-duplicate")
        assert cluster.members[1].distance <= 16


def test_bank_matching_searches_the_trimmed_hash(tmp_path: Path) -> None:
    _write(tmp_path / "src", {"orig.jpg": _base(), "border.jpg": _bordered(_base())})
    with Case(tmp_path / "case", create=True) as case:
        case.scan([tmp_path / "src"], workers=1, cluster=False)
        by_name = {Path(m.sightings[0].path).name: m for m in case.media()}
        (tmp_path / "b.txt").write_text(f"pdq {by_name['orig.jpg'].pdq}\n")
        case.banking.import_file(tmp_path / "b.txt", "b")
        summary = case.banking.match()
        assert summary.media_matched == 2
        framed = [
            m for m in case.banking.matches() if m.media_sha256 == by_name["border.jpg"].sha256
        ]
        assert [m.variant for m in framed] == ["trimmed"]
