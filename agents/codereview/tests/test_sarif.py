"""Findings as SARIF 2.1.0, checked against the schema's shape (tests/data)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from hyperagent_codereview import sarif
from hyperagent_codereview.findings import Finding, report, summary_line

SHAPE = json.loads((Path(__file__).parent / "data" / "sarif-2.1.0-shape.json").read_text())

UNUSED = Finding(
    "pkg/main.py",
    3,
    8,
    "F401",
    "error",
    "`json` imported but unused",
    "ruff",
    end_line=3,
    fix={
        "message": "Remove unused import: `json`",
        "applicability": "safe",
        "edits": [
            {
                "content": "",
                "location": {"row": 3, "column": 1},
                "end_location": {"row": 4, "column": 1},
            }
        ],
    },
    url="https://docs.astral.sh/ruff/rules/unused-import",
)
LONG = Finding(
    "pkg/main.py", 20, 1, "long-function", "warning", "too long", "codereview", end_line=90
)
FORMAT = Finding(
    "pkg/b.py",
    5,
    1,
    "format",
    "warning",
    "not formatted",
    "ruff",
    fix={"message": "Reformat", "diff": "@@ -5 +5 @@\n-f( x )\n+f(x)\n"},
)


def test_the_document_has_a_run_per_tool_and_fits_the_schema(tmp_path: Path) -> None:
    doc = sarif.document(
        [UNUSED, FORMAT, LONG], tmp_path, ruff_version="0.17.6", agent_version="0.1.0"
    )
    jsonschema.validate(doc, SHAPE, cls=jsonschema.Draft7Validator)
    ruff_run, ours = doc["runs"]
    assert ruff_run["tool"]["driver"]["name"] == "ruff"
    assert [r["id"] for r in ruff_run["tool"]["driver"]["rules"]] == ["F401", "format"]
    assert [r["ruleIndex"] for r in ruff_run["results"]] == [0, 1]
    unused = ruff_run["results"][0]
    assert unused["level"] == "error"
    assert unused["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "pkg/main.py", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 3, "startColumn": 8},
    }
    [change] = unused["fixes"][0]["artifactChanges"]
    assert change["replacements"] == [
        {
            "deletedRegion": {"startLine": 3, "startColumn": 1, "endLine": 4, "endColumn": 1},
            "insertedContent": {"text": ""},
        }
    ]
    assert ruff_run["results"][1]["properties"]["formatDiff"].startswith("@@ -5 +5 @@")
    assert "fixes" not in ruff_run["results"][1]
    [long] = ours["results"]
    assert long["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 20,
        "startColumn": 1,
        "endLine": 90,
    }
    assert ours["tool"]["driver"]["rules"][0]["help"]["text"].startswith("Split the function")
    assert ruff_run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.resolve().as_uri() + "/"


def test_a_document_that_breaks_the_shape_is_caught() -> None:
    doc = sarif.document([UNUSED], Path("/"), ruff_version="x", agent_version="y")
    doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    with pytest.raises(jsonschema.ValidationError) as err:
        jsonschema.validate(doc, SHAPE, cls=jsonschema.Draft7Validator)
    assert "startLine" in str(err.value.absolute_path)


def test_the_summary_and_a_bounded_list_worst_first() -> None:
    assert summary_line([]) == "no findings"
    assert summary_line([UNUSED, LONG, FORMAT]) == "3 findings (1 error, 2 warnings) in 2 files"
    out = report([LONG, FORMAT, UNUSED], limit=1)
    assert [f["rule"] for f in out["findings"]] == ["F401"]
    assert out["truncated"].startswith("2 more findings are not listed")
    assert out["by_severity"] == {"error": 1, "warning": 2, "note": 0}
    assert out["by_rule"] == {"F401": 1, "format": 1, "long-function": 1}
