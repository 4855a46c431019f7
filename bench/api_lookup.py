"""The platform API against Meta's HMA (OpenMediaMatch) itself, in one run, on the same machine.

Both systems get the same random PDQ bank (``--sizes``; 100k by default, 1M with
``--sizes 100000 1000000``) on the same PostgreSQL server, each in its own database, and the
same queries: for query ``i`` one near-duplicate of a random bank row at distance ``i % 32``
(0–31, each equally often) and one decoy at ``32 + i % 9`` (32–40) of another row.

- **HMA** runs from its public source under gunicorn, as its scaled reference deployment does
  (``reference_omm_configs/scaled_deployment_*``): one matcher/curator instance with
  ``--workers`` gunicorn workers (each refreshes its index cache every 30 s), and one
  indexer instance whose APScheduler task rebuilds the index every 60 s. HMA has no bulk
  import, so its ``bank`` / ``bank_content`` / ``content_signal`` tables are loaded with COPY
  and its own ``flask build_indices`` command builds the first index (timed).
- **Verisight**: ``verisight bank import`` (timed), then ``verisight api --workers N``.
  Requests carry an API key (HMA has no authentication).

Then, for each system in turn (same concurrency, same number of worker processes):

- the time from adding a hash (``POST /c/bank/<name>/signal``, each API) to its first match
  on ``GET /m/lookup``, and from disabling it (``PUT .../content/<id>``) to its last, measured
  before the load (requests ``wrk`` leaves in flight keep a server busy after it exits);
- single-hash ``GET /m/lookup`` under ``wrk`` (a Lua script cycles through the query hashes):
  lookups/s, p50, p99, and non-2xx answers;
- Verisight's ``POST /m/lookup/batch`` (``--batch`` hashes a request) under ``wrk``: hashes/s
  (HMA has no batch endpoint: one hash per request);
- match sets: every query is looked up once on each system; the sets of matched bank rows
  (mapped back to the generated rows) must be identical and equal to the planted truth
  (every near-duplicate found, no decoy);
- resident memory (RSS) of each worker process, after the load;
- Verisight's restart: the first start read every row and persisted index segments under the
  case; a second start reads those (``restart_to_ready_s``).

Needs Debian's ``wrk`` and HMA installed in its own virtual environment (docs/benchmarks.md
says how); without them it prints ``SKIP`` with the reason and exits 0. Run::

    .venv/bin/python bench/api_lookup.py                       # 100k bank, 2 workers
    .venv/bin/python bench/api_lookup.py --sizes 100000 1000000
    .venv/bin/python bench/api_lookup.py \\
        --index-load postgresql+psycopg://postgres@127.0.0.1:5432/verisight_bench
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np

PDQ_THRESHOLD = 31  # HMA's (python-threatexchange's PDQ_CONFIDENT_MATCH_THRESHOLD)
BANK = "BENCH"

HMA_CONFIG = """
from OpenMediaMatch.storage.postgres.impl import DefaultOMMStore
from threatexchange.signal_type.pdq.signal import PdqSignal
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.content_type.photo import PhotoContent
from threatexchange.content_type.video import VideoContent
from threatexchange.exchanges.impl.static_sample import StaticSampleSignalExchangeAPI

