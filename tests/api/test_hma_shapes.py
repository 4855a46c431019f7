"""Each HMA endpoint's request and response shape, checked against HMA's source.

References are to facebook/ThreatExchange, ``hasher-matcher-actioner/src/OpenMediaMatch/``.
"""

from __future__ import annotations

import time

from tests.api.conftest import Api
from tests.conftest import jpeg_bytes


def test_status_and_site_map(api: Api) -> None:
    # app.py: status() -> "I-AM-ALIVE" 200; status_live(); site_map() a sorted list of rules
    r = api.client.get("/status")
    assert (r.status_code, r.text) == (200, "I-AM-ALIVE")
    assert api.client.get("/status/live").text == "I-AM-ALIVE"
    routes = api.client.get("/site-map").json()
    assert routes == sorted(routes)
    for path in ("/m/lookup", "/h/hash", "/c/banks", "/c/bank/{bank_name}/content/{content_id}",
                 "/openapi.json", "/status"):  # fmt: skip
        assert path in routes
    spec = api.client.get("/openapi.json").json()
    assert "/m/raw_lookup" in spec["paths"]


def test_status_before_the_index_is_loaded(case: object) -> None:
    # app.py: status() -> ("INDEX-NOT-LOADED", 503) until the index cache is ready
    from fastapi.testclient import TestClient

    from verisight.api import create_app

    app = create_app(case, follow=False)  # type: ignore[arg-type]
    client = TestClient(app)  # no lifespan: the index never loaded
    r = client.get("/status")
    assert (r.status_code, r.text) == (503, "INDEX-NOT-LOADED")
    app.state.index.refresh()
    app.state.index.last_refresh = time.time() - 3600  # nothing followed for an hour
    r = client.get("/status")
    assert (r.status_code, r.text) == (503, "INDEX-STALE")
    assert client.get("/status/live").status_code == 200


def test_bank_crud(api: Api) -> None:
    # blueprints/curation.py: banks_index, bank_create (201), bank_show_by_name (404 message),
    # bank_update (PUT name / enabled / enabled_ratio), bank_delete ({"message": "Done"})
    r = api.post("/c/banks", json={"name": "TEST_BANK"})
    assert r.status_code == 201
    assert r.json()["name"] == "TEST_BANK" and r.json()["matching_enabled_ratio"] == 1.0
    assert api.post("/c/banks", json={"name": "TEST_BANK"}).status_code == 403
    assert (
        api.post("/c/banks", json={"name": "OFF", "enabled": False}).json()[
            "matching_enabled_ratio"
        ]
        == 0.0
    )
    names = [b["name"] for b in api.get("/c/banks").json()]
    assert names == ["OFF", "TEST_BANK"]
    r = api.get("/c/bank/NOPE")
    assert r.status_code == 404 and r.json() == {"message": "bank 'NOPE' not found"}
    r = api.put("/c/bank/TEST_BANK", json={"name": "RENAMED", "enabled_ratio": 0.5})
    assert r.status_code == 200
    assert {k: r.json()[k] for k in ("name", "matching_enabled_ratio")} == {
        "name": "RENAMED", "matching_enabled_ratio": 0.5,
    }  # fmt: skip
    assert api.put("/c/bank/NOPE", json={"enabled": True}).status_code == 404
    assert api.delete("/c/bank/RENAMED").json() == {"message": "Done"}
    assert api.get("/c/bank/RENAMED").status_code == 404


def test_content_by_file_and_by_signal(api: Api) -> None:
    # curation.py: bank_add_content -> {"id", "signals"}; metadata & note as form fields;
    # bank_add_as_signals takes {signal_type: value, "note": ...}
    api.post("/c/banks", json={"name": "B"})
    added = api.add_photo("B", 1, metadata='{"content_id": "c-1", "json": {"k": 1}}', note="n1")
    assert set(added) == {"id", "signals"}
    assert len(added["signals"]["pdq"]) == 64 and len(added["signals"]["md5"]) == 32
    r = api.get(f"/c/bank/B/content/{added['id']}", params={"include_signals": "true"})
    body = r.json()
    assert body["id"] == added["id"] and body["disable_until_ts"] == 1
    assert body["bank"] == {"name": "B", "matching_enabled_ratio": 1.0}
    assert body["signals"]["pdq"] == added["signals"]["pdq"]
    assert body["metadata"]["content_id"] == "c-1" and body["metadata"]["json"] == {"k": 1}
    assert body["note"] == "n1"
    # include_metadata=false drops it; without include_signals no signals (HMA pops them)
    plain = api.get(f"/c/bank/B/content/{added['id']}", params={"include_metadata": "false"})
    assert "metadata" not in plain.json() and "signals" not in plain.json()
    r = api.post("/c/bank/B/signal", json={"pdq": "f" * 64, "note": "by hash"})
    assert r.status_code == 200 and r.json()["signals"] == {"pdq": "f" * 64}
    bad = api.post("/c/bank/B/signal", json={"pdq": "xyz"})
    assert bad.status_code == 400 and "message" in bad.json()
    assert api.post("/c/bank/B/signal", json={"nope": "1"}).status_code == 400
    assert api.post("/c/bank/NOPE/signal", json={"pdq": "f" * 64}).status_code == 404
    assert api.get("/c/bank/B/content/999999").status_code == 404
    assert api.delete(f"/c/bank/B/content/{added['id']}").json() == {"deleted": 1}
    assert api.get(f"/c/bank/B/content/{added['id']}").status_code == 404


