"""The dependency pass: what a project pins, and pip-audit's JSON read as findings."""

from __future__ import annotations

import json
from pathlib import Path

from hyperagent_securityaudit import depspass

#: pip-audit 2.10.1's `--format json --aliases on --desc on` output, as it wrote it for these
#: pins against an OSV stand-in that knew one advisory.
PIP_AUDIT_JSON = json.dumps(
    {
        "dependencies": [
            {
                "name": "jinja2",
                "version": "3.1.2",
                "vulns": [
                    {
                        "id": "CVE-2024-22195",
                        "fix_versions": ["3.1.3"],
                        "aliases": ["GHSA-h5c8-rqwp-cp95"],
                        "description": "Jinja vulnerable to HTML attribute injection",
                    }
                ],
            },
            {"name": "idna", "version": "3.10", "vulns": []},
        ],
        "fixes": [],
    }
)


def project(root: Path) -> Path:
    (root / "requirements.txt").write_text(
        "# runtime\nJinja2==3.1.2  # templates\nidna==3.10 \\\n    --hash=sha256:abc\n"
        "requests>=2\n-r more.txt\n"
    )
    (root / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = [\n    "fastapi>=0.115,<1",\n'
        '    "idna==3.10",\n]\n[project.optional-dependencies]\ndev = ["pytest==8.3.2"]\n'
    )
    return root


def test_pins_are_audited_and_ranges_are_listed_as_not_pinned(tmp_path: Path) -> None:
    found = depspass.declared(project(tmp_path))
    assert found.files == ["requirements.txt", "pyproject.toml"]
    assert [(p.name, p.version, p.file, p.line) for p in found.pins] == [
        ("Jinja2", "3.1.2", "requirements.txt", 2),
        ("idna", "3.10", "requirements.txt", 3),
        ("idna", "3.10", "pyproject.toml", 5),
        ("pytest", "8.3.2", "pyproject.toml", 8),
    ]
    assert found.unpinned == [
        "requirements.txt:5 requests>=2",
        "pyproject.toml:4 fastapi<1,>=0.115",
    ]
    assert depspass.requirements(found.pins) == "idna==3.10\njinja2==3.1.2\npytest==8.3.2\n"


def test_an_advisory_names_the_package_its_ids_the_fixed_version_and_where_to_fix(
    tmp_path: Path,
) -> None:
    pins = depspass.declared(project(tmp_path)).pins
    [finding] = depspass.parse(PIP_AUDIT_JSON, pins)
    assert finding.kind == "dependency"
    assert finding.location == "jinja2@3.1.2"
    assert finding.rule == "CVE-2024-22195"
    assert finding.aliases == ("GHSA-h5c8-rqwp-cp95",)
    assert finding.fixed_version == "3.1.3"
    assert (finding.file, finding.line) == ("requirements.txt", 2)
    assert (
        finding.fix == "Upgrade jinja2 to 3.1.3 or later: pin jinja2==3.1.3 in requirements.txt:2."
    )
    assert finding.url == "https://osv.dev/vulnerability/CVE-2024-22195"
    assert "HTML attribute injection" in finding.message


def test_the_lowest_fix_above_the_pinned_version_is_the_one_advised() -> None:
    assert depspass._fixed("2.0", ["1.5", "2.1", "3.0"]) == "2.1"
    assert depspass._fixed("2.0", []) == ""
    pin = depspass.Pin("old", "1.0", "requirements.txt", 1)
    doc = {"dependencies": [{"name": "old", "version": "1.0", "vulns": [{"id": "PYSEC-1"}]}]}
    [finding] = depspass.parse(json.dumps(doc), [pin])
    assert finding.fixed_version == ""
    assert finding.fix.startswith("No fixed release of old is known yet")


def test_pip_audit_asks_osv_without_resolving_or_pip(tmp_path: Path) -> None:
    argv = depspass.args(
        tmp_path / "r.txt", tmp_path / "o.json", tmp_path / "c", "https://osv.test/v1/query", 7
    )
    for flag in ("--no-deps", "--disable-pip"):
        assert flag in argv
    assert argv[argv.index("--vulnerability-service") + 1] == "osv"
    assert argv[argv.index("--osv-url") + 1] == "https://osv.test/v1/query"
    assert argv[argv.index("--timeout") + 1] == "7"
