"""Tables of a case database. Every schema change goes through an Alembic migration
(``verisight/store/migrations``); a test checks that models and migrations agree.

Names follow the glossary: ``media`` is distinct content (by SHA-256), ``sighting`` is one
place an item was seen (including items that failed or were skipped, so that nothing is
lost), ``scan`` is one run of ``verisight scan``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite drops tzinfo)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Scan(Base):
    __tablename__ = "scan"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: JSON list of the absolute root paths, sorted: a re-run with the same roots resumes.
    roots: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: "running" until the scan completes, then "finished".
    status: Mapped[str] = mapped_column(String(16))
    #: JSON summary of the last completed run (counts), null while running.
    summary: Mapped[str | None] = mapped_column(Text, nullable=True)


class Media(Base):
    __tablename__ = "media"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    md5: Mapped[str] = mapped_column(String(32), index=True)
    sha1: Mapped[str] = mapped_column(String(40), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mime: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16), index=True)
    format: Mapped[str | None] = mapped_column(String(32), nullable=True)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pdq: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    pdq_quality: Mapped[int | None] = mapped_column(Integer, nullable=True)
    exif_orientation: Mapped[int | None] = mapped_column(Integer, nullable=True)
    camera_make: Mapped[str | None] = mapped_column(Text, nullable=True)
    camera_model: Mapped[str | None] = mapped_column(Text, nullable=True)
    camera_taken: Mapped[str | None] = mapped_column(String(32), nullable=True)
    error_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    error_detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    has_thumbnail: Mapped[bool] = mapped_column(Boolean, default=False)
    #: PDQ of the 7 other rotations/flips (comma-separated, in Meta's dihedral order:
    #: rotate90, rotate180, rotate270, flipX, flipY, flipPlus1, flipMinus1).
    pdq_variants: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: PDQ of the content inside a uniform frame (screenshot border, letterbox), if any.
    pdq_trimmed: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: Provenance verdict: "ai-declared" | "ai-edited" | "camera-declared" | "none".
    provenance: Mapped[str | None] = mapped_column(String(20), nullable=True, index=True)
    provenance_conflict: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    #: The full provenance report (evidence, generator, C2PA, parse errors) as JSON.
    provenance_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    generator_tool: Mapped[str | None] = mapped_column(String(40), nullable=True)
    #: Model name (or hash when no name) the generator metadata declares.
    generator_model: Mapped[str | None] = mapped_column(Text, nullable=True, index=True)
    #: Seed as text (ComfyUI seeds exceed 64-bit signed integers).
    generator_seed: Mapped[str | None] = mapped_column(String(40), nullable=True)
    #: Prompt, Unicode-normalised, case-folded, whitespace collapsed (for series grouping).
    generator_prompt: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: Score of the user-supplied ONNX detector (0–1), if one was run.
    detector_score: Mapped[float | None] = mapped_column(Float, nullable=True)


class MediaLuma(Base):
    """A media's 64×64 luma grid and 8×8 layout key (:mod:`verisight.analysis.luma`), kept
    apart from ``media`` so that ordinary reads never carry 4 KiB per row; read only by the
    crop pass of clustering (:mod:`verisight.clustering.crops`)."""

    __tablename__ = "media_luma"

    sha256: Mapped[str] = mapped_column(ForeignKey("media.sha256"), primary_key=True)
    key: Mapped[bytes] = mapped_column(LargeBinary)
    grid: Mapped[bytes] = mapped_column(LargeBinary)


class Sighting(Base):
    __tablename__ = "sighting"
    __table_args__ = (Index("ix_sighting_locator", "locator"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: SHA-256 of locator + content hash: the natural key that makes re-scans idempotent.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    #: Unique identity of the place (provenance path, plus a WARC record id if any), as
    #: readable text (see verisight.names.escaped).
    locator: Mapped[str] = mapped_column(Text)
    #: The locator's exact bytes when the text above is escaped (a name that is not valid
    #: UTF-8, or holds control characters); null when the text is exact.
    locator_raw: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    #: Provenance chain as people read it, e.g. "/x/seized.zip › inner.tar.gz › a.jpg"
    #: (escaped like the locator).
    path: Mapped[str] = mapped_column(Text)
    #: The chain as a JSON list of its links, lossless (undecodable bytes as \udcXX escapes).
    chain: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text, nullable=True)
    captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    media_sha256: Mapped[str | None] = mapped_column(
        ForeignKey("media.sha256"), nullable=True, index=True
    )
    #: "analysed" | "failed" | "skipped"
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    depth: Mapped[int] = mapped_column(Integer)
    is_container: Mapped[bool] = mapped_column(Boolean, default=False)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    mtime_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scan.id"), index=True)


class Bank(Base):
    """An imported hash list (or a "negative" allow-list that suppresses matches)."""

    __tablename__ = "bank"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    label: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: "match" (known material) or "negative" (known false positives: suppress matches).
    kind: Mapped[str] = mapped_column(String(16), default="match")
    #: PDQ match threshold for this bank; null means the case default (31).
    pdq_threshold: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BankImport(Base):
    """One file imported into a bank (a file with the same SHA-256 is imported once)."""

    __tablename__ = "bank_import"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("bank.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(Text)
    source_sha256: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(16))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    entries: Mapped[int] = mapped_column(Integer)
    skipped: Mapped[int] = mapped_column(Integer)


class BankEntryRow(Base):
    """One entry of a bank: any of its hashes, with the list's label and category."""

    __tablename__ = "bank_entry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("bank.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of bank + canonical content: importing the same entry twice adds nothing.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    md5: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    sha1: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    pdq: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    pdq_quality: Mapped[int | None] = mapped_column(Integer, nullable=True)
    label: Mapped[str | None] = mapped_column(Text, nullable=True)
    category: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: Source identifiers, e.g. a VICS MediaID.
    source_id: Mapped[str | None] = mapped_column(Text, nullable=True)
    series: Mapped[str | None] = mapped_column(Text, nullable=True)
    victim_identified: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    comments: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: JSON object of anything else the list carried (alternative hashes, tags...).
    extra: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: Where in the imported file it came from ("line 12", "$.value[0].Media[3]").
    location: Mapped[str | None] = mapped_column(Text, nullable=True)
    import_id: Mapped[int | None] = mapped_column(
        ForeignKey("bank_import.id", ondelete="CASCADE"), nullable=True
    )