def test_lookup_shapes_and_disabled_content(api: Api) -> None:
    # matching.py: lookup_get -> {bank: [{"bank_content_id": int, "distance": str}]};
    # raw_lookup -> {"matches": [ids]} or with include_distance the dicts; lookup_post keyed by
    # signal type; bank_update_content's disable_until_ts takes content out of every lookup.
    api.post("/c/banks", json={"name": "B"})
    added = api.add_photo("B", 2)
    pdq, cid = added["signals"]["pdq"], added["id"]
    near = format(int(pdq, 16) ^ 0b111, "064x")  # 3 bits away
    r = api.get("/m/lookup", params={"signal_type": "pdq", "signal": near})
    assert r.json() == {"B": [{"bank_content_id": cid, "distance": "3"}]}
    raw = api.get("/m/raw_lookup", params={"signal_type": "pdq", "signal": pdq})
    assert raw.json() == {"matches": [cid]}
    raw = api.get(
        "/m/raw_lookup",
        params={"signal_type": "pdq", "signal": pdq, "include_distance": "true"},
    )
    assert raw.json() == {"matches": [{"bank_content_id": cid, "distance": "0"}]}
    md5 = api.get("/m/lookup", params={"signal_type": "md5", "signal": added["signals"]["md5"]})
    assert md5.json() == {"B": [{"bank_content_id": cid, "distance": "0"}]}
    post = api.post("/m/lookup", files={"photo": ("x.jpg", jpeg_bytes(2), "image/jpeg")})
    assert post.json()["pdq"] == {"B": [{"bank_content_id": cid, "distance": "0"}]}
    assert api.get("/m/lookup", params={"signal": pdq}).status_code == 400
    assert api.get("/m/lookup", params={"signal_type": "nope", "signal": pdq}).status_code == 400
    other = api.get("/m/lookup", params={"signal_type": "pdq", "signal": pdq, "banks": "X"})
    assert other.json() == {}

    r = api.put(f"/c/bank/B/content/{cid}", json={"disable_until_ts": 0})
    assert r.status_code == 200
    assert set(r.json()) >= {"id", "disable_until_ts", "collab_metadata", "bank"}
    assert r.json()["disable_until_ts"] == 0
    assert api.get("/m/lookup", params={"signal_type": "pdq", "signal": pdq}).json() == {}
    assert api.get("/m/raw_lookup", params={"signal_type": "pdq", "signal": pdq}).json() == {
        "matches": []
    }
    batch = api.post("/m/lookup/batch", json={"signals": [pdq]}).json()
    assert batch["results"][0]["matches"] == []
    until = int(time.time()) + 3600  # disabled for an hour
    api.put(f"/c/bank/B/content/{cid}", json={"disable_until_ts": until})
    assert api.get("/m/lookup", params={"signal_type": "pdq", "signal": pdq}).json() == {}
    api.put(f"/c/bank/B/content/{cid}", json={"disable_until_ts": int(time.time()) - 1})
    assert api.get("/m/lookup", params={"signal_type": "pdq", "signal": pdq}).json() != {}
    assert api.put(f"/c/bank/B/content/{cid}", json={"disable_until_ts": -1}).status_code == 400
    far = int(time.time()) + 6 * 365 * 86400
    assert api.put(f"/c/bank/B/content/{cid}", json={"disable_until_ts": far}).status_code == 400


def test_enabled_ratio_zero_hides_a_bank_unless_bypassed(api: Api) -> None:
    # matching.py lookup(): banks with matching_enabled_ratio < coinflip are left out
    api.post("/c/banks", json={"name": "B", "enabled_ratio": 0.0})
    pdq = api.add_photo("B", 3)["signals"]["pdq"]
    params = {"signal_type": "pdq", "signal": pdq}
    assert api.get("/m/lookup", params=params).json() == {}
    assert "B" in api.get("/m/lookup", params={**params, "bypass_coinflip": "true"}).json()


