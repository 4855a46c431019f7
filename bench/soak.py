"""Soak: simulated analysts against ``verisight serve`` and ``wrk`` against ``verisight api``.

Builds a benign synthetic collection (:func:`verisight.demo.scene` pictures, some re-posted
as re-encoded or resized variants so that the scan makes clusters), scans it into a fresh
case on PostgreSQL (a new schema in the test database, dropped afterwards; ``--sqlite`` for a
SQLite case), adds analysts, then for ``--minutes`` (default 10):

* ``--analysts`` (default 10) simulated analysts, each an httpx client with its own session
  and CSRF token, as a browser: log in, take the next item (``/next``), fetch its shielded
  image, reveal it, assess it, and now and then (``--propagate-share``) propagate the
  decision to the other members of its cluster. Once the queue is empty they edit decisions
  already made (a fresh version each time), so decisions keep coming;
* ``wrk`` (when installed; else skipped with the reason) against the platform API's
  ``/m/raw_lookup``, one thread, four connections;
* the servers' resident memory sampled every 10 s.

Both servers run as child processes on 127.0.0.1, stopped at the end; the run is bounded
in time (``--minutes``) and in requests (``--max-requests`` per analyst). It prints: requests
and 5xx per route with p50/p99 latency, decisions made against decisions in the database
against audit entries (none lost, none unaudited), ``verisight audit verify``, the servers'
RSS in the first and the last minute, and the ``wrk`` figures. ``--json`` prints one JSON
object as well. The exit status is 1 when a check fails (a 5xx, a lost or unaudited
decision, audit verify failing).

Run: ``.venv/bin/python bench/soak.py`` (10 minutes); a smoke: ``--minutes 0.2 --analysts 2
--images 12 --sqlite``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.web.conftest import DECISION  # noqa: E402  (the decision the web tests post)
from verisight.case import Case  # noqa: E402
from verisight.demo import scene  # noqa: E402

POSTGRES_URL = os.environ.get(
    "VERISIGHT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PASSWORD = "soak test passphrase"
SHA = re.compile(r"[0-9a-f]{64}")
RSS_EVERY = 10.0


def build_collection(folder: Path, images: int) -> None:
    """``images`` JPEGs: distinct scenes, every third re-posted as a variant."""
    folder.mkdir(parents=True)
    n = 0
    seed = 0
    while n < images:
        picture = scene(9000 + seed, (320, 240))
        seed += 1
        versions = [picture]
        if seed % 3 == 0:
            versions.append(picture.resize((288, 216)))
        for k, img in enumerate(versions):
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=90 - 15 * k)
            (folder / f"p{seed:04d}-{k}.jpg").write_bytes(buf.getvalue())
            n += 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode} before answering {url}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise SystemExit(f"no answer from {url} after {seconds:g} s")


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def route_of(method: str, path: str) -> str:
    return f"{method} {SHA.sub('{sha}', path.split('?', 1)[0])}"


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.status: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.assessed = 0
        self.propagated = 0
        self.conflicts = 0
        self.errors: list[str] = []

    def record(self, route: str, status: int, seconds: float) -> None:
        with self.lock:
            self.latency[route].append(seconds)
            self.status[route][status] += 1


class Analyst:
    """One simulated analyst: a client with its own cookies and CSRF token."""

    def __init__(self, name: str, base: str, stats: Stats, rng: random.Random) -> None:
        self.name = name
        self.client = httpx.Client(base_url=base, timeout=60, follow_redirects=False)
        self.stats = stats
        self.rng = rng
        self.csrf = ""
        self.seen: list[str] = []

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        start = time.perf_counter()
        r = self.client.request(method, path, headers={"accept": "text/html"}, **kw)
        self.stats.record(route_of(method, path), r.status_code, time.perf_counter() - start)
        if r.status_code >= 500:
            with self.stats.lock:
                self.stats.errors.append(f"{self.name} {method} {path}: {r.status_code}")
        return r

    def login(self) -> None:
        page = self.request("GET", "/login")
        token = re.search(r'name="login_token" value="([^"]+)"', page.text)
        if token is None:
            raise SystemExit("no login token on /login")
        form = {"name": self.name, "password": PASSWORD, "login_token": token.group(1)}
        r = self.request("POST", "/login", data=form)
        if r.status_code != 303:
            raise SystemExit(f"{self.name} could not log in: {r.status_code}")
        home = self.request("GET", r.headers["location"])
        m = re.search(r'name="csrf-token" content="([^"]+)"', home.text)
        if m is None:
            raise SystemExit("no CSRF token on the home page")
        self.csrf = m.group(1)

    def post(self, path: str, form: dict[str, str] | None = None) -> httpx.Response:
        return self.request("POST", path, data={**(form or {}), "csrf": self.csrf})

    def one_item(self) -> None:
        r = self.request("GET", "/next")
        where = r.headers.get("location", "")
        sha = SHA.search(where)
        if sha is None:  # the queue is empty: edit a decision already made
            if not self.seen:
                time.sleep(0.5)
                return
            sha_s = self.rng.choice(self.seen)
        else:
            sha_s = sha.group(0)
        page = self.request("GET", f"/item/{sha_s}")
        if page.status_code != 200:
            return
        version = re.search(r'name="version" value="(\d+)"', page.text)
        members = sorted(set(re.findall(r'name="member\.([0-9a-f]{64})"', page.text)))
        self.request("GET", f"/media/{sha_s}/shielded.jpg")
        self.post(f"/media/{sha_s}/reveal")
        form = DECISION | {"version": version.group(1) if version else "0"}
        done = self.post(f"/item/{sha_s}/assess", form)
        if done.status_code == 303:
            with self.stats.lock:
                self.stats.assessed += 1
            self.seen.append(sha_s)
        elif done.status_code == 409:
            with self.stats.lock:
                self.stats.conflicts += 1
        if done.status_code == 303 and members and self.rng.random() < PROPAGATE_SHARE[0]:
            form = {f"member.{m}": "1" for m in members} | {"confirm": "yes"}
            res = self.post(f"/item/{sha_s}/propagate", form)
            applied = re.search(r"Applied to (\d+) member", res.text)
            if res.status_code == 200 and applied:
                with self.stats.lock:
                    self.stats.propagated += int(applied.group(1))

    def run(self, deadline: float, max_requests: int) -> None:
        try:
            self.login()
            while time.monotonic() < deadline and self.total() < max_requests:
                self.one_item()
        except httpx.HTTPError as exc:
            with self.stats.lock:
                self.stats.errors.append(f"{self.name}: {type(exc).__name__}: {exc}")
        finally:
            self.client.close()

    def total(self) -> int:
        return sum(len(v) for v in self.stats.latency.values())


PROPAGATE_SHARE = [0.3]


def run_wrk(url: str, seconds: int) -> dict[str, Any]:
    wrk = shutil.which("wrk")
    if wrk is None:
        return {"skipped": "wrk is not installed (apt-get install -y wrk)"}
    out = subprocess.run(
        [wrk, "-t1", "-c4", f"-d{max(1, seconds)}s", "--latency", url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    ).stdout
    result: dict[str, Any] = {"output": out}
    for key, pattern in (
        ("requests", r"(\d+) requests in"),
        ("rps", r"Requests/sec:\s+([\d.]+)"),
        ("non_2xx", r"Non-2xx or 3xx responses: (\d+)"),
        ("p50", r"^\s+50%\s+(\S+)"),
        ("p99", r"^\s+99%\s+(\S+)"),
    ):
        m = re.search(pattern, out, re.MULTILINE)
        result[key] = m.group(1) if m else ("0" if key == "non_2xx" else None)
    return result


def pct(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def counts_in_db(case_dir: Path, url: str) -> tuple[int, dict[str, int]]:
    import sqlalchemy as sa

    with Case(case_dir, url) as case, case.store.engine.connect() as conn:
        opinions = conn.execute(sa.text("select count(*) from assessment_opinion")).scalar_one()
        rows = conn.execute(sa.text("select action, count(*) from audit_entry group by action"))
        return int(opinions), {str(a): int(n) for a, n in rows}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--analysts", type=int, default=10)
    ap.add_argument("--images", type=int, default=300)
    ap.add_argument("--max-requests", type=int, default=200_000, help="per analyst")
    ap.add_argument("--propagate-share", type=float, default=0.3)
    ap.add_argument("--sqlite", action="store_true", help="a SQLite case, not PostgreSQL")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    PROPAGATE_SHARE[0] = args.propagate_share
    seconds = args.minutes * 60
    work = Path(tempfile.mkdtemp(prefix="verisight-soak-"))
    schema = f"verisight_soak_{uuid.uuid4().hex[:10]}"
    procs: list[subprocess.Popen[bytes]] = []
    admin: Any = None
    try:
        if args.sqlite:
            url = f"sqlite:///{work / 'case.db'}"
        else:
            import sqlalchemy as sa

            admin = sa.create_engine(POSTGRES_URL)
            with admin.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
        build_collection(work / "collection", args.images)
        t0 = time.perf_counter()
        with Case(work / "case", url, create=True) as case:
            summary = case.scan([work / "collection"], workers=2)
            service = case.assessment
            for i in range(args.analysts):
                service.accounts.add_user(f"analyst{i}", "analyst", PASSWORD)
            service.users.set_org_setting("qa", {"sample_rate": 0.0})
        print(f"scanned {summary.seen} items in {time.perf_counter() - t0:.1f} s", flush=True)
        exe = [sys.executable, "-m", "verisight"]
        where = ["--case", str(work / "case"), "--database-url", url]
        web_port, api_port = free_port(), free_port()
        quiet = {"stdout": subprocess.DEVNULL}
        procs.append(subprocess.Popen([*exe, "serve", *where, "--port", str(web_port)], **quiet))
        procs.append(
            subprocess.Popen(
                [*exe, "api", *where, "--port", str(api_port), "--anonymous-lookups"], **quiet
            )
        )
        web, api = f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{api_port}"
        wait_ready(f"{web}/login", procs[0])
        wait_ready(f"{api}/status/live", procs[1])

        stats = Stats()
        rss: dict[str, list[tuple[float, float]]] = {"serve": [], "api": []}
        start = time.monotonic()
        deadline = start + seconds
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                for label, proc in zip(("serve", "api"), procs, strict=True):
                    mib = rss_mib(proc.pid)
                    if mib is not None:
                        rss[label].append((time.monotonic() - start, mib))
                stop.wait(RSS_EVERY)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        wrk_out: dict[str, Any] = {}
        lookup = f"{api}/m/raw_lookup?signal_type=pdq&signal={'0f' * 32}"
        wrk_thread = threading.Thread(
            target=lambda: wrk_out.update(run_wrk(lookup, int(seconds))), daemon=True
        )
        wrk_thread.start()
        analysts = [
            Analyst(f"analyst{i}", web, stats, random.Random(i)) for i in range(args.analysts)
        ]
        threads = [
            threading.Thread(target=a.run, args=(deadline, args.max_requests)) for a in analysts
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wrk_thread.join(timeout=120)
        stop.set()
        sampler.join()
        elapsed = time.monotonic() - start
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=60)

        opinions, audit = counts_in_db(work / "case", url)
        verify = subprocess.run([*exe, "audit", "verify", *where], capture_output=True, text=True)
        made = stats.assessed + stats.propagated
        audited = audit.get("assess", 0) + audit.get("review", 0) + audit.get("propagate", 0)
        fives = sum(n for codes in stats.status.values() for c, n in codes.items() if c >= 500)

        def window(label: str, first: bool) -> float | None:
            pts = [m for t, m in rss[label] if (t <= 60 if first else t >= elapsed - 60)]
            return round(statistics.mean(pts), 1) if pts else None

        routes = {
            route: {
                "requests": len(lat),
                "5xx": sum(n for c, n in stats.status[route].items() if c >= 500),
                "p50_ms": round(pct(lat, 50) * 1000, 1),
                "p99_ms": round(pct(lat, 99) * 1000, 1),
            }
            for route, lat in sorted(stats.latency.items())
        }
        report = {
            "minutes": round(elapsed / 60, 2),
            "analysts": args.analysts,
            "database": "sqlite" if args.sqlite else "postgresql",
            "items_scanned": summary.seen,
            "requests": sum(r["requests"] for r in routes.values()),
            "5xx": fives,
            "routes": routes,
            "decisions_made": made,
            "assessed": stats.assessed,
            "propagated": stats.propagated,
            "conflicts_409": stats.conflicts,
            "decisions_in_db": opinions,
            "decision_audit_entries": audited,
            "audit_verify_rc": verify.returncode,
            "audit_verify": verify.stdout.strip().splitlines()[-1:] or verify.stderr[-300:],
            "rss_mib_first_minute": {k: window(k, True) for k in rss},
            "rss_mib_last_minute": {k: window(k, False) for k in rss},
            "rss_samples": rss,
            "wrk": {k: v for k, v in wrk_out.items() if k != "output"},
            "errors": stats.errors[:20],
        }
        print_report(report)
        if args.json:
            print(json.dumps(report))
        ok = fives == 0 and made == opinions == audited and verify.returncode == 0
        ok = ok and not stats.errors and wrk_out.get("non_2xx") in ("0", None)
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()
        shutil.rmtree(work, ignore_errors=True)


def print_report(r: dict[str, Any]) -> None:
    print(
        f"\n{r['minutes']} min, {r['analysts']} analysts, {r['database']}, "
        f"{r['items_scanned']} items scanned"
    )
    print(f"{'route':<36} {'requests':>9} {'5xx':>5} {'p50 ms':>8} {'p99 ms':>8}")
    for route, s in r["routes"].items():
        print(f"{route:<36} {s['requests']:>9} {s['5xx']:>5} {s['p50_ms']:>8} {s['p99_ms']:>8}")
    print(f"{'all':<36} {r['requests']:>9} {r['5xx']:>5}")
    print(
        f"decisions made {r['decisions_made']} (assessed {r['assessed']}, propagated "
        f"{r['propagated']}; {r['conflicts_409']} stale 409s), in the database "
        f"{r['decisions_in_db']}, audit entries {r['decision_audit_entries']}"
    )
    print(f"audit verify: rc {r['audit_verify_rc']} {r['audit_verify']}")
    print(f"RSS MiB first minute {r['rss_mib_first_minute']}, last {r['rss_mib_last_minute']}")
    print(f"wrk /m/raw_lookup: {r['wrk']}")
    for e in r["errors"]:
        print("error:", e)


if __name__ == "__main__":
    sys.exit(main())