class Match(Base):
    """A media recognised by a bank entry."""

    __tablename__ = "match"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: SHA-256 of media + entry + hash type + variant: re-matching adds nothing twice.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    media_sha256: Mapped[str] = mapped_column(ForeignKey("media.sha256"), index=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("bank.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("bank_entry.id", ondelete="CASCADE"), index=True
    )
    #: "md5" | "sha1" | "sha256" | "pdq"
    hash_type: Mapped[str] = mapped_column(String(16))
    distance: Mapped[int] = mapped_column(Integer)
    #: Which dihedral variant of the media matched ("original", "rotate90", ...), for PDQ.
    variant: Mapped[str | None] = mapped_column(String(16), nullable=True)
    matched_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- The analyst's room (issue 5): users, sessions, assessments, audit, exposure -------------


class AppUser(Base):
    """A person who logs in to ``verisight serve``; ``role`` is admin/analyst/reviewer/auditor."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    #: argon2id hash (argon2-cffi's encoded form).
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: JSON object of this user's welfare overrides (missing keys fall back to the org's).
    settings: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Set by a password reset: the next session may do nothing but change the password.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)


class SsoIdentity(Base):
    """An OpenID Connect identity (issuer, subject) linked to the user it logs in as."""

    __tablename__ = "sso_identity"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OrgSetting(Base):
    """Organisation-wide settings set by an admin (JSON values), e.g. welfare defaults."""

    __tablename__ = "org_setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A logged-in browser session; only the SHA-256 of the cookie's token is stored."""

    __tablename__ = "web_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: When the analyst last took a break (the break reminder counts from here).
    break_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Assessment(Base):
    """The current decision on one media (one row per media), optimistically locked."""

    __tablename__ = "assessment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    media_sha256: Mapped[str] = mapped_column(ForeignKey("media.sha256"), unique=True)
    outcome: Mapped[str] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(1), nullable=True)
    origin: Mapped[str] = mapped_column(String(32))
    age_band: Mapped[str] = mapped_column(String(8))
    sex: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    analyst_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    #: Incremented by every change; an edit based on an older version is refused (409).
    version: Mapped[int] = mapped_column(Integer)
    #: "final" | "awaiting-review" | "disputed" | "resolved"
    status: Mapped[str] = mapped_column(String(16), index=True)
    #: Why it needs a second analyst: "sample" | "bank-disagreement" (null when not sent).
    review_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    #: The VICS category of the bank entry the media matched, when one did.
    bank_category: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Opinion(Base):
    """Every opinion ever given on a media: first, second (QA), resolution, edits."""

    __tablename__ = "assessment_opinion"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    media_sha256: Mapped[str] = mapped_column(ForeignKey("media.sha256"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    #: "first" | "edit" | "second" | "resolution"
    stage: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(1), nullable=True)
    origin: Mapped[str] = mapped_column(String(32))
    age_band: Mapped[str] = mapped_column(String(8))
    sex: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: The assessment version this opinion produced.
    version: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """Append-only, hash-chained log: ``hash = sha256(prev_hash + canonical JSON of entry)``."""

    __tablename__ = "audit_entry"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str | None] = mapped_column(String(100), nullable=True)
    action: Mapped[str] = mapped_column(String(32), index=True)
    media_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    #: Canonical JSON object (sorted keys) with the action's details.
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Exposure(Base):
    """One reveal of one media by one analyst: counts items and time with a revealed item."""

    __tablename__ = "exposure"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    media_sha256: Mapped[str] = mapped_column(String(64))
    revealed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    concealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ModelAlias(Base):
    """A hotline-supplied name (and URL) for a model or LoRA hash (``verisight intel
    import-models``)."""

    __tablename__ = "model_alias"

    #: Lowercase hex as supplied (full SHA-256, or A1111's 10 / LoRA 12 digit short hash).
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text, nullable=True)
    kind: Mapped[str | None] = mapped_column(String(16), nullable=True)


