"""``verisight demo`` walks through the whole flow, and running it twice is safe."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from verisight.case import Case
from verisight.cli import app

runner = CliRunner()


def test_demo_shows_the_whole_flow_and_runs_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["demo", "--case", "case", "--collection", "coll", "-w", "1"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    text = first.stdout
    for step in ("1. Scan", "2. Bank", "3. Provenance", "4. Clusters", "5. Triage",
                 "6. Report", "7. Accounts"):  # fmt: skip
        assert step in text
    # the demo bank holds some of the demo's own pictures: scene 6 (and its copy in the
    # nested archive, by PDQ) and scene 4 (by SHA-256)
    assert "scene-06-q75.jpg" in text and "photos/scene-04.jpg" in text
    assert "ai-declared 2" in text and "demo-abstract-v1 (2)" in text
    m = re.search(r"(\d+) pictures seen \((\d+) distinct\), (\d+) decisions", text)
    assert m, text
    seen, distinct, decisions = map(int, m.groups())
    assert seen > distinct > decisions > 0
    assert (tmp_path / "case" / "report.html").read_text().startswith("<!")
    passwords = re.findall(r"demo-admin \(admin\): password (\S+)", text)
    assert len(passwords) == 1
    assert "serve --case case" in text and "http://127.0.0.1:8700/" in text
    with Case(tmp_path / "case") as c:
        admin = c.assessment.users.by_name("demo-admin")
        assert admin is not None and admin.role == "admin"
        assert c.assessment.accounts.login("demo-admin", passwords[0], "127.0.0.1") is not None
    # again: nothing is added twice, the passwords are not shown again
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert "already recorded" in second.stdout and "already imported" in second.stdout
    assert "exists already, password unchanged" in second.stdout
    assert passwords[0] not in second.stdout
    assert f"{decisions} decisions" in second.stdout
