"""Roles and what each may do, as data; :func:`can` is the only check the app uses.

=========  ====================================================================
admin      users, organisation settings, audit log, exports (no media, no verdicts)
analyst    the queue, media (blurred; reveal), assessments, second opinions
reviewer   everything an analyst does, plus resolving disagreements
auditor    read-only: audit log, histories (no media), exports
=========  ====================================================================
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    ANALYST = "analyst"
    REVIEWER = "reviewer"
    AUDITOR = "auditor"


class Perm(StrEnum):
    VIEW_MEDIA = "view-media"
    ASSESS = "assess"
    SECOND_OPINION = "second-opinion"
    RESOLVE = "resolve"
    READ_HISTORY = "read-history"
    READ_AUDIT = "read-audit"
    EXPORT = "export"
    MANAGE = "manage"


PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.ADMIN: frozenset({Perm.READ_HISTORY, Perm.READ_AUDIT, Perm.EXPORT, Perm.MANAGE}),
    Role.ANALYST: frozenset({Perm.VIEW_MEDIA, Perm.ASSESS, Perm.SECOND_OPINION, Perm.READ_HISTORY}),
    Role.REVIEWER: frozenset(
        {
            Perm.VIEW_MEDIA,
            Perm.ASSESS,
            Perm.SECOND_OPINION,
            Perm.RESOLVE,
            Perm.READ_HISTORY,
            Perm.EXPORT,
        }
    ),
    Role.AUDITOR: frozenset({Perm.READ_HISTORY, Perm.READ_AUDIT, Perm.EXPORT}),
}


def can(role: str, perm: Perm) -> bool:
    try:
        return perm in PERMISSIONS[Role(role)]
    except ValueError:
        return False