class ApiKey(Base):
    """A key for ``verisight api``: only its SHA-256 and a short prefix are stored."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    #: The first characters of the key, shown in listings to tell keys apart.
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: Comma-separated scopes: lookup, hash, curate.
    scopes: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class BankSetting(Base):
    """Per-bank settings of the platform API (HMA's ``matching_enabled_ratio``)."""

    __tablename__ = "bank_setting"

    bank_id: Mapped[int] = mapped_column(
        ForeignKey("bank.id", ondelete="CASCADE"), primary_key=True
    )
    enabled_ratio: Mapped[float] = mapped_column(Float, default=1.0)


class BankContentState(Base):
    """What the platform API adds to a bank entry: disabling, a note, user metadata."""

    __tablename__ = "bank_content_state"

    entry_id: Mapped[int] = mapped_column(
        ForeignKey("bank_entry.id", ondelete="CASCADE"), primary_key=True
    )
    #: HMA's magic values: 0 disabled, 1 enabled, otherwise disabled until this Unix time.
    disable_until_ts: Mapped[int] = mapped_column(BigInteger, default=1)
    note: Mapped[str | None] = mapped_column(String(255), nullable=True)
    #: JSON object (HMA's ``BankedContentMetadata``: content_id, content_uri, json).
    user_metadata: Mapped[str | None] = mapped_column(Text, nullable=True)


class BankChange(Base):
    """A change feed for index followers: entries disabled, enabled or removed, banks
    deleted or renamed. (Added entries are found by id; they need no row here.)"""

    __tablename__ = "bank_change"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    op: Mapped[str] = mapped_column(String(16))
    bank_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    entry_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
