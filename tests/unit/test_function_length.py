"""No function in contracts/, workflows/ or services/ is longer than 80 lines.

A function that long does several jobs at once: it cannot be read in one screen, reviewed in one
sitting or tested one job at a time. Length runs from the ``def`` line to the last line of the
body (decorators do not count, nested functions count inside the one that holds them and again
on their own). Tests are exempt: a scenario may read top to bottom.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("contracts", "workflows", "services")
MAX_LINES = 80


def function_lengths(source: str) -> list[tuple[str, int, int]]:
    """``(name, def line, lines)`` of every function and method in ``source``, nested ones too."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            assert node.end_lineno is not None
            found.append((node.name, node.lineno, node.end_lineno - node.lineno + 1))
    return found


def _sources() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def test_the_length_runs_from_the_def_line_to_the_end_of_the_body() -> None:
    source = (
        "import functools\n"
        "\n"
        "@functools.cache\n"
        "@functools.wraps(print)\n"
        "def outer(\n"
        "    a: int,\n"
        ") -> int:\n"
        '    """Doc."""\n'
        "\n"
        "    async def inner() -> None:\n"
        "        pass\n"
        "\n"
        "    return a\n"
    )
    assert sorted(function_lengths(source)) == [("inner", 10, 2), ("outer", 5, 9)]


def test_no_function_is_longer_than_80_lines() -> None:
    sources = _sources()
    assert len(sources) > 100, f"expected the project's modules under {ROOT}, found {len(sources)}"
    too_long = [
        f"{path.relative_to(ROOT)}:{line} {name} ({lines} lines)"
        for path in sources
        for name, line, lines in function_lengths(path.read_text(encoding="utf-8"))
        if lines > MAX_LINES
    ]
    assert not too_long, f"{len(too_long)} functions over {MAX_LINES} lines:\n" + "\n".join(too_long)
