"""Hostile uploads get a 4xx with a message and the server stays up; hashing from a URL is
off unless hosts are allowed; metrics count requests by route and status."""

from __future__ import annotations

import io
import zipfile

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Api
from tests.conftest import jpeg_bytes
from tests.media.images import png_claiming
from verisight.api import ApiSettings, create_app
from verisight.case import Case
from verisight.limits import Limits


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("a.txt", "neutral text")
    return out.getvalue()


HOSTILE = {
    "bomb": ("photo", png_claiming(100_000, 100_000), "too large"),
    "pixel-bomb": ("photo", png_claiming(40_000, 40_000), "bomb"),
    "truncated": ("photo", jpeg_bytes(3)[:2000], "truncated"),
    "not-an-image": ("photo", b"plain neutral text, not an image", "not an image"),
    "archive-as-photo": ("photo", _zip(), "not an image"),
    "image-as-video": ("video", jpeg_bytes(3), "not a video"),
    "empty": ("photo", b"", "empty"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_upload_is_a_4xx_and_the_server_stays_up(api: Api, name: str) -> None:
    field, data, _words = HOSTILE[name]
    for path in ("/h/hash", "/m/lookup"):
        r = api.post(path, files={field: ("f.bin", data, "application/octet-stream")})
        assert 400 <= r.status_code < 500, (name, r.status_code, r.text)
        assert r.json()["message"]
    api.post("/c/banks", json={"name": "B"})
    r = api.post("/c/bank/B/content", files={field: ("f.bin", data, "application/octet-stream")})
    assert 400 <= r.status_code < 500
    ok = api.post("/h/hash", files={"photo": ("ok.jpg", jpeg_bytes(1), "image/jpeg")})
    assert ok.status_code == 200


def test_upload_shape_errors(api: Api) -> None:
    assert api.post("/h/hash").json() == {"message": "Missing multipart/form-data file upload"}
    two = [("photo", ("a.jpg", jpeg_bytes(1), "image/jpeg")),
           ("photo", ("b.jpg", jpeg_bytes(2), "image/jpeg"))]  # fmt: skip
    assert api.post("/h/hash", files=two).json() == {"message": "Only one file allowed per request"}
    r = api.post("/h/hash", files={"audio": ("a.jpg", jpeg_bytes(1), "image/jpeg")})
    assert r.json() == {"message": "no such content_type: 'audio'"}
    api.post("/c/banks", json={"name": "B"})
    r = api.post("/c/bank/B/content", files={"photo": ("a.jpg", jpeg_bytes(1), "image/jpeg")},
                 data={"metadata": "{not json"})  # fmt: skip
    assert r.status_code == 400 and "metadata" in r.json()["message"]
    r = api.post("/c/bank/B/content", files={"photo": ("a.jpg", jpeg_bytes(1), "image/jpeg")},
                 data={"note": "x" * 300})  # fmt: skip
    assert r.status_code == 400


def test_oversize_body_is_413(case: Case) -> None:
    key = case.api_keys.create("k", ["hash"]).key
    app = create_app(case, ApiSettings(max_upload_bytes=10_000), follow=False)
    with TestClient(app) as client:
        big = jpeg_bytes(1, size=(1200, 900))
        assert len(big) > 10_000
        r = client.post("/h/hash", files={"photo": ("a.jpg", big, "image/jpeg")},
                        headers={"X-API-Key": key})  # fmt: skip
        assert r.status_code == 413 and "bytes" in r.json()["message"]

        def chunks() -> object:  # no Content-Length: counted while streaming
            yield b'--zz\r\nContent-Disposition: form-data; name="photo"; filename="a"\r\n\r\n'
            for _ in range(20):
                yield b"x" * 1000

        r = client.post("/h/hash", content=chunks(), headers={  # type: ignore[arg-type]
            "X-API-Key": key, "Content-Type": "multipart/form-data; boundary=zz"})  # fmt: skip
        assert r.status_code == 413
        assert client.get("/status").status_code == 200


def test_scan_limits_apply_to_uploads(case: Case) -> None:
    key = case.api_keys.create("k", ["hash"]).key
    settings = ApiSettings(limits=Limits(max_pixels=10_000))
    with TestClient(create_app(case, settings, follow=False)) as client:
        r = client.post("/h/hash", files={"photo": ("a.jpg", jpeg_bytes(1), "image/jpeg")},
                        headers={"X-API-Key": key})  # fmt: skip
        assert r.status_code == 400 and "bomb" in r.json()["message"]


def test_hashing_from_a_url_is_off_by_default(api: Api) -> None:
    for path, params in (
        ("/h/hash", {"url": "http://127.0.0.1:9/x.jpg"}),
        ("/m/lookup", {"url": "http://127.0.0.1:9/x.jpg"}),
    ):
        r = api.get(path, params=params)
        assert r.status_code == 403 and "--url-host" in r.json()["message"]
    api.post("/c/banks", json={"name": "B"})
    r = api.post("/c/bank/B/content", params={"url": "http://127.0.0.1:9/x.jpg"})
    assert r.status_code == 403


def test_url_hosts_are_an_allow_list(case: Case) -> None:
    key = case.api_keys.create("k", ["hash"]).key
    app = create_app(case, ApiSettings(url_hosts=("images.example.org",)), follow=False)
    with TestClient(app) as client:
        r = client.get("/h/hash", params={"url": "http://127.0.0.1/x.jpg"},
                       headers={"X-API-Key": key})  # fmt: skip
        assert r.status_code == 400 and "not an allowed host" in r.json()["message"]
        r = client.get("/h/hash", params={"url": "file:///etc/passwd"},
                       headers={"X-API-Key": key})  # fmt: skip
        assert r.status_code == 400


def test_metrics(api: Api) -> None:
    api.post("/c/banks", json={"name": "B"})
    pdq = api.add_photo("B", 1)["signals"]["pdq"]
    api.get("/m/lookup", params={"signal_type": "pdq", "signal": pdq})
    api.get("/c/bank/NOPE")
    text = api.get("/metrics").text
    assert 'verisight_api_requests_total{method="GET",route="/m/lookup",status="200"} 1.0' in text
    assert 'route="/c/bank/{bank_name}",status="404"' in text
    assert "verisight_api_request_seconds_bucket" in text
    assert "verisight_api_index_size 1.0" in text
    assert "verisight_api_index_age_seconds" in text
    assert 'verisight_api_matches_total{bank="B"} 1.0' in text


def test_url_hashing_when_enabled_fetches_allowed_hosts_only(case: Case, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import functools
    import http.server
    import threading

    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "p.jpg").write_bytes(jpeg_bytes(8))
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "www")
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/p.jpg"
    try:
        key = case.api_keys.create("k", ["hash", "lookup"]).key
        lookup_only = case.api_keys.create("l", ["lookup"]).key
        app = create_app(case, ApiSettings(url_hosts=("127.0.0.1",)), follow=False)
        with TestClient(app) as client:
            r = client.get("/h/hash", params={"url": url}, headers={"X-API-Key": key})
            assert r.status_code == 200, r.text
            direct = client.post("/h/hash", files={"photo": ("p.jpg", jpeg_bytes(8), "image/jpeg")},
                                 headers={"X-API-Key": key})  # fmt: skip
            assert r.json()["pdq"] == direct.json()["pdq"]
            r = client.get("/m/lookup", params={"url": url}, headers={"X-API-Key": key})
            assert r.status_code == 200 and r.json()["pdq"] == {}
            r = client.get("/m/lookup", params={"url": url}, headers={"X-API-Key": lookup_only})
            assert r.status_code == 403
            r = client.get("/h/hash", params={"url": url + "-missing"}, headers={"X-API-Key": key})
            assert r.status_code == 400 and "Failed to fetch" in r.json()["message"]
    finally:
        server.shutdown()
