"""Analyst welfare settings: a small pure model (after Coop).

Protective defaults (blur on, greyscale on, video muted, never autoplay) are overridden by the
organisation (set by an admin) and then by each user. Every value is validated against its
:class:`Setting`; an invalid or unknown override is ignored, so a bad value can never turn a
protection off by accident.

>>> resolve({"blur_radius": 8}, {"greyscale": False}).blur_radius
8
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class WelfareSettings:
    blur: bool = True
    greyscale: bool = True
    blur_radius: int = 14
    #: Longest side of images shown, in pixels.
    max_image_px: int = 512
    #: "hold" (a key or the mouse button), "hover" or "click" (toggle).
    reveal_mode: str = "hold"
    video_muted: bool = True
    #: Minutes between break reminders; 0 turns the reminder off.
    break_every_minutes: int = 50


@dataclass(frozen=True)
class Setting:
    name: str
    kind: type
    low: int = 0
    high: int = 0
    choices: tuple[str, ...] = ()


SETTINGS: tuple[Setting, ...] = (
    Setting("blur", bool),
    Setting("greyscale", bool),
    Setting("blur_radius", int, 2, 60),
    Setting("max_image_px", int, 64, 2048),
    Setting("reveal_mode", str, choices=("hold", "hover", "click")),
    Setting("video_muted", bool),
    Setting("break_every_minutes", int, 0, 480),
)
_BY_NAME = {s.name: s for s in SETTINGS}
assert set(_BY_NAME) == {f.name for f in fields(WelfareSettings)}


def parse(name: str, value: Any) -> Any:
    """The validated value of one setting, or raise ValueError."""
    s = _BY_NAME.get(name)
    if s is None:
        raise ValueError(f"unknown setting {name!r}")
    if s.kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "on", "1", "yes", "false",
                                                        "off", "0", "no"):  # fmt: skip
            return value.lower() in ("true", "on", "1", "yes")
        raise ValueError(f"{name}: expected true or false")
    if s.kind is int:
        try:
            n = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name}: expected a whole number") from None
        if not s.low <= n <= s.high:
            raise ValueError(f"{name}: must be between {s.low} and {s.high}")
        return n
    if str(value) not in s.choices:
        raise ValueError(f"{name}: one of {', '.join(s.choices)}")
    return str(value)


def clean(overrides: dict[str, Any]) -> dict[str, Any]:
    """Only the valid entries of an override mapping."""
    good: dict[str, Any] = {}
    for k, v in overrides.items():
        try:
            good[k] = parse(k, v)
        except ValueError:
            continue
    return good


def resolve(org: dict[str, Any], user: dict[str, Any]) -> WelfareSettings:
    """Defaults, then the organisation's overrides, then the user's."""
    return replace(WelfareSettings(), **(clean(org) | clean(user)))


@dataclass(frozen=True)
class ExposureSummary:
    """What an analyst was exposed to since ``since`` (shown to them)."""

    since: datetime
    items_revealed: int
    seconds_revealed: float


#: A reveal left open (tab closed, crash) counts at most this long.
MAX_REVEAL = timedelta(minutes=10)


def summarise(
    since: datetime, now: datetime, reveals: list[tuple[str, datetime, datetime | None]]
) -> ExposureSummary:
    """``reveals``: (media, revealed_at, concealed_at or None while still revealed)."""
    seconds = 0.0
    for _sha, start, end in reveals:
        stop = min(end or now, start + MAX_REVEAL)
        seconds += max(0.0, (stop - start).total_seconds())
    return ExposureSummary(since, len({r[0] for r in reveals}), seconds)


def break_due(settings: WelfareSettings, last_break: datetime, now: datetime) -> bool:
    every = settings.break_every_minutes
    return every > 0 and now - last_break >= timedelta(minutes=every)
