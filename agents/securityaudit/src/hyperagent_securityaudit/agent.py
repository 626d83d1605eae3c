"""The security-audit agent: ``security.audit`` audits the project that is the task's folder.

Steps, each reported as progress with its log lines: list the project's files -> the dependency
pass (the pinned dependencies, asked about in OSV through the egress proxy, with the person's
consent for the host) -> the secrets pass (detect-secrets over the working tree, then over every
commit's added lines in the git history) -> the code pass (bandit) -> write the SARIF report ->
the result. Read-only: nothing is written in the project; tool output that is data goes to a
scratch folder in the agent's own temporary folder, removed at the end. A secret's value never
reaches a log, the result or the report.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from hyperagent_sdk import (
    Agent,
    Artifact,
    Outcome,
    PermissionRefused,
    SettingError,
    Steps,
    TaskContext,
    TaskFailed,
)

from . import banditpass, depspass, sarif, secretspass
from .findings import Finding, ordered, report
from .settings import Settings

DRAFT = "https://json-schema.org/draft/2020-12/schema"
VERSION = "0.1.0"

PASSES = ("dependencies", "secrets", "code")

agent = Agent(name="securityaudit", version=VERSION, max_concurrency=2, cost=1.0)

AUDIT_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "security.audit payload",
    "description": "The project is the task's folder (`workspace` when submitting).",
    "type": "object",
    "properties": {
        "passes": {
            "type": "array",
            "items": {"enum": list(PASSES)},
            "minItems": 1,
            "uniqueItems": True,
            "default": list(PASSES),
            "description": (
                "Which passes to run: dependencies (pip-audit), secrets (detect-secrets),"
                " code (bandit). Default: all three."
            ),
        },
        "include_history": {
            "type": "boolean",
            "default": True,
            "description": (
                "The old commits too: scan every commit's added lines in the git history for"
                " secrets."
            ),
        },
        "offline": {
            "type": "boolean",
            "default": False,
            "description": (
                "Work offline, without the network or internet: skip the dependency pass (the"
                " only one that needs the network)."
            ),
        },
    },
    "additionalProperties": False,
}

#: Environment for git: no optional lock (so no index refresh is written into the project).
_GIT_ENV = {"GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0"}
#: A repository's own config must not make git run programs (fsmonitor, external diff drivers).
_GIT = ["git", "-c", "core.fsmonitor=false", "-c", "core.quotepath=off"]
#: Folders never scanned outside a git repository (environments, caches, other tools' state).
_SKIP_DIRS = {
    ".git",
    ".hg",
    ".venv",
    "venv",
    "node_modules",
    "__pycache__",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
}
#: Proxy variables: the vulnerability service is reached only through them when they are set.
_PROXY_VARS = ("https_proxy", "HTTPS_PROXY")

#: Progress steps, with the fraction of the whole each starts at.
STEPS = {
    "listing files": 0.0,
    "dependencies": 0.05,
    "secrets: working tree": 0.3,
    "secrets: git history": 0.45,
    "code": 0.7,
    "writing SARIF": 0.95,
}


class Audit:
    """One audit of ``root``; tool output that is data goes to files in ``scratch``."""

    def __init__(self, ctx: TaskContext, root: Path, settings: Settings, scratch: Path) -> None:
        self.ctx = ctx
        self.root = root
        self.settings = settings
        self.scratch = scratch
        self.step = Steps(ctx, STEPS)
        self.is_git = (root / ".git").exists()
        #: What each part of the result says about its pass.
        self.notes: dict[str, Any] = {}
        #: Tool -> version, for each tool that ran (the SARIF report has a run for each).
        self.versions: dict[str, str] = {}

    # ----- running tools -----

    def run(
        self, argv: Sequence[str], *, ok: Sequence[int] = (0,), env: dict[str, str] | None = None
    ) -> int:
        """Run a tool (what it says goes to the log); an exit code outside ``ok`` fails the task
        naming it and the last thing it said."""
        said: list[str] = []
        code = self.ctx.run(argv, cwd=self.root, env=env, check=False, on_line=said.append)
        if code not in ok:
            last = said[-1] if said else "no output"
            shown = argv[2:] if len(argv) > 1 and argv[1] == "-m" else argv
            raise TaskFailed(f"`{' '.join(shown[:2])}` failed (exit {code}): {last}")
        return code

    def capture(self, argv: Sequence[str], name: str, *, ok: Sequence[int] = (0,)) -> Path:
        """Run a command whose standard output is data (file lists, patches that may hold
        secrets): it goes to a file in the scratch folder, never to the task log."""
        out = self.scratch / name
        shell = ["sh", "-c", 'out="$1"; shift; exec "$@" > "$out"', "sh", str(out), *argv]
        said: list[str] = []
        code = self.ctx.run(shell, cwd=self.root, env=_GIT_ENV, check=False, on_line=said.append)
        if code not in ok:
            last = said[-1] if said else "no output"
            raise TaskFailed(f"`{' '.join(argv[:4])}` failed (exit {code}): {last}")
        return out

    # ----- the steps -----

    def files(self) -> list[str]:
        """The project's files, relative: what git tracks plus new files it does not ignore;
        outside a repository, every file but environments and caches."""
        self.step("listing files")
        if not self.root.is_dir():
            raise TaskFailed(f"{self.root} is not a folder")
        if self.is_git:
            out = self.capture(
                [*_GIT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                "files.z",
            )
            names = sorted({n for n in out.read_text(errors="replace").split("\0") if n})
        else:
            names = []
            for folder, dirs, files in os.walk(self.root):
                dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
                base = Path(folder).relative_to(self.root)
                names.extend((base / f).as_posix() for f in sorted(files))
        self.ctx.log.info("files", count=len(names), git=self.is_git)
        return names

    def dependencies(self, offline: bool) -> list[Finding]:
        settings = self.settings
        if offline:
            self.step("dependencies", "skipped (offline)")
            self.notes["dependencies"] = {"ran": False, "why": "offline: not asked for"}
            return []
        declared = depspass.declared(self.root)
        pins = depspass.requirements(declared.pins)
        audited = pins.count("\n")
        self.step(
            "dependencies",
            f"{audited} pinned packages in {', '.join(declared.files) or 'no dependency file'}"
            f" ({len(declared.unpinned)} not pinned to one version, not audited)",
        )
        notes: dict[str, Any] = {
            "ran": True,
            "files": declared.files,
            "audited": audited,
            "not_pinned": declared.unpinned,
            "source": {"service": "OSV", "url": settings.osv_url, "queried_at": None},
        }
        self.notes["dependencies"] = notes
        if not audited:
            return []
        host = settings.osv_host
        try:
            self.ctx.request_permission(
                "connect",
                host,
                f"look up known vulnerabilities of {audited} pinned packages of"
                f" {self.root.name} in OSV ({settings.osv_url})",
            )
        except PermissionRefused as err:
            raise TaskFailed(
                f"the dependencies were not audited: network access to {host} was refused"
                f" ({err}); run the audit with offline: true to skip the dependency pass"
            ) from err
        requirements = self.scratch / "requirements.txt"
        requirements.write_text(pins)
        output = self.scratch / "pip-audit.json"
        notes["source"]["queried_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        self.run(
            depspass.args(
                requirements, output, self.scratch / "cache", settings.osv_url, settings.timeout
            ),
            ok=(0, 1),  # 1: vulnerabilities found, or pip-audit failed (then no report)
            env=self._service_env(),
        )
        if not output.is_file():
            raise TaskFailed(
                f"pip-audit got no answer from {settings.osv_url} (its log says why); run the"
                " audit with offline: true to skip the dependency pass"
            )
        self.versions[depspass.TOOL] = version("pip-audit")
        found = depspass.parse(output.read_text(), declared.pins)
        self.ctx.log.info("pip-audit", advisories=len(found))
        return found

    def _service_env(self) -> dict[str, str]:
        """The vulnerability service is reached through the egress proxy whenever there is one:
        even a loopback address (inside a confined task, loopback is the task's own)."""
        env: dict[str, str] = {}
        if any(os.environ.get(k) for k in _PROXY_VARS):
            env.update(no_proxy="", NO_PROXY="")
        if self.settings.ca_bundle:
            env["REQUESTS_CA_BUNDLE"] = self.settings.ca_bundle
        return env

    def secrets(self, files: list[str], include_history: bool) -> list[Finding]:
        check = self.ctx.cancelled.raise_if_cancelled
        self.step("secrets: working tree", f"{len(files)} files")
        tree = secretspass.scan_tree(self.root, files, check)
        self.versions[secretspass.TOOL] = version("detect-secrets")
        self.ctx.log.info("secrets in the working tree", found=len(tree))
        notes: dict[str, Any] = {"files": len(files), "history": False, "commits": 0}
        self.notes["secrets"] = notes
        found = secretspass.tree_findings(tree)
        if not include_history:
            return found
        if not self.is_git or not self._has_commits():
            notes["history_skipped"] = "not a git repository with commits"
            self.ctx.log.info("no git history to scan")
            return found
        self.step("secrets: git history", f"up to {self.settings.max_commits} commits")
        log = self.capture(
            [*_GIT, *secretspass.log_args(self.settings.max_commits)], "history.patch"
        )
        with log.open(errors="replace") as text:
            hits, commits, unreadable = secretspass.scan_history(text, check)
        log.unlink()
        history = secretspass.history_findings(hits, {h.hashed_secret for h in tree})
        notes.update(history=True, commits=commits, unreadable_commits=unreadable)
        self.ctx.log.info("secrets in the git history", commits=commits, found=len(history))
        return found + history

    def _has_commits(self) -> bool:
        out = self.capture([*_GIT, "rev-parse", "--verify", "--quiet", "HEAD"], "head", ok=(0, 1))
        return bool(out.read_text().strip())

    def code(self, files: list[str]) -> list[Finding]:
        python = [f for f in files if f.endswith(".py") and (self.root / f).is_file()]
        self.step("code", f"bandit: {len(python)} Python files")
        self.notes["code"] = {"files": len(python), "errors": []}
        self.versions[banditpass.TOOL] = version("bandit")
        if not python:
            return []
        config = self.scratch / "bandit.yaml"
        config.write_text(banditpass.DEFAULT_CONFIG)
        output = self.scratch / "bandit.json"
        self.run(banditpass.args(self.root, python, config, output))
        found, errors = banditpass.parse(output.read_text(), self.root)
        self.notes["code"]["errors"] = errors
        self.ctx.log.info("bandit", findings=len(found), unreadable=len(errors))
        return found


def _write_report(settings: Settings, task_id: str, doc: dict[str, Any]) -> Path:
    """The SARIF report in the reports folder, the oldest beyond ``keep_reports`` removed."""
    folder = settings.reports_dir
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{task_id}.sarif"
    tmp = path.with_suffix(".sarif.tmp")
    tmp.write_text(json.dumps(doc, indent=1))
    os.replace(tmp, path)
    old = sorted(folder.glob("*.sarif"), key=lambda p: p.stat().st_mtime)
    for stale in old[: max(len(old) - settings.keep_reports, 0)]:
        stale.unlink(missing_ok=True)
    return path


def _summary(out: dict[str, Any], notes: dict[str, Any]) -> str:
    deps = notes.get("dependencies")
    if deps is None:
        return str(out["summary"])
    if not deps["ran"]:
        return f"{out['summary']}; dependencies not audited (offline)"
    source = deps["source"]
    if source["queried_at"] is None:
        return f"{out['summary']}; no pinned dependency to audit"
    return f"{out['summary']}; advisories from OSV, queried {source['queried_at']}"


@agent.task(
    "security.audit",
    schema=AUDIT_SCHEMA,
    description=(
        "Audit the project in the task's folder: dependency vulnerabilities (pip-audit, OSV),"
        " secrets in the tree and the git history (detect-secrets), insecure code (bandit)."
        " SARIF report as an artifact."
    ),
    examples=(
        "Audit my project's dependencies for vulnerabilities",
        "Check the repo for leaked secrets",
        "run a security audit of ~/src/api",
        "are there hard-coded passwords or API keys in shop, even in old commits?",
        "scan billing for insecure code like shell=True or yaml.load",
        "security check of my project, offline please",
    ),
    folder="existing",
)
def audit(ctx: TaskContext, payload: dict[str, Any]) -> Outcome:
    try:
        settings = Settings.load(os.environ)
    except SettingError as err:
        raise TaskFailed(f"the security-audit agent's settings (agent.toml [env]): {err}") from err
    root = ctx.workspace.resolve()
    passes = payload.get("passes", list(PASSES))
    with tempfile.TemporaryDirectory(prefix="securityaudit-") as scratch:
        a = Audit(ctx, root, settings, Path(scratch))
        files = a.files()
        found: list[Finding] = []
        if "dependencies" in passes:
            found += a.dependencies(payload.get("offline", False))
        if "secrets" in passes:
            found += a.secrets(files, payload.get("include_history", True))
        if "code" in passes:
            found += a.code(files)
        findings = ordered(found)
        a.step("writing SARIF")
        doc = sarif.document(findings, root, a.versions)
    path = _write_report(settings, ctx.task_id, doc)
    out = report(findings, settings.max_findings)
    summary = _summary(out, a.notes)
    ctx.log.info(summary)
    return Outcome(
        summary=summary,
        output={
            **out,
            "summary": summary,
            "path": str(root),
            "passes": [p for p in PASSES if p in passes],
            **a.notes,
            "sarif": str(path),
        },
        artifacts=[
            Artifact(
                name="security-audit.sarif",
                kind="file",
                location=str(path),
                description="SARIF 2.1.0 report of this audit (code-scanning tools read it)",
            )
        ],
    )
