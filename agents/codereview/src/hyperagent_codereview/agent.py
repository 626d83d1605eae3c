"""The code-review agent: ``code.review`` reviews the git repository that is the task's folder.

Steps, each reported as progress with its log lines: check the repository (and the base ref) ->
``ruff check`` (the project's configuration, or ours) -> ``ruff format --check`` -> the
complexity pass (ruff's C901, and the size and nesting pass with ``ast``) -> with a base ref,
keep only the findings on changed lines -> write the SARIF report -> the result. Read-only: ruff
runs without its cache and git without its optional index writes. With ``apply_fixes`` the person
is asked, the files are snapshotted, then ruff applies its safe fixes and formatting, and the
review runs again on the result.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
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

from . import changes, ruffpass, sarif, sizepass
from .findings import Finding, ordered, report
from .settings import Settings

DRAFT = "https://json-schema.org/draft/2020-12/schema"
VERSION = "0.1.0"

agent = Agent(name="codereview", version=VERSION, max_concurrency=2, cost=1.0)


def _threshold(what: str) -> dict[str, Any]:
    return {"type": "integer", "minimum": 1, "maximum": 100_000, "description": what}


REVIEW_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "code.review payload",
    "description": "The repository is the task's folder (`workspace` when submitting).",
    "type": "object",
    "properties": {
        "base": {
            "type": "string",
            "minLength": 1,
            "maxLength": 255,
            # A ref or commit, never an option: no leading '-', no whitespace or control chars.
            "pattern": "^[^-\\s][^\\s]*$",
            "description": (
                "Review only what changed since this ref (a branch, tag or commit): the branch's"
                " commits since the merge base, uncommitted changes and new files."
            ),
        },
        "apply_fixes": {
            "type": "boolean",
            "default": False,
            "description": (
                "Apply ruff's safe fixes and formatting to the files with findings (you are"
                " asked first; the files are snapshotted for rollback)."
            ),
        },
        "thresholds": {
            "type": "object",
            "description": "Override the agent's settings for this review.",
            "properties": {
                "max_function_lines": _threshold("Longest function, in lines (default 60)."),
                "max_nesting": _threshold("Deepest nesting of blocks in a function (default 4)."),
                "max_file_lines": _threshold("Longest file, in lines (default 500)."),
                "max_complexity": _threshold("Highest cyclomatic complexity (default 10)."),
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}

#: Environment for git: no optional lock (so no index refresh is written into the repository).
_GIT_ENV = {"GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0"}
#: A repository's own config must not make git run programs (fsmonitor, external diff drivers).
_GIT = ["git", "-c", "core.fsmonitor=false", "-c", "core.quotepath=off"]


#: Progress steps, with the fraction of the whole each starts at.
STEPS = {
    "checking the repository": 0.0,
    "ruff": 0.1,
    "ruff format": 0.35,
    "complexity pass": 0.5,
    "changed lines": 0.75,
    "applying safe fixes": 0.8,
    "writing SARIF": 0.95,
}


class Review:
    """One review of ``root``; tool output that is data goes to files in ``scratch``."""

    def __init__(self, ctx: TaskContext, root: Path, settings: Settings, scratch: Path) -> None:
        self.ctx = ctx
        self.root = root
        self.settings = settings
        self.scratch = scratch
        self.step = Steps(ctx, STEPS)
        #: What ruff checks (absolute paths), set by :meth:`lint`.
        self.files: list[str] = []

    # ----- running tools -----

    def run(
        self, argv: Sequence[str], *, ok: Sequence[int] = (0,), env: dict[str, str] | None = None
    ) -> int:
        """Run a tool (output to the log); an exit code outside ``ok`` fails the task naming it
        and the last thing it said."""
        said: list[str] = []
        code = self.ctx.run(argv, cwd=self.root, env=env, check=False, on_line=said.append)
        if code not in ok:
            last = said[-1] if said else "no output"
            raise TaskFailed(
                f"`{' '.join(argv[2:] if argv[1] == '-m' else argv)}` failed (exit {code}): {last}"
            )
        return code

    def capture(
        self,
        argv: Sequence[str],
        name: str,
        *,
        ok: Sequence[int] = (0,),
        env: dict[str, str] | None = None,
    ) -> str:
        """Run a tool whose standard output is data: it goes to a file (not to the task log,
        where only its standard error goes), and its text is returned."""
        out = self.scratch / name
        shell = ["sh", "-c", 'out="$1"; shift; exec "$@" > "$out"', "sh", str(out), *argv]
        said: list[str] = []
        code = self.ctx.run(shell, cwd=self.root, env=env, check=False, on_line=said.append)
        if code not in ok:
            last = said[-1] if said else "no output"
            raise TaskFailed(f"`{' '.join(argv)}` failed (exit {code}): {last}")
        return out.read_text(errors="replace")

    def git(self, *args: str, name: str = "git.out", ok: Sequence[int] = (0,)) -> str:
        return self.capture([*_GIT, *args], name, ok=ok, env=_GIT_ENV)

    # ----- the steps -----

    def check_repository(self, base: str | None) -> str | None:
        """The merge base of ``base`` and HEAD (None without a base); fails with what is wrong."""
        self.step("checking the repository")
        if not (self.root / ".git").exists():
            raise TaskFailed(
                f"{self.root} is not a git repository (no .git in it); name the repository's top"
                " folder as the task's workspace"
            )
        inside = self.git("rev-parse", "--is-inside-work-tree", ok=(0, 128))
        if inside.strip() != "true":
            raise TaskFailed(f"{self.root} is not a git work tree (git rev-parse said no)")
        if base is None:
            return None
        commit = self.git(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{base}^{{commit}}", ok=(0, 1)
        ).strip()
        if not commit:
            raise TaskFailed(
                f"unknown base ref {base!r} in {self.root}: no branch, tag or commit by that name"
                " (`git branch -a` lists the branches)"
            )
        merge_base = self.git("merge-base", commit, "HEAD", ok=(0, 1)).strip()
        if not merge_base:
            raise TaskFailed(f"base ref {base!r} and HEAD share no history in {self.root}")
        return merge_base

    def lint(self) -> list[Finding]:
        files = [
            f
            for f in self.capture(
                [*ruffpass.ruff(), "check", "--no-cache", "--show-files", *self._select(), "."],
                "files.txt",
            ).splitlines()
            if f.strip()
        ]
        self.files = files
        self.step("ruff", f"{len(files)} files")
        output = self.scratch / "ruff.json"
        self.run(ruffpass.check_args(self.root, output))
        found = ruffpass.parse_check(output.read_text(), self.root)
        self.ctx.log.info("ruff check", findings=len(found))
        self.step("ruff format", "--check")
        diff = self.capture(
            [*ruffpass.ruff(), "format", "--no-cache", "--check", "--diff", "."],
            "format.diff",
            ok=(0, 1),
        )
        formatting = ruffpass.parse_format_diff(diff)
        self.ctx.log.info("ruff format", findings=len(formatting))
        return found + formatting

    def _select(self) -> list[str]:
        if ruffpass.has_config(self.root):
            return []
        return ["--select", ",".join(ruffpass.DEFAULT_SELECT)]

    def complexity(self) -> list[Finding]:
        limits = self.settings.limits
        self.step(
            "complexity pass",
            f"C901 over {limits.complexity}, functions over"
            f" {limits.function_lines} lines, nesting over {limits.nesting},"
            f" files over {limits.file_lines} lines",
        )
        output = self.scratch / "complexity.json"
        self.run(ruffpass.complexity_args(output, limits.complexity))
        found = ruffpass.parse_check(output.read_text(), self.root)
        for name in self.files:
            self.ctx.cancelled.raise_if_cancelled()
            path = Path(name)
            if path.suffix not in (".py", ".pyi"):
                continue
            try:
                source = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as err:
                self.ctx.log.warn("not read", file=name, error=str(err))
                continue
            rel = path.relative_to(self.root).as_posix() if path.is_absolute() else name
            found.extend(sizepass.check_source(rel, source, limits))
        self.ctx.log.info("complexity pass", findings=len(found))
        return found

    def changed(self, merge_base: str, base: str) -> changes.Changed:
        self.step("changed lines", f"since {base} ({merge_base[:12]}), and uncommitted")
        diff = self.git(
            "diff",
            "--unified=0",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            merge_base,
            "--",
            name="changes.diff",
        )
        untracked = self.git(
            "ls-files", "--others", "--exclude-standard", name="untracked.txt"
        ).splitlines()
        changed = changes.with_untracked(changes.parse_diff(diff), untracked)
        self.ctx.log.info("changed files", files=len(changed))
        return changed

    def findings(self, merge_base: str | None, base: str | None) -> tuple[list[Finding], int]:
        """Every finding (on changed lines only, with a base) and how many there were in all."""
        found = ordered(self.lint() + self.complexity())
        if merge_base is None or base is None:
            return found, len(found)
        return changes.on_changed_lines(found, self.changed(merge_base, base)), len(found)

    def apply_fixes(self, findings: list[Finding]) -> dict[str, Any]:
        """Ask, snapshot, then let ruff apply its safe fixes and formatting to the files with
        fixable findings."""
        files = sorted(
            {
                f.file
                for f in findings
                if f.fix
                and (f.rule == ruffpass.FORMAT_RULE or f.fix.get("applicability") == "safe")
            }
        )
        if not files:
            self.ctx.log.info("nothing ruff can fix safely")
            return {"applied": False, "files": [], "action_id": ""}
        self.step("applying safe fixes", f"{len(files)} files")
        try:
            action = self.ctx.prepare_destructive(
                f"apply ruff's safe fixes and formatting to {len(files)} files in {self.root}",
                [self.root / f for f in files],
            )
        except PermissionRefused as err:
            raise TaskFailed(f"no fix was applied, the files are as they were: {err}") from err
        self.run(
            [
                *ruffpass.ruff(),
                "check",
                "--no-cache",
                "--fix",
                "--no-unsafe-fixes",
                "--exit-zero",
                "--force-exclude",
                *self._select(),
                "--",
                *files,
            ]
        )
        self.run([*ruffpass.ruff(), "format", "--no-cache", "--force-exclude", "--", *files])
        return {"applied": True, "files": files, "action_id": action}


def _ruff_version(review: Review) -> str:
    text = review.capture([*ruffpass.ruff(), "--version"], "version.txt").strip()
    return text.removeprefix("ruff ").strip()


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


@agent.task(
    "code.review",
    schema=REVIEW_SCHEMA,
    description=(
        "Review the git repository in the task's folder with ruff and a size pass; with a base"
        " ref, only changed lines. SARIF report as an artifact."
    ),
    examples=(
        "review the code in ~/src/api",
        "review my branch in shop against main",
        "lint the changes in billing since origin/main and fix what is safe to fix",
        "check ~/src/api for long functions and unused imports",
        "code review of the diff against develop, please",
        "is the code in my project clean? run a review",
        "have a look at the code quality of shop",
        "go over my latest changes in billing and flag anything risky",
        "review ~/src/api with a maximum complexity of 10",
        "can you give the code of my project a critical read?",
        "code quality check on billing, functions at most 40 lines",
        "could you do a code review of shop for me?",
    ),
    folder="existing",
)
def review(ctx: TaskContext, payload: dict[str, Any]) -> Outcome:
    try:
        settings = Settings.load(os.environ, payload.get("thresholds", {}))
    except SettingError as err:
        raise TaskFailed(f"the code-review agent's settings (agent.toml [env]): {err}") from err
    root = ctx.workspace.resolve()
    base: str | None = payload.get("base")
    with tempfile.TemporaryDirectory(prefix="codereview-") as scratch:
        r = Review(ctx, root, settings, Path(scratch))
        merge_base = r.check_repository(base)
        findings, total = r.findings(merge_base, base)
        fixes: dict[str, Any] = {"applied": False, "files": [], "action_id": ""}
        if payload.get("apply_fixes", False):
            fixes = r.apply_fixes(findings)
            if fixes["applied"]:
                before = len(findings)
                findings, total = r.findings(merge_base, base)
                fixes["fixed"] = before - len(findings)
        r.step("writing SARIF")
        doc = sarif.document(findings, root, ruff_version=_ruff_version(r), agent_version=VERSION)
    path = _write_report(settings, ctx.task_id, doc)
    out = report(findings, settings.max_findings)
    scope = f"changed since {base}" if base else "whole project"
    summary = f"{out['summary']} ({scope})"
    if fixes["applied"]:
        summary += f"; fixed {fixes['fixed']} in {len(fixes['files'])} files"
    ctx.log.info(summary)
    return Outcome(
        summary=summary,
        output={
            **out,
            "summary": summary,
            "path": str(root),
            "base": base,
            "merge_base": merge_base,
            "before_filter": total,
            "fixes": fixes,
            "sarif": str(path),
            "thresholds": {
                "max_function_lines": settings.limits.function_lines,
                "max_nesting": settings.limits.nesting,
                "max_file_lines": settings.limits.file_lines,
                "max_complexity": settings.limits.complexity,
            },
        },
        artifacts=[
            Artifact(
                name="code-review.sarif",
                kind="file",
                location=str(path),
                description="SARIF 2.1.0 report of this review (code-scanning tools read it)",
            )
        ],
    )
