"""The size and nesting pass, on real source text."""

from __future__ import annotations

from hyperagent_codereview.sizepass import Limits, check_source

LIMITS = Limits(function_lines=5, nesting=2, file_lines=40, complexity=10)
LOOSE = Limits(function_lines=100, nesting=2, file_lines=40, complexity=10)


def rules(source: str, limits: Limits = LIMITS) -> list[tuple[str, int, int]]:
    return [(f.rule, f.line, f.end_line) for f in check_source("m.py", source, limits)]


def test_a_function_longer_than_the_limit_is_reported_at_its_def_line() -> None:
    source = (
        "import os\n\n\n@decorator\ndef long():\n"
        + "    x = 1\n" * 5
        + "\n\ndef short():\n    return 1\n"
    )
    assert rules(source) == [("long-function", 5, 10)]
    assert "`long` is 6 lines long (limit 5)" in check_source("m.py", source, LIMITS)[0].message


def test_a_function_of_exactly_the_limit_is_fine() -> None:
    assert rules("def f():\n" + "    x = 1\n" * 4) == []


def test_nesting_is_reported_once_at_the_block_past_the_limit() -> None:
    source = """\
def f(xs):
    for x in xs:
        if x:
            while x:
                if x > 1:
                    x -= 1
    try:
        pass
    except ValueError:
        with open(xs) as fh:
            if fh:
                pass
"""
    assert rules(source, LOOSE) == [("deep-nesting", 4, 6), ("deep-nesting", 11, 12)]


def test_a_nested_function_starts_its_own_count() -> None:
    source = """\
def outer():
    if a:
        if b:
            def inner():
                if c:
                    if d:
                        pass
"""
    assert rules(source, LOOSE) == []


def test_a_big_file_and_a_file_that_does_not_parse() -> None:
    assert rules("x = 1\n" * 41) == [("big-file", 1, 41)]
    assert rules("def (:\n") == []  # ruff reports the syntax error
