"""Issue 18: request bodies limited per route before parsing (413), and 500s that still
carry every security header."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import Browser
from verisight.assessment import AssessmentService
from verisight.web import create_app
from verisight.web.app import SECURITY_HEADERS
from verisight.web.limits import LIMITS, limit_for
from verisight.web.server import background


def _untouched(service: AssessmentService) -> bool:
    """The login handler never ran: nothing audited, nothing counted."""
    entries = [e.action for e in service.audit.entries(limit=100)]
    return "login-failed" not in entries and not service.accounts.limiter._failures


def test_declared_length_over_the_limit_is_refused_unread(
    browser: Browser, service: AssessmentService
) -> None:
    r = browser.client.post(
        "/login", content=b"name=x&password=" + b"p" * (LIMITS["/login"] + 1),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert r.status_code == 413
    assert r.headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"]
    assert _untouched(service)


def test_streamed_body_is_cut_off_at_the_limit(
    browser: Browser, service: AssessmentService
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"name=x&password="
        for _ in range(64):
            yield b"p" * 65536

    r = browser.client.post(
        "/login", content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert r.status_code == 413
    assert _untouched(service)


def test_a_real_server_stops_reading_a_huge_chunked_login(service: AssessmentService) -> None:
    """Over a socket: the server answers 413 after the limit instead of swallowing 256 MiB."""
    with background(create_app(service)) as url:
        parts = urlsplit(url)
        sock = socket.create_connection((parts.hostname, parts.port), timeout=20)
        sock.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n\r\n")  # fmt: skip
        chunk = b"p" * 65536
        sent = 0
        try:
            while sent < 256 * 1024 * 1024:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
                sock.setblocking(False)
                try:
                    if sock.recv(1, socket.MSG_PEEK):
                        break
                except BlockingIOError:
                    pass
                finally:
                    sock.setblocking(True)
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = sock.recv(4096)
        sock.close()
    assert reply.startswith(b"HTTP/1.1 413"), reply[:100]
    assert sent < 64 * 1024 * 1024
    assert _untouched(service)


def test_limits_are_per_route() -> None:
    assert limit_for("/login") == 16 * 1024
    assert limit_for("/grid") == 1024 * 1024
    assert limit_for("/media/abc/play") == 16 * 1024


def test_a_500_carries_the_security_headers(
    service: AssessmentService, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(service.accounts, "login", broken)
    with TestClient(create_app(service), base_url="http://127.0.0.1") as client:
        page = client.get("/login")
        token = page.text.split('name="login_token" value="')[1].split('"')[0]
        r = client.post("/login", data={"name": "a", "password": "b", "login_token": token})
    assert r.status_code == 500 and "a bug" not in r.text
    for header, value in SECURITY_HEADERS.items():
        assert r.headers[header] == value
    assert r.headers["cache-control"] == "no-store"
