"""Two ``verisight api`` processes on one PostgreSQL schema: a hash added through one replica
is matched by the other within 10 s (each follows the database without a full rebuild), and
content disabled through one is at once never returned by the other.

With a 30 s poll, a hash added through one replica or by ``verisight bank import`` can only
reach the other within 10 s through LISTEN/NOTIFY; the latency is printed (``-s``)."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from verisight.case import Case

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _gauge(text: str, name: str) -> float:
    m = re.search(rf"^{name} (\S+)$", text, flags=re.M)
    assert m, name
    return float(m.group(1))


def _wait(url: str, deadline: float) -> None:
    while time.time() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not come up")


@pytest.fixture(params=[0.5])
def replicas(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_url: str
) -> Iterator[tuple[list[str], str]]:
    with Case(tmp_path / "case", postgres_url, create=True) as c:
        key = c.api_keys.create("replica-test", ["lookup", "curate"]).key
    procs, urls = [], []
    for i in range(2):
        port = _free_port()
        cmd = [
            sys.executable, "-m", "verisight", "api", "--case", str(tmp_path / f"case{i}"),
            "--database-url", postgres_url, "--port", str(port),
            "--poll-seconds", str(request.param),
        ]  # fmt: skip
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for u in urls:
            _wait(f"{u}/status", time.time() + 60)
        yield urls, key
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=20)


def test_a_hash_added_on_one_replica_matches_on_the_other(
    replicas: tuple[list[str], str],
) -> None:
    (a, b), key = replicas
    h = {"X-API-Key": key}
    assert httpx.post(f"{a}/c/banks", json={"name": "SHARED"}, headers=h).status_code == 201
    before = _gauge(httpx.get(f"{b}/metrics", headers=h).text, "verisight_api_index_rebuilds")
    pdq = "9e" * 32
    r = httpx.post(f"{a}/c/bank/SHARED/signal", json={"pdq": pdq}, headers=h)
    cid = r.json()["id"]
    params = {"signal_type": "pdq", "signal": pdq}
    deadline = time.time() + 10
    found: dict[str, object] = {}
    while time.time() < deadline and not found:
        found = httpx.get(f"{b}/m/lookup", params=params, headers=h).json()
        time.sleep(0.2)
    assert found == {"SHARED": [{"bank_content_id": cid, "distance": "0"}]}
    metrics = httpx.get(f"{b}/metrics", headers=h).text
    assert _gauge(metrics, "verisight_api_index_rebuilds") == before  # followed, not rebuilt
    assert _gauge(metrics, "verisight_api_index_size") == 1

    r = httpx.put(f"{a}/c/bank/SHARED/content/{cid}", json={"disable_until_ts": 0}, headers=h)
    assert r.status_code == 200
    assert httpx.get(f"{b}/m/lookup", params=params, headers=h).json() == {}


def _first_match(url: str, pdq: str, headers: dict[str, str], start: float) -> float:
    params = {"signal_type": "pdq", "signal": pdq}
    while time.perf_counter() - start < 10:
        if httpx.get(f"{url}/m/lookup", params=params, headers=headers).json():
            return time.perf_counter() - start
        time.sleep(0.01)
    raise AssertionError(f"{pdq} was not matched on {url} within 10 s")


@pytest.mark.parametrize("replicas", [30.0], indirect=True)
def test_notify_carries_additions_between_replicas_at_once(
    replicas: tuple[list[str], str], tmp_path: Path, postgres_url: str
) -> None:
    (a, b), key = replicas
    h = {"X-API-Key": key}
    assert httpx.post(f"{a}/c/banks", json={"name": "FAST"}, headers=h).status_code == 201
    pdq = "5a" * 32
    start = time.perf_counter()
    assert httpx.post(f"{a}/c/bank/FAST/signal", json={"pdq": pdq}, headers=h).status_code == 200
    via_api = _first_match(b, pdq, h, start)

    listing = tmp_path / "more.pdq"
    listing.write_text("c3" * 32 + "\n")
    start = time.perf_counter()
    with Case(tmp_path / "case", postgres_url) as c:
        c.banking.import_file(listing, "FAST", format="pdq")
    via_import = _first_match(b, "c3" * 32, h, start)
    print(f"\nadded through replica A, matched on B after {1000 * via_api:.0f} ms; "
          f"imported by the CLI's service, matched on B after {1000 * via_import:.0f} ms "
          "(poll: 30 s)")  # fmt: skip
