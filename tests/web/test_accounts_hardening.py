"""Issue 18, accounts: bounded login audit, no lock-out by strangers, hostile names,
look-alike names, and the ``verisight user`` operator commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.web.conftest import PASSWORD, Browser
from tests.web.test_audit import cli
from verisight.assessment import AssessmentService
from verisight.assessment.names import skeleton
from verisight.errors import UsageError


def _audit(service: AssessmentService, action: str) -> list[object]:
    return [e for e in service.audit.entries(limit=1000) if e.action == action]


def test_failed_login_audits_a_bounded_record_not_the_name(
    browser: Browser, service: AssessmentService
) -> None:
    huge = "n" * 10_000
    assert browser.login(huge, "wrong password!") == 401
    (entry,) = _audit(service, "login-failed")
    assert entry.actor is None  # type: ignore[attr-defined]
    text = json.dumps(entry.detail)  # type: ignore[attr-defined]
    assert "nnnn" not in text and len(text) < 300
    assert "unknown_name_sha256" in entry.detail  # type: ignore[attr-defined]


def test_refused_logins_are_counted_not_audited(
    browser: Browser, service: AssessmentService
) -> None:
    for _ in range(3):
        assert browser.login("analyst", "wrong password!") == 401
    before = len(list(service.audit.entries(limit=1000)))
    for _ in range(5):
        assert browser.login("analyst", "wrong password!" + "x" * 10_000) == 429
    assert len(list(service.audit.entries(limit=1000))) == before
    assert service.accounts.limiter.refused == 5


def test_a_stranger_cannot_lock_a_user_out(service: AssessmentService) -> None:
    for _ in range(10):
        try:
            assert service.accounts.login("analyst", "guess guess", "203.0.113.9") is None
        except Exception as exc:  # the stranger's own address is slowed down
            assert type(exc).__name__ == "TooManyAttempts"
    assert service.accounts.login("analyst", PASSWORD, "192.0.2.10") is not None


@pytest.mark.parametrize("name", ["x" * 101, "ana\x00lyst", "\x00"])
def test_hostile_login_names_fail_cleanly_and_count(
    browser: Browser, service: AssessmentService, name: str
) -> None:
    """Over 100 characters or a NUL: a 401 that is audited and counted, never a 500."""
    assert browser.login(name, "wrong password!") == 401
    assert len(_audit(service, "login-failed")) == 1
    for _ in range(2):
        browser.login(name, "wrong password!")
    assert browser.login(name, "wrong password!") == 429


@pytest.mark.parametrize("name", ["Analyst", "ANALYST", "аnalyst", "ａｎａｌｙｓｔ", "anаlyst"])
def test_look_alike_names_are_refused(service: AssessmentService, name: str) -> None:
    with pytest.raises(UsageError):
        service.accounts.add_user(name, "analyst", PASSWORD)


def test_single_script_look_alikes_share_a_skeleton() -> None:
    assert skeleton("асе") == skeleton("ACE") == "ace"  # all Cyrillic against Latin
    assert skeleton("bob") != skeleton("rob")


def test_user_commands_disable_reset_and_revoke(
    app_factory: object, service: AssessmentService, case_dir_url: tuple[Path, str]
) -> None:
    case_dir, url = case_dir_url
    where = ["--case", str(case_dir), "--database-url", url]
    one, two = app_factory(), app_factory()  # type: ignore[operator]
    assert one.login("analyst") == 303 and two.login("analyst") == 303
    run = CliRunner().invoke
    res = run(cli(), ["user", "revoke-sessions", "analyst", *where])
    assert res.exit_code == 0 and "2 session(s)" in res.output, res.output
    assert one.client.get("/queue", follow_redirects=False).status_code == 401

    assert one.login("analyst") == 303
    assert run(cli(), ["user", "disable", "analyst", *where]).exit_code == 0
    assert one.client.get("/queue", follow_redirects=False).status_code == 401
    assert two.login("analyst") == 401
    assert run(cli(), ["user", "enable", "analyst", *where]).exit_code == 0
    assert two.login("analyst") == 303

    res = run(cli(), ["user", "reset-password", "analyst", "--password-stdin", *where],
              input="a brand new passphrase\n")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert two.client.get("/queue", follow_redirects=False).status_code == 401
    assert one.login("analyst") == 401
    assert one.login("analyst", "a brand new passphrase") == 303
    missing = run(cli(), ["user", "disable", "nobody", *where])
    assert missing.exit_code == 2 and "no user named" in missing.output
    actions = {e.action for e in service.audit.entries(limit=1000)}
    assert {"user-disable", "user-enable", "user-password", "user-sessions-revoked"} <= actions


def test_forwarded_for_is_trusted_only_from_configured_proxies(
    case_dir_url: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    seen: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.append(kw))
    case_dir, url = case_dir_url
    where = ["serve", "--case", str(case_dir), "--database-url", url]
    assert CliRunner().invoke(cli(), where).exit_code == 0
    assert seen[-1]["proxy_headers"] is False
    args = [*where, "--trusted-proxy", "10.0.0.5", "--trusted-proxy", "10.0.0.6"]
    assert CliRunner().invoke(cli(), args).exit_code == 0
    assert seen[-1]["proxy_headers"] is True
    assert seen[-1]["forwarded_allow_ips"] == "10.0.0.5,10.0.0.6"
