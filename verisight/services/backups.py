"""Back up, restore and check a case (``verisight case backup|restore|check``).

A backup is a folder::

    DEST/
      backup.json        what was copied, when, row counts, and the audit head at that moment
      verisight.db       SQLite: a consistent snapshot (SQLite's online backup API), or
      database.pgdump    PostgreSQL: ``pg_dump --format=custom`` (one snapshot transaction)
      thumbs/            thumbnails and contact sheets (content-addressed, never rewritten)
      index/             the PDQ index of the banks (a cache: checked against the rows on
                         use and rebuilt when it disagrees)

It is taken while the case is in use. The database is copied first, then the derived files,
so every thumbnail a row of the snapshot names is already on disk (scans write a thumbnail
before the row that names it). Files added after the snapshot are harmless extras.

``check`` reports every disagreement between the rows, the derived files and the audit chain:
a broken chain, an audit head that is no longer in the chain (a truncated log), a media row
whose thumbnail is missing, a media without a sighting. Extra thumbnail files (from an
interrupted scan, or copied after the snapshot) are listed as notes, not problems.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from verisight import __version__
from verisight.errors import CaseError, UsageError
from verisight.scanning import thumbnail_path
from verisight.store.audit import AuditLog
from verisight.store.integrity import (
    DECISION_FIELDS,
    DecisionRows,
    decision_rows,
    media_with_thumbnails,
    media_without_sightings,
    row_counts,
    sqlite_online_backup,
)

MANIFEST = "backup.json"
SQLITE_FILE = "verisight.db"
PG_DUMP_FILE = "database.pgdump"
#: Derived folders of a case copied into a backup.
DERIVED = ("thumbs", "index")
FORMAT = 1


@dataclass(frozen=True)
class BackupManifest:
    created_at: str
    verisight: str
    database: str  # "sqlite" or "postgresql"
    audit_entries: int
    audit_head: str
    counts: dict[str, int]
    files: dict[str, int]
    audit_problems: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "created_at": self.created_at,
            "verisight": self.verisight,
            "database": self.database,
            "audit_entries": self.audit_entries,
            "audit_head": self.audit_head,
            "audit_problems": self.audit_problems,
            "counts": self.counts,
            "files": self.files,
        }

    @classmethod
    def read(cls, folder: Path) -> BackupManifest:
        try:
            raw = json.loads((folder / MANIFEST).read_text())
        except (OSError, ValueError) as exc:
            raise CaseError(f"{folder} is not a Verisight backup ({MANIFEST}: {exc})") from exc
        if raw.get("format") != FORMAT:
            raise CaseError(f"{folder}: backup format {raw.get('format')!r} is not {FORMAT}")
        return cls(
            created_at=raw["created_at"],
            verisight=raw["verisight"],
            database=raw["database"],
            audit_entries=int(raw["audit_entries"]),
            audit_head=raw["audit_head"],
            counts={k: int(v) for k, v in raw["counts"].items()},
            files={k: int(v) for k, v in raw["files"].items()},
            audit_problems=int(raw.get("audit_problems", 0)),
        )


@dataclass
class CheckReport:
    """What ``verisight case check`` found: ``ok`` when there are no problems."""

    counts: dict[str, int]
    audit_entries: int
    audit_head: str
    thumbnails_checked: int
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "counts": self.counts,
            "audit_entries": self.audit_entries,
            "audit_head": self.audit_head,
            "thumbnails_checked": self.thumbnails_checked,
            "problems": self.problems,
            "notes": self.notes,
        }


# ---------------------------------------------------------------------------- backup


def backup(engine: Engine, database_url: str, case_dir: Path, dest: Path) -> BackupManifest:
    """Copy the case (database, then derived files) into the new folder ``dest``."""
    if dest.exists() and any(dest.iterdir()):
        raise UsageError(f"{dest} exists and is not empty: give a new folder")
    dest.mkdir(parents=True, exist_ok=True)
    # The audit head is read before the snapshot, so the snapshot's chain contains it. A
    # broken chain is recorded, not refused: a copy is what an investigation needs first.
    report = AuditLog(engine).verify()
    kind = engine.dialect.name
    if kind == "sqlite":
        database = make_url(database_url).database
        if not database:
            raise CaseError("an in-memory SQLite database cannot be backed up")
        sqlite_online_backup(Path(database), dest / SQLITE_FILE)
    elif kind == "postgresql":
        _pg_dump(database_url, dest / PG_DUMP_FILE)
    else:
        raise CaseError(f"backing up a {kind} database is not supported")
    files = {name: _copy_tree(case_dir / name, dest / name) for name in DERIVED}
    manifest = BackupManifest(
        created_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        verisight=__version__,
        database=kind,
        audit_entries=report.entries,
        audit_head=report.head,
        counts=_snapshot_counts(dest, kind, engine),
        files=files,
        audit_problems=len(report.problems),
    )
    (dest / MANIFEST).write_text(json.dumps(manifest.to_json(), indent=2) + "\n")
    return manifest


def _snapshot_counts(dest: Path, kind: str, live: Engine) -> dict[str, int]:
    """Row counts of the snapshot itself (SQLite), or of the live case (PostgreSQL, where
    they may be slightly higher than the dump's)."""
    if kind == "sqlite":
        from verisight.store.db import make_engine

        engine = make_engine(f"sqlite:///{dest / SQLITE_FILE}")
        try:
            return row_counts(engine).to_json()
        finally:
            engine.dispose()
    return row_counts(live).to_json()


def _copy_tree(source: Path, target: Path) -> int:
    """Copy every regular file under ``source``; files that vanish meanwhile are skipped."""
    copied = 0
    if not source.is_dir():
        return 0
    for folder, _dirs, names in os.walk(source):
        out = target / Path(folder).relative_to(source)
        out.mkdir(parents=True, exist_ok=True)
        for name in names:
            try:
                shutil.copy2(Path(folder) / name, out / name)
            except FileNotFoundError:
                continue
            copied += 1
    return copied


def _libpq(database_url: str) -> tuple[list[str], dict[str, str], str | None]:
    """``pg_dump``/``pg_restore`` connection arguments for a SQLAlchemy URL: (args, extra
    environment, the schema named by ``options=-csearch_path=...`` if any)."""
    url = make_url(database_url)
    args = ["--host", url.host or "127.0.0.1", "--port", str(url.port or 5432)]
    if url.username:
        args += ["--username", url.username]
    args += ["--dbname", url.database or "postgres"]
    env = {"PGPASSWORD": url.password} if url.password else {}
    schema = None
    options = url.query.get("options")
    if isinstance(options, str):
        for part in unquote(options).split():
            if part.startswith("-csearch_path="):
                schema = part.removeprefix("-csearch_path=").split(",")[0].strip('"')
    return args, env, schema


def _pg_tool(name: str) -> str:
    tool = shutil.which(name)
    if tool is None:
        raise CaseError(
            f"{name} is not installed: install PostgreSQL's client tools (Debian: "
            "postgresql-client) of the server's major version, or back the database up with "
            "your usual PostgreSQL backups and copy the case folder beside it"
        )
    return tool


def _pg_dump(database_url: str, out: Path) -> None:
    args, env, schema = _libpq(database_url)
    cmd = [_pg_tool("pg_dump"), *args, "--format=custom", "--no-owner", "--file", str(out)]
    if schema:
        cmd += ["--schema", schema]
    _run(cmd, env)


def _run(cmd: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(
        cmd, env={**os.environ, **env}, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise CaseError(f"{Path(cmd[0]).name} failed: {done.stderr.strip()[-1000:]}")


# ---------------------------------------------------------------------------- restore


def restore(source: Path, case_dir: Path, database_url: str | None, *, force: bool) -> str:
    """Restore the backup in ``source`` into ``case_dir`` (and ``database_url`` for a
    PostgreSQL backup); returns the restored database's URL. Refuses a case folder that
    already holds a database or derived files, unless ``force``."""
    manifest = BackupManifest.read(source)
    occupied = [n for n in (SQLITE_FILE, *DERIVED) if (case_dir / n).exists()]
    if occupied and not force:
        raise UsageError(
            f"{case_dir} already holds {', '.join(occupied)}: restore into a new folder, "
            "or pass --force to replace them"
        )
    case_dir.mkdir(parents=True, exist_ok=True)
    for name in occupied:
        target = case_dir / name
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()
    if manifest.database == "sqlite":
        if database_url and not database_url.startswith("sqlite"):
            raise UsageError("this backup holds a SQLite case: restore it without --database-url")
        shutil.copy2(source / SQLITE_FILE, case_dir / SQLITE_FILE)
        url = f"sqlite:///{(case_dir / SQLITE_FILE).resolve()}"
    else:
        if not database_url or not database_url.startswith("postgresql"):
            raise UsageError("this backup holds a PostgreSQL case: give --database-url")
        args, env, _schema = _libpq(database_url)
        cmd = [_pg_tool("pg_restore"), *args, "--no-owner", "--clean", "--if-exists",
               "--single-transaction", str(source / PG_DUMP_FILE)]  # fmt: skip
        _run(cmd, env)
        url = database_url
    for name in DERIVED:
        _copy_tree(source / name, case_dir / name)
    return url


# ---------------------------------------------------------------------------- check


def check(engine: Engine, case_dir: Path, *, audit_head: str | None = None) -> CheckReport:
    """Every disagreement between rows, derived files and the audit chain."""
    audit = AuditLog(engine).verify()
    report = CheckReport(
        counts=row_counts(engine).to_json(),
        audit_entries=audit.entries,
        audit_head=audit.head,
        thumbnails_checked=0,
    )
    report.problems += [f"audit: {p}" for p in audit.problems]
    if (
        audit_head is not None
        and audit_head != audit.head
        and not any(r.hash == audit_head for r in AuditLog(engine).entries())
    ):
        report.problems.append(
            f"audit: the head {audit_head[:16]}… is not in the chain (entries were removed)"
        )
    thumbs = case_dir / "thumbs"
    expected: set[str] = set()
    for sha in media_with_thumbnails(engine):
        report.thumbnails_checked += 1
        expected.add(sha)
        if not thumbnail_path(thumbs, sha).is_file():
            report.problems.append(f"media {sha}: its thumbnail is missing")
    report.problems += [
        f"media {sha}: no sighting points to it" for sha in media_without_sightings(engine)
    ]
    report.problems += decisions_disagreeing_with_audit(decision_rows(engine))
    if thumbs.is_dir():
        extra = [
            p.name
            for p in thumbs.glob("*/*.jpg")
            if not p.name.endswith(".sheet.jpg") and p.stem not in expected
        ]
        if extra:
            report.notes.append(
                f"{len(extra)} thumbnail file(s) without a media row (an interrupted scan, or "
                f"copied after a backup's snapshot), e.g. {sorted(extra)[0]}"
            )
    return report


def decisions_disagreeing_with_audit(rows: DecisionRows) -> list[str]:
    """Decisions whose rows no longer agree with the audit chain (edited in the database).

    Replays the chain's decision entries: each sets the media's version and status, and every
    stage but a blind second opinion sets its current decision. Every opinion row must be the
    entry of its version (same stage, same decision), every entry must still have its opinion
    row, and every assessment must be where the replay ends.
    """
    problems: list[str] = []
    replay: dict[str, tuple[tuple[object, ...], int, str]] = {}
    audited: set[tuple[str, int]] = set()
    for seq, media, detail in rows.entries:
        decision = tuple(detail.get(f) for f in DECISION_FIELDS)
        version, stage = int(str(detail.get("version", 0))), str(detail.get("stage"))
        audited.add((media, version))
        opinion = rows.opinions.get((media, version))
        if opinion is None:
            problems.append(f"media {media}: the decision of audit entry {seq} has no opinion row")
        elif opinion != (stage, decision):
            problems.append(
                f"media {media}: opinion version {version} differs from audit entry {seq}"
            )
        current = replay[media][0] if stage == "second" and media in replay else decision
        replay[media] = (current, version, str(detail.get("status")))
    for media, version in sorted(set(rows.opinions) - audited):
        problems.append(f"media {media}: opinion version {version} has no audit entry")
    for media, state in sorted(rows.assessments.items()):
        expected = replay.get(media)
        if expected is None:
            problems.append(f"media {media}: its assessment has no audit entry")
        elif state != expected:
            problems.append(
                f"media {media}: its assessment (version {state[1]}, {state[2]}) differs from "
                f"what the audit chain recorded (version {expected[1]}, {expected[2]})"
            )
    return problems