def test_hash_compare_index_status_signal_types(api: Api) -> None:
    # hashing.py: hash_media_post -> {signal type: hash}; matching.py: compare() ->
    # {"pdq": [match, {"distance": d}]}; index_status() -> {type: {present, built_to, size}}
    r = api.post("/h/hash", files={"photo": ("x.jpg", jpeg_bytes(4), "image/jpeg")})
    assert r.status_code == 200 and len(r.json()["pdq"]) == 64
    a = r.json()["pdq"]
    photo = {"photo": ("x.jpg", jpeg_bytes(4), "image/jpeg")}
    only = api.post("/h/hash", params={"types": "pdq"}, files=photo)  # hashing.py `types`
    assert only.json() == {"pdq": a}
    assert api.post("/h/hash", params={"types": "video_md5"}, files=photo).status_code == 400
    b = format(int(a, 16) ^ 0xFF, "064x")
    assert api.post("/m/compare", json={"pdq": [a, b]}).json() == {"pdq": [True, {"distance": 8}]}
    assert api.post("/m/compare", json={"md5": ["a" * 32, "b" * 32]}).json() == {"md5": [False, {}]}
    assert api.post("/m/compare", json={"pdq": [a]}).status_code == 400
    assert api.post("/m/compare", json=[1]).status_code == 400
    status = api.get("/m/index/status").json()
    assert set(status["pdq"]) == {"present", "built_to", "size"}
    assert api.get("/m/index/status", params={"signal_type": "nope"}).status_code == 400
    types = api.get("/c/signal_type").json()
    assert {"name": "pdq", "enabled_ratio": 1.0} in types
    assert {t["name"] for t in types} >= {"pdq", "video_md5", "md5", "sha1", "sha256", "vpdq"}


def test_vpdq_content_and_lookup(api: Api) -> None:
    # python-threatexchange vpdq: a JSON list of "pdq,quality,timestamp"
    import json

    api.post("/c/banks", json={"name": "V"})
    frames = [format(i * 0x1111111111111111, "064x") for i in range(1, 6)]
    vpdq = json.dumps([f"{h},100,{i}.000" for i, h in enumerate(frames)])
    r = api.post("/c/bank/V/signal", json={"vpdq": vpdq, "video_md5": "a" * 32})
    assert r.status_code == 200, r.text
    cid = r.json()["id"]
    found = api.get("/m/lookup", params={"signal_type": "vpdq", "signal": vpdq}).json()
    assert found["V"][0]["bank_content_id"] == cid
    assert found["V"][0]["distance"] == "100%[100%]"
    shown = api.get(f"/c/bank/V/content/{cid}", params={"include_signals": "true"}).json()
    assert shown["signals"]["video_md5"] == "a" * 32
    assert [f.split(",")[0] for f in json.loads(shown["signals"]["vpdq"])] == frames
    by_md5 = api.get("/m/lookup", params={"signal_type": "video_md5", "signal": "a" * 32})
    assert by_md5.json()["V"][0]["bank_content_id"] == cid
    bad = api.get("/m/lookup", params={"signal_type": "vpdq", "signal": "[1"})
    assert bad.status_code == 400


def test_a_weak_pdq_is_hashed_but_not_matched(api: Api) -> None:
    # as `verisight match`: PDQ hashes below quality 50 are never matched
    import io

    import numpy as np
    from PIL import Image

    noise = np.random.default_rng(0).normal(0, 8, (240, 320, 3))
    buf = io.BytesIO()
    Image.fromarray((128 + noise).clip(0, 255).astype("uint8")).save(buf, "PNG")
    weak = buf.getvalue()
    pdq = api.post("/h/hash", files={"photo": ("w.png", weak, "image/png")}).json()["pdq"]
    api.post("/c/banks", json={"name": "B"})
    api.post("/c/bank/B/signal", json={"pdq": pdq})
    api.refresh()
    assert api.get("/m/lookup", params={"signal_type": "pdq", "signal": pdq}).json() != {}
    found = api.post("/m/lookup", files={"photo": ("w.png", weak, "image/png")}).json()
    assert found["pdq"] == {} and "pdq_quality" not in found


def test_hashes_agree_with_python_threatexchange(api: Api) -> None:
    # HMA hashes with python-threatexchange's signal types: PdqSignal.hash_from_bytes and
    # VideoMD5Signal (the MD5 of the file); our /h/hash answers the same values
    import hashlib

    from threatexchange.signal_type.md5 import VideoMD5Signal
    from threatexchange.signal_type.pdq.signal import PdqSignal

    data = jpeg_bytes(4)
    ours = api.post("/h/hash", files={"photo": ("x.jpg", data, "image/jpeg")}).json()
    theirs = PdqSignal.hash_from_bytes(data)
    assert ours["pdq"] == theirs  # bit for bit
    a, b = ours["pdq"], "0" * 64
    assert api.post("/m/compare", json={"pdq": [a, b]}).json()["pdq"][1] == {
        "distance": PdqSignal.compare_hash(a, b).distance.distance
    }
    assert VideoMD5Signal.get_name() == "video_md5"
    assert ours["md5"] == hashlib.md5(data).hexdigest()
