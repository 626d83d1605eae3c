"""The fallback's reading of ``python -m unittest discover -v`` as it really prints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hyperagent_testrunner.unittest_run import outcomes, parse

TESTS = """\
import unittest


class TestThings(unittest.TestCase):
    def test_ok(self):
        self.assertTrue(True)

    def test_wrong(self):
        self.assertEqual(1 + 1, 3, "arithmetic")

    def test_broken(self):
        raise KeyError("gone")

    @unittest.skip("later")
    def test_later(self):
        pass
"""


def test_counts_and_failures_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "test_things.py").write_text(TESTS)
    out = subprocess.run(
        [sys.executable, "-m", "unittest", "discover", "-v"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    counts, failures = parse(out.stderr.splitlines(), str(tmp_path), 4000)
    assert counts == {
        "passed": 1,
        "failed": 1,
        "skipped": 1,
        "errors": 1,
        "flaky": 0,
        "total": 4,
    }
    by_id = {f["id"]: f for f in failures}
    wrong = by_id["test_things.TestThings.test_wrong"]
    assert (wrong["kind"], wrong["file"], wrong["line"]) == ("failed", "test_things.py", 9)
    assert "arithmetic" in wrong["message"]
    assert by_id["test_things.TestThings.test_broken"]["kind"] == "error"
    listed = outcomes(out.stderr.splitlines())
    assert [(t["id"].rsplit(".", 1)[1], t["outcome"]) for t in listed] == [
        ("test_broken", "error"),
        ("test_later", "skipped"),
        ("test_ok", "passed"),
        ("test_wrong", "failed"),
    ]
