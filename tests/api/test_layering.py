"""The API package is a thin shell: no SQL, no analysis; it reaches banks through ``Case``."""

from __future__ import annotations

import ast
from pathlib import Path

import verisight.api

API = Path(verisight.api.__file__).parent
FORBIDDEN = ("sqlalchemy", "verisight.analysis", "verisight.matching.pdq_index", "numpy")


def test_api_package_imports_no_sql_and_no_analysis() -> None:
    for path in sorted(API.glob("*.py")):
        # the in-memory index and its persisted segments hold numpy arrays from the feed
        if path.name in ("index.py", "segments.py"):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(FORBIDDEN), f"{path.name} imports {name}"
        assert ".store." not in path.read_text().replace("verisight.store.", ""), path.name
