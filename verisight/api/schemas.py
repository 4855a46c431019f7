"""Pydantic models at the API's edge: they validate requests and generate the OpenAPI spec.

Field names and shapes are HMA's (``schemas/curation.py``, ``schemas/matching.py``); fields
HMA does not have are Verisight's extensions, which HMA clients ignore.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAX_BATCH = 10_000


class BankCreateRequest(BaseModel):
    name: str
    enabled_ratio: float | None = 1.0
    enabled: bool | None = None
    #: Extensions: Verisight's bank kind and PDQ threshold.
    kind: str = "match"
    pdq_threshold: int | None = Field(None, ge=0, le=256)


class BankUpdateRequest(BaseModel):
    name: str | None = None
    enabled_ratio: float | None = None
    enabled: bool | None = None


class BankConfig(BaseModel):
    """HMA's ``BankConfig`` plus Verisight's settings."""

    name: str
    matching_enabled_ratio: float
    kind: str = Field(description="Extension: match, or negative (an allow-list)")
    pdq_threshold: int | None = Field(description="Extension: PDQ match distance (null: 31)")
    label: str | None = Field(description="Extension")
    entries: int = Field(description="Extension: entries in the bank")


class BankedContentMetadata(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    content_id: str | None = None
    content_uri: str | None = None
    json_data: dict[str, Any] | None = Field(None, alias="json")


class AddedContent(BaseModel):
    id: int
    signals: dict[str, str]


class BatchRequest(BaseModel):
    signal_type: str = "pdq"
    signals: list[str | list[str]] = Field(..., max_length=MAX_BATCH)
    rotations: bool = False
    banks: list[str] | None = None


class BatchMatch(BaseModel):
    bank: str
    bank_kind: str
    bank_content_id: int
    distance: str
    threshold: int | None
    variant: str | None
    label: str | None
    category: int | None
    source_id: str | None
    series: str | None
    victim_identified: bool | None


class BatchResult(BaseModel):
    signal: str
    matches: list[BatchMatch]
    suppressed_by_negative_bank: bool


class BatchResponse(BaseModel):
    signal_type: str
    results: list[BatchResult]
