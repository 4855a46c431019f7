"""Test helpers: dump a case database's content for exact comparisons; find and kill the
processes a scan left (Linux ``/proc``)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa


def dump_case(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every content row of a case, in a canonical order, without surrogate ids or times."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        media = conn.execute(sa.text("SELECT * FROM media ORDER BY sha256")).all()
        sightings = conn.execute(
            sa.text(
                "SELECT key, locator, path, chain, url, captured_at, media_sha256, status, "
                "reason, detail, depth, is_container, size, mtime_ns, scan_id "
                "FROM sighting ORDER BY key"
            )
        ).all()
        scans = conn.execute(sa.text("SELECT id, roots, status FROM scan ORDER BY id")).all()
    engine.dispose()
    return {
        "media": [tuple(r) for r in media],
        "sighting": [tuple(r) for r in sightings],
        "scan": [tuple(r) for r in scans],
    }


def descendants(pid: int) -> set[int]:
    out: set[int] = set()
    todo = [pid]
    while todo:
        p = todo.pop()
        kids: list[str] = []
        for task in Path(f"/proc/{p}/task").glob("*"):  # children of every thread
            try:
                kids += (task / "children").read_text().split()
            except OSError:
                continue
        for k in map(int, kids):
            if k not in out:
                out.add(k)
                todo.append(k)
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def kill_and_survivors(proc: subprocess.Popen[bytes], kids: set[int]) -> dict[int, str]:
    """SIGKILL ``proc``, give ``kids`` 10 s to die with it, and return those still alive
    (pid → command line), killed now so that a failing test leaves nothing behind."""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(k) for k in kids):
        time.sleep(0.1)
    survivors = {k: Path(f"/proc/{k}/cmdline").read_text() for k in kids if alive(k)}
    for k in survivors:  # clean up before failing
        os.kill(k, signal.SIGKILL)
    return survivors