DATABASE_URI = {uri!r}
PRODUCTION = True
UI_ENABLED = False
ROLE_HASHER = {serve}
ROLE_MATCHER = {serve}
ROLE_CURATOR = {serve}
TASK_FETCHER = False
TASK_INDEXER = {indexer}
TASK_INDEX_CACHE = {serve}
TASK_INDEXER_INTERVAL_SECONDS = 60
TASK_INDEX_CACHE_INTERVAL_SECONDS = 30
INDEX_CACHE_MAX_STALE_SEC = 65
STORAGE_IFACE_INSTANCE = DefaultOMMStore(
    signal_types=[PdqSignal, VideoMD5Signal],
    content_types=[PhotoContent, VideoContent],
    exchange_types=[StaticSampleSignalExchangeAPI],
)
"""

LUA_GET = """
local paths = {}
for line in io.lines(os.getenv("BENCH_LINES")) do paths[#paths + 1] = line end
local key = os.getenv("BENCH_KEY")
if key and key ~= "" then wrk.headers["X-API-Key"] = key end
local i = math.random(#paths)
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
"""

LUA_POST = """
local bodies = {}
for line in io.lines(os.getenv("BENCH_LINES")) do bodies[#bodies + 1] = line end
wrk.headers["X-API-Key"] = os.getenv("BENCH_KEY")
wrk.headers["Content-Type"] = "application/json"
local i = math.random(#bodies)
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", "/m/lookup/batch", nil, bodies[i])
end
"""


def skip_reason(hma_venv: Path, hma_src: Path) -> str | None:
    if shutil.which("wrk") is None:
        return "wrk is not installed (apt-get install -y wrk)"
    if not (hma_venv / "bin" / "gunicorn").exists():
        return f"HMA's virtual environment {hma_venv} (gunicorn) is absent; see docs/benchmarks.md"
    if not (hma_src / "src" / "OpenMediaMatch" / "migrations").is_dir():
        return f"HMA's source {hma_src} is absent; see docs/benchmarks.md"
    return None


# -- data --------------------------------------------------------------------------------


def flip(rng: np.random.Generator, row: np.ndarray, bits: int) -> np.ndarray:
    out = row.copy()
    for b in rng.choice(256, size=bits, replace=False):
        out[b // 8] ^= np.uint8(1 << (b % 8))
    return out


def make_data(size: int, queries: int, seed: int) -> tuple[np.ndarray, list[str], list[set[int]]]:
    """The bank (``size`` × 32 bytes), query hashes, and each query's true matched rows."""
    rng = np.random.default_rng(seed)
    bank = rng.integers(0, 256, size=(size, 32), dtype=np.uint8)
    hexes, truth = [], []
    for i in range(queries):
        near, decoy = (int(r) for r in rng.choice(size, 2, replace=False))
        hexes.append(flip(rng, bank[near], i % (PDQ_THRESHOLD + 1)).tobytes().hex())
        truth.append({near})
        hexes.append(flip(rng, bank[decoy], PDQ_THRESHOLD + 1 + i % 9).tobytes().hex())
        truth.append(set())
    return bank, hexes, truth


def hex_rows(bank: np.ndarray) -> list[str]:
    return [bytes(r).hex() for r in bank]


# -- processes ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(
    url: str, probe: str, timeout: float, headers: dict[str, str] | None = None
) -> float:
    """Seconds until ``/status`` and then 20 look-ups in a row answer 200 (every worker ready)."""
    start, ok = time.time(), 0
    while time.time() - start < timeout:
        try:
            status = httpx.get(f"{url}/status", headers=headers, timeout=5).status_code
            if status == 200:
                ok = ok + 1 if httpx.get(url + probe, headers=headers).status_code == 200 else 0
                if ok >= 20:
                    return time.time() - start
                continue
        except httpx.HTTPError:
            pass
        ok = 0
        time.sleep(0.2)
    raise RuntimeError(f"{url} was not ready within {timeout:.0f} s")


@contextmanager
def running(cmd: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
    try:
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def worker_rss(parent: int) -> list[float]:
    """RSS (MiB) of each child of ``parent`` that serves (not multiprocessing's helpers)."""
    kids = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    serving = [
        k for k in kids if b"resource_tracker" not in Path(f"/proc/{k}/cmdline").read_bytes()
    ]
    return [round(rss_mib(int(k)), 1) for k in serving]


# -- databases ---------------------------------------------------------------------------


def recreate_database(pg: str, name: str) -> None:
    import psycopg

    with psycopg.connect(f"postgresql://{pg}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def load_hma(pg: str, db: str, rows: list[str]) -> None:
    """HMA's tables by COPY: one bank, one content row and one PDQ signal per hash (ids 1..n)."""
    import psycopg

    with psycopg.connect(f"postgresql://{pg}/{db}") as conn:
        conn.execute("INSERT INTO bank (id, name, enabled_ratio) VALUES (1, %s, 1.0)", (BANK,))
        with conn.cursor().copy(
            "COPY bank_content (id, bank_id, disable_until_ts) FROM STDIN"
        ) as cp:
            for i in range(len(rows)):
                cp.write_row((i + 1, 1, 1))
        with conn.cursor().copy(
            "COPY content_signal (content_id, signal_type, signal_val) FROM STDIN"
        ) as cp:
            for i, h in enumerate(rows):
                cp.write_row((i + 1, "pdq", h))
        conn.execute("SELECT setval('bank_content_id_seq', %s)", (len(rows),))
        conn.execute("SELECT setval('bank_id_seq', 1)")


# -- measurements ------------------------------------------------------------------------


def wrk(url: str, lua: str, lines: list[str], key: str, a: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as d:
        script, data = Path(d, "s.lua"), Path(d, "lines.txt")
        script.write_text(lua)
        data.write_text("\n".join(lines) + "\n")
        env = {**os.environ, "BENCH_LINES": str(data), "BENCH_KEY": key}
        cmd = ["wrk", f"-t{a.threads}", f"-c{a.connections}", f"-d{a.duration}s", "--latency",
               "--timeout", "10s", "-s", str(script), url]  # fmt: skip
        load = os.getloadavg()[0]  # the machine's own state, beside each figure
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    result: dict[str, Any] = {"non_2xx": 0, "load_1min_before": round(load, 2)}
    for line in out.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            result["requests_per_s"] = float(parts[1])
        elif parts[:1] in (["50%"], ["99%"]):
            result["p" + parts[0][:-1] + "_ms"] = _ms(parts[1])
        elif line.strip().startswith("Non-2xx"):
            result["non_2xx"] = int(parts[-1])
        elif "requests in" in line:
            result["requests"] = int(parts[0])
    return result


def _ms(text: str) -> float:
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return round(float(text[: -len(unit)]) * factor, 3)
    return float(text)


def lookup_ids(client: httpx.Client, h: str) -> set[int]:
    r = client.get("/m/lookup", params={"signal_type": "pdq", "signal": h})
    r.raise_for_status()
    return {int(m["bank_content_id"]) for m in r.json().get(BANK, [])}


def match_sets(client: httpx.Client, queries: list[str], row_of: Any) -> list[set[int]]:
    return [{row_of(i) for i in lookup_ids(client, q)} for q in queries]


def add_then_match(client: httpx.Client, h: str, timeout: float) -> dict[str, float | None]:
    """Seconds from adding ``h`` to its first match, and from disabling it to its last."""
    t0 = time.time()
    r = client.post(f"/c/bank/{BANK}/signal", json={"pdq": h})
    r.raise_for_status()
    cid = int(r.json()["id"])
    added = _until(lambda: cid in lookup_ids(client, h), t0, timeout)
    t1 = time.time()
    client.put(f"/c/bank/{BANK}/content/{cid}", json={"disable_until_ts": 0}).raise_for_status()
    disabled = _until(lambda: cid not in lookup_ids(client, h), t1, timeout)
    return {"add_to_match_s": added, "disable_to_no_match_s": disabled}


def _until(check: Any, start: float, timeout: float) -> float | None:
    while time.time() - start < timeout:
        if check():
            return round(time.time() - start, 3)
        time.sleep(0.05)
    return None


# -- the two systems ---------------------------------------------------------------------


def run_hma(a: argparse.Namespace, work: Path, bank: np.ndarray, queries: list[str],
            truth_rows: list[str]) -> tuple[dict[str, Any], list[set[int]]]:  # fmt: skip
    out: dict[str, Any] = {}
    db = "hma_bench"
    recreate_database(a.pg, db)
    uri = f"postgresql+psycopg2://{a.pg}/{db}"
    cfgs = {}
    for role, serve, indexer in (("serve", True, False), ("indexer", False, True)):
        cfgs[role] = work / f"hma_{role}.py"
        cfgs[role].write_text(HMA_CONFIG.format(uri=uri, serve=serve, indexer=indexer))
    bin_ = a.hma_venv / "bin"
    # HMA's pyproject installs only its dependencies; its Dockerfile runs it from src/
    env = {**os.environ, "OMM_CONFIG": str(cfgs["serve"]), "PATH": f"{bin_}:{os.environ['PATH']}",
           "PYTHONPATH": str(a.hma_src / "src")}  # fmt: skip
    env.pop("VIRTUAL_ENV", None)
    flask = [str(bin_ / "flask"), "--app", "OpenMediaMatch.app"]
    migrations = str(a.hma_src / "src" / "OpenMediaMatch" / "migrations")
    upgrade = [*flask, "db", "upgrade", "--directory", migrations]
    subprocess.run(upgrade, env={**env, "MIGRATION_COMMAND": "1"}, check=True, capture_output=True)
    t = time.time()
    load_hma(a.pg, db, hex_rows(bank))
    out["load_copy_s"] = round(time.time() - t, 1)
    t = time.time()
    subprocess.run([*flask, "build_indices"], env=env, check=True, capture_output=True)
    out["index_build_s"] = round(time.time() - t, 1)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    gunicorn = [str(bin_ / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers",
                str(a.workers), "--timeout", "120", "OpenMediaMatch.app:create_app()"]  # fmt: skip
    cron = [str(bin_ / "gunicorn"), "--bind", f"127.0.0.1:{free_port()}", "--workers", "1",
            "OpenMediaMatch.app:create_app()"]  # fmt: skip
    with (
        running(cron, {**env, "OMM_CONFIG": str(cfgs["indexer"])}, work / "hma_indexer.log"),
        running(gunicorn, env, work / "hma_serve.log") as proc,
    ):
        probe = f"/m/lookup?signal_type=pdq&signal={queries[0]}"
        out["start_to_ready_s"] = round(wait_ready(url, probe, a.start_timeout), 1)
        with httpx.Client(base_url=url, timeout=30) as client:
            sets = match_sets(client, queries, lambda i: i - 1)
            # before the load: requests wrk leaves in flight keep a server busy after it exits
            out.update(add_then_match(client, truth_rows[0], a.follow_timeout))
            lines = [f"/m/lookup?signal_type=pdq&signal={q}" for q in queries]
            out["single"] = wrk(url, LUA_GET, lines, "", a)
            out["batch"] = None
        out["worker_rss_mib"] = worker_rss(proc.pid)
    return out, sets


def run_verisight(a: argparse.Namespace, work: Path, bank: np.ndarray, queries: list[str],
                  truth_rows: list[str]) -> tuple[dict[str, Any], list[set[int]]]:  # fmt: skip
    from verisight.case import Case

    out: dict[str, Any] = {}
    db = "verisight_bench"
    recreate_database(a.pg, db)
    url_db = f"postgresql+psycopg://{a.pg}/{db}"
    case_dir = work / "case"
    with Case(case_dir, url_db, create=True) as case:
        key = case.api_keys.create("bench", ["lookup", "curate"]).key
    rows = hex_rows(bank)
    listing = work / "bank.pdq"
    listing.write_text("\n".join(rows) + "\n")
    cli = [sys.executable, "-m", "verisight"]
    common = ["--case", str(case_dir), "--database-url", url_db]
    t = time.time()
    subprocess.run([*cli, "bank", "import", str(listing), "--name", BANK, "--format", "pdq",
                    *common], check=True, capture_output=True)  # fmt: skip
    out["load_import_s"] = round(time.time() - t, 1)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [*cli, "api", *common, "--port", str(port), "--workers", str(a.workers)]
    with running(cmd, dict(os.environ), work / "verisight_api.log") as proc:
        headers = {"X-API-Key": key}
        probe = f"/m/lookup?signal_type=pdq&signal={queries[0]}"
        out["start_to_ready_s"] = round(wait_ready(url, probe, a.start_timeout, headers), 1)
        with httpx.Client(base_url=url, timeout=30, headers=headers) as client:
            ids = _content_rows(client, queries)
            sets = match_sets(client, queries, lambda i: ids[i])
            out.update(add_then_match(client, truth_rows[0], a.follow_timeout))
            lines = [f"/m/lookup?signal_type=pdq&signal={q}" for q in queries]
            out["single"] = wrk(url, LUA_GET, lines, key, a)
            chunks = [queries[i : i + a.batch] for i in range(0, len(queries), a.batch)]
            chunks = [c for c in chunks if len(c) == len(chunks[0])]  # equal batches only
            bodies = [json.dumps({"signal_type": "pdq", "signals": c}) for c in chunks]
            batch = wrk(url, LUA_POST, bodies, key, a)
            batch["hashes_per_request"] = len(chunks[0])
            batch["hashes_per_s"] = round(batch["requests_per_s"] * len(chunks[0]))
            out["batch"] = batch
        out["worker_rss_mib"] = worker_rss(proc.pid)
    # a restart loads the index segments the first start persisted, plus the rows after them
    out["segment_files"] = len(list((case_dir / "api-index").glob("pdq-*.npy")))
    with running(cmd, dict(os.environ), work / "verisight_api2.log"):
        out["restart_to_ready_s"] = round(wait_ready(url, probe, a.start_timeout, headers), 1)
    return out, sets


def _content_rows(client: httpx.Client, queries: list[str]) -> dict[int, str]:
    """Verisight content id → its PDQ hash, for every content any query matches."""
    found: set[int] = set()
    for q in queries:
        found |= lookup_ids(client, q)
    rows: dict[int, str] = {}
    for cid in sorted(found):
        r = client.get(f"/c/bank/{BANK}/content/{cid}", params={"include_signals": "true"})
        r.raise_for_status()
        rows[cid] = r.json()["signals"]["pdq"]
    return rows


def index_load(database_url: str, rounds: int) -> None:
    """Load the API's index from rows, then from persisted segments, alternating, in-process
    (on the bank a previous run left in ``verisight_bench``)."""
    from verisight.api.index import FollowedIndex
    from verisight.api.segments import SegmentStore
    from verisight.case import Case

    with (
        tempfile.TemporaryDirectory(prefix="api_index_load_") as d,
        Case(Path(d) / "case", database_url, create=True) as case,
    ):
        segments = SegmentStore(Path(d) / "case" / "api-index")
        for _ in range(rounds):
            for source in ("rows", "segments"):
                if source == "rows":
                    segments.clear()
                index = FollowedIndex(case.curation, poll_seconds=0, segments=segments)
                t = time.perf_counter()
                index.load()
                seconds = round(time.perf_counter() - t, 2)
                row = {"from": source, "seconds": seconds, "entries": len(index),
                       "from_segments": index.loaded_from_segments}  # fmt: skip
                print(json.dumps(row), flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    p.add_argument("--queries", type=int, default=1000, help="near-duplicates (as many decoys)")
    p.add_argument("--workers", type=int, default=2, help="worker processes, each system")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument("--duration", type=int, default=15, help="seconds of each wrk run")
    p.add_argument("--batch", type=int, default=1000, help="hashes per batch request")
    p.add_argument("--pg", default="postgres@127.0.0.1:5432", help="user@host:port")
    p.add_argument("--hma-venv", type=Path, default=Path("/work/hma-venv"))
    p.add_argument("--hma-src", type=Path, default=Path("/work/hma-src/hasher-matcher-actioner"))
    p.add_argument("--start-timeout", type=float, default=900)
    p.add_argument("--follow-timeout", type=float, default=240)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--json", type=Path, help="also write the results here")
    p.add_argument(
        "--index-load", metavar="URL", help="only time the index's loads (rows, segments) there"
    )
    a = p.parse_args()
    if a.index_load:
        index_load(a.index_load, 2)
        return 0
    reason = skip_reason(a.hma_venv, a.hma_src)
    if reason:
        print(f"SKIP: {reason}")
        return 0
    results = []
    for size in a.sizes:
        bank, queries, truth = make_data(size, a.queries, a.seed)
        # a fresh hash for the add-to-match timing, far from every bank row
        fresh = [np.random.default_rng(a.seed + 1).integers(0, 256, 32, np.uint8).tobytes().hex()]
        rows = hex_rows(bank)
        with tempfile.TemporaryDirectory(prefix="api_lookup_") as d:
            work = Path(d)
            hma, hma_sets = run_hma(a, work, bank, queries, fresh)
            vs, vs_sets = run_verisight(a, work, bank, queries, fresh)
        hma_hex = [{rows[i] for i in s} for s in hma_sets]
        vs_hex = [set(s) for s in vs_sets]
        true_hex = [{rows[i] for i in s} for s in truth]
        r = {
            "size": size, "queries": len(queries), "workers": a.workers,
            "connections": a.connections, "hma": hma, "verisight": vs,
            "match_sets_identical": hma_hex == vs_hex,
            "hma_equals_truth": hma_hex == true_hex, "verisight_equals_truth": vs_hex == true_hex,
            "single_speedup": round(
                vs["single"]["requests_per_s"] / max(hma["single"]["requests_per_s"], 1e-9), 1
            ),
        }  # fmt: skip
        print(json.dumps(r, indent=1), flush=True)
        results.append(r)
    if a.json:
        a.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
