"""The README's security checklist (section "安全与可靠性 / Security and reliability") cannot rot:
it has the 47 rows of the security checklist (shared/reference/security.md §8), each names at least
one test that exists — every ``tests/…py::test_name`` node id must resolve to a test function — or
says why the row does not apply."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEADING = "## 安全与可靠性 / Security and reliability"
NODE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)(?:\[[^\]`]*\])?`")


def _section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert HEADING in text, "the README has no security and reliability section"
    body = text.split(HEADING, 1)[1]
    return re.split(r"\n## ", body, maxsplit=1)[0]


def _rows() -> dict[int, str]:
    rows = {}
    for line in _section().splitlines():
        match = re.match(r"\|\s*(\d+)\s*\|", line)
        if match:
            rows[int(match.group(1))] = line
    return rows


def _tests_in(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
            names.add(node.name)
    return names


def test_the_table_has_every_checklist_row():
    assert sorted(_rows()) == list(range(1, 48))


def test_every_row_names_an_existing_test_or_says_why_not():
    missing, empty = [], []
    cache: dict[str, set[str]] = {}
    for number, line in _rows().items():
        nodes = NODE.findall(line)
        if not nodes and "不适用" not in line and "N/A" not in line:
            empty.append(number)
        for path, name in nodes:
            if path not in cache:
                file = ROOT / path
                cache[path] = _tests_in(file) if file.exists() else set()
            if name not in cache[path]:
                missing.append(f"row {number}: {path}::{name}")
    assert not empty, f"rows without a test or a reason: {empty}"
    assert not missing, "node ids that do not resolve:\n" + "\n".join(missing)


def test_node_ids_are_recognised():
    """The checker itself: a made-up node id is reported."""
    assert NODE.findall("| 1 | x | `tests/security/test_checklist.py::test_nope` | pass |") == [
        ("tests/security/test_checklist.py", "test_nope")]
    assert "test_nope" not in _tests_in(ROOT / "tests/security/test_checklist.py")
