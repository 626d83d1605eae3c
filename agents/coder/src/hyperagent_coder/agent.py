"""The coding worker: ``code.change`` makes a change to a git repository with a language model.

For each task it makes a branch ``hyperagent/<task>-<agent>`` and a worktree of it inside the
task's own folder (its workspace), runs the edit-run-observe loop there (:mod:`.loop`, with the
tools of :mod:`.tools`), commits what changed as HyperAgent, and reports the branch, the commit,
the files, the model's summary, the diff and what the model calls cost. The worktree is then
removed or kept as the payload's ``cleanup`` says; a commit's branch always stays.

Where it may write is the kernel's to enforce: the task's workspace (the worktree) and, once the
person grants it, the repository's git folder (``<repository>/.git``: git writes the branch, the
objects and its record of the worktree there). The main checkout is never in the task's view.
A path granted while a task process runs cannot widen that process (Landlock only narrows), so
when the grant comes in answer to this task's own request, the attempt ends without a result and
the manager starts the next one, confined afresh with the grant (see :func:`_git_folder`).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hyperagent_llm.agent import agent as llm_agent
from hyperagent_llm.prompt import SUMMARIZE
from hyperagent_sdk import (
    Agent,
    Outcome,
    SettingError,
    TaskCancelled,
    TaskContext,
    TaskFailed,
)

from . import loop
from .gitwork import GitError, Repository
from .model import Model
from .settings import Settings
from .tools import Limits, Worktree

DRAFT = "https://json-schema.org/draft/2020-12/schema"
VERSION = "0.1.0"
CODE_CHANGE = "code.change"

agent = Agent(name="coder", version=VERSION, max_concurrency=4, cost=1.0)

#: How a worktree is cleaned up: removed always, only when the task succeeded, or never.
CLEANUP = ("always", "on_success", "never")

#: The payload's model fields, the llm agent's very schema (so both are configured alike).
_LLM_PROPERTIES = llm_agent.tasks[SUMMARIZE].schema["properties"]
_CONNECTION = {
    k: _LLM_PROPERTIES[k] for k in ("endpoint", "model", "api_key_secret", "timeout_secs")
}

#: Defaults of the optional fields.
DEFAULT_MAX_STEPS = 20
DEFAULT_TOKEN_BUDGET = 200_000
DEFAULT_CLEANUP = "on_success"
DEFAULT_TIMEOUT_SECS = 120

SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "code.change payload",
    "description": (
        "A repository on this computer, what to change in it in plain words, and the model that"
        " does it. The change is made on a branch of its own, in a git worktree."
    ),
    "type": "object",
    "properties": {
        "repository": {
            "type": "string",
            "pattern": "^/",
            "maxLength": 4096,
            "description": "The repository's main checkout, an absolute path (its .git a folder).",
        },
        "base": {
            "type": "string",
            "maxLength": 256,
            "pattern": "^([^-\\s][^\\s]*)?$",
            "description": (
                'The branch or commit to start from; "" (the default): the current branch.'
            ),
        },
        "instruction": {
            "type": "string",
            "minLength": 1,
            "maxLength": 16000,
            "description": "What to change, in plain words.",
        },
        **_CONNECTION,
        "max_steps": {
            "type": "integer",
            "minimum": 1,
            "maximum": 200,
            "description": (
                "The most model calls (turns); the last may only finish."
                f" Default {DEFAULT_MAX_STEPS}."
            ),
        },
        "token_budget": {
            "type": "integer",
            "minimum": 1,
            "maximum": 100_000_000,
            "description": (
                "The most tokens (prompt and completion, as the server counts them) spent before"
                f" no further call is made. Default {DEFAULT_TOKEN_BUDGET}."
            ),
        },
        "cleanup": {
            "enum": list(CLEANUP),
            "description": (
                "When the worktree is removed: always, on_success (the default) or never. A"
                " commit's branch always stays."
            ),
        },
    },
    "required": ["repository", "instruction"],
    "additionalProperties": False,
}

#: A task process ends with this code, without a result, to be started again with a grant that
#: came after it was confined (``EX_TEMPFAIL``).
NEW_PROCESS_EXIT = 75
#: Set by the manager in a task process (the SDK's ``TASK_STDIN_ENV``).
TASK_PROCESS_ENV = "HYPERAGENT_TASK_STDIN"
#: What the attempt that asked for the grant leaves in the workspace for the next one.
MARKER = ".hyperagent-coder-new-process"
#: How long the ending attempt waits for its last log lines to be sent (the SDK sends a task's
#: lines within tens of milliseconds).
LOG_DELIVERY_PAUSE = 1.0


def _settings() -> Settings:
    try:
        return Settings.load(os.environ)
    except SettingError as err:
        raise TaskFailed(f"the coder agent's settings (agent.toml [env]): {err}") from err


def names(task_id: str, agent_name: str) -> tuple[str, str]:
    """The branch and the worktree's folder name of a task: ``hyperagent/<short>-<agent>`` and
    ``<short>-<agent>``, ``short`` the task id's last 8 letters and digits (a task id is a UUIDv7,
    whose first digits are its time and last ones random: two tasks submitted together differ
    there)."""
    short = re.sub(r"[^0-9A-Za-z]", "", task_id)[-8:].lower() or "task"
    leaf = f"{short}-{agent_name}"
    return f"hyperagent/{leaf}", leaf


def _probe(git_dir: Path) -> OSError | None:
    """None when this process can write in ``git_dir``; else why not."""
    probe = git_dir / f".hyperagent-probe-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as err:
        return err
    os.close(fd)
    probe.unlink()
    return None


def _git_folder(ctx: TaskContext, repository: Path, branch: str) -> Repository:
    """Asks for write access to the repository's git folder and makes sure this process has it.

    The request is answered at once by a rule or an earlier grant to this task; otherwise the
    person answers it. A grant that came after this process was confined is not in force here:
    the attempt then ends without a result (:data:`NEW_PROCESS_EXIT`), and the manager starts the
    next attempt confined afresh, with it. One such restart per task: if the next attempt still
    cannot write there (a grant for "once" reaches no later process), the task fails saying so.
    """
    s = _settings()
    git_dir = repository / ".git"
    ctx.request_permission(
        "write",
        str(git_dir),
        f"make the branch {branch} of {repository}, and a worktree of it in the task's folder, and"
        " commit the change there (its git folder only; the checkout's files are not touched)",
    )
    marker = ctx.workspace / MARKER
    why = _probe(git_dir)
    if why is None:
        marker.unlink(missing_ok=True)
        try:
            return Repository.at(repository, s.git_lock_tries)
        except GitError as err:
            raise TaskFailed(str(err)) from err
    if marker.exists() or os.environ.get(TASK_PROCESS_ENV) != "1":
        marker.unlink(missing_ok=True)
        try:
            Repository.at(repository, s.git_lock_tries)  # the clearer error, when it is not one
        except GitError as err:
            raise TaskFailed(str(err)) from err
        raise TaskFailed(
            f"cannot write in {git_dir} ({why.strerror or why}) although it was granted; a grant"
            " 'once' reaches no task process started after it: grant it for the task, the agent"
            " or always (or: hyperagent policy allow --write"
            f" {git_dir} --agent {agent.name})"
        )
    marker.write_text("the next attempt runs with the grant to write the git folder\n")
    ctx.log.info(
        f"write access to {git_dir} was granted after this task's process was confined; ending"
        " this attempt so that the manager starts the next one with it",
        git_dir=str(git_dir),
        exit_code=NEW_PROCESS_EXIT,
    )
    time.sleep(LOG_DELIVERY_PAUSE)
    os._exit(NEW_PROCESS_EXIT)


def _message(instruction: str, summary: str, stopped_by: str, task_id: str) -> str:
    title = " ".join(instruction.split())
    title = title if len(title) <= 60 else title[:59] + "…"
    said = (
        summary or f"(the model gave no summary: it stopped at the {stopped_by.replace('_', ' ')})"
    )
    return (
        f"HyperAgent: {title}\n\n{said}\n\nInstruction:\n{instruction}\n\n"
        f"HyperAgent-Task: {task_id}\nHyperAgent-Agent: {agent.name}\n"
    )


def _diffs(full: str, files: list[dict[str, Any]], limit: int) -> tuple[str, bool]:
    """The diff cut at ``limit`` characters, and each file's part of it (``files`` in the order
    git shows them, given a ``diff`` each within what is left of the limit)."""
    truncated = len(full) > limit
    chunks = re.split(r"(?m)^(?=diff --git )", full)
    chunks = [c for c in chunks if c]
    left = limit
    if len(chunks) == len(files):
        for f, chunk in zip(files, chunks, strict=True):
            f["diff"] = chunk[: max(left, 0)]
            left -= len(chunk)
    shown = (
        full if not truncated else full[:limit] + f"\n[cut: {len(full) - limit} more characters]"
    )
    return shown, truncated


def _clean(
    ctx: TaskContext,
    repo: Repository,
    worktree: Path,
    branch: str,
    *,
    remove: bool,
    committed: bool,
) -> tuple[bool, bool]:
    """Removes the worktree when ``remove``, and then the branch when it holds no commit of
    ours; a worktree that stays gets its ``.git`` file back as git wrote it. Returns (worktree
    removed, branch kept)."""
    if not remove:
        _restore_link(ctx, repo, worktree)
        ctx.log.info(f"the worktree stays at {worktree}", worktree=str(worktree), branch=branch)
        return False, True
    repo.remove_worktree(worktree)
    if committed:
        ctx.log.info(f"removed the worktree; the branch {branch} stays", branch=branch)
        return True, True
    repo.delete_branch(branch)
    ctx.log.info(f"removed the worktree and the branch {branch} (it held no commit)", branch=branch)
    return True, False


def _restore_link(ctx: TaskContext, repo: Repository, worktree: Path) -> None:
    """The worktree's ``.git`` file as git wrote it: a command the model ran may have pointed it
    at a git folder of its own (whose config would run code in any git the person runs there)."""
    if repo.restore_link(worktree):
        ctx.log.warn(
            "a command the model ran had changed the worktree's .git file; it is put back as git"
            " wrote it (this agent's git never follows it)",
            worktree=str(worktree),
        )


@dataclass(frozen=True)
class Plan:
    """Where a task works: the repository, its branch and worktree, the base it starts from."""

    repo: Repository
    branch: str
    worktree: Path
    base: str
    base_sha: str


@dataclass(frozen=True)
class Done:
    """What the loop and the commit left: the commit (None: nothing changed) and its diff."""

    run: loop.Run
    commit: str | None
    files: list[dict[str, Any]]
    diff: str
    diff_truncated: bool


def with_model(payload: dict[str, Any], s: Settings) -> dict[str, Any]:
    """The payload with the model it names, or the agent's own (`HYPERAGENT_CODER_ENDPOINT`,
    `HYPERAGENT_CODER_MODEL`) when it names none; a task with neither fails saying so."""
    endpoint = str(payload.get("endpoint") or s.endpoint)
    if not endpoint:
        raise TaskFailed(
            "no model to ask: the payload names no `endpoint`, and the coder has none of its own"
            " (set HYPERAGENT_CODER_ENDPOINT in its agent.toml, e.g. http://127.0.0.1:8080/v1)"
        )
    return {**payload, "endpoint": endpoint, "model": payload.get("model") or s.model}


def _plan(ctx: TaskContext, payload: dict[str, Any]) -> Plan:
    branch, leaf = names(ctx.task_id, agent.name)
    repo = _git_folder(ctx, Path(payload["repository"]), branch)
    worktree = ctx.workspace / leaf
    try:
        base = payload.get("base") or repo.current_branch()
        base_sha = repo.commit_of(base)
        repo.add_worktree(worktree, branch, base_sha)
    except GitError as err:
        raise TaskFailed(str(err)) from err
    ctx.log.info(
        f"worktree of {branch} at {worktree}, from {base} ({base_sha[:12]})",
        branch=branch,
        worktree=str(worktree),
        base=base,
        base_commit=base_sha,
    )
    ctx.progress(0.05, f"worktree of {branch} ready")
    return Plan(repo, branch, worktree, base, base_sha)


def _work(ctx: TaskContext, payload: dict[str, Any], s: Settings, plan: Plan) -> Done:
    """The loop in the worktree, then the commit of what it changed."""
    model = Model(ctx, payload, s.max_tokens, s.max_reply_bytes)
    max_steps = int(payload.get("max_steps", DEFAULT_MAX_STEPS))
    bounds = loop.Bounds(
        max_steps=max_steps,
        token_budget=int(payload.get("token_budget", DEFAULT_TOKEN_BUDGET)),
        max_observation_chars=s.max_observation_chars,
    )
    tools = Worktree(
        plan.worktree,
        Limits(
            run_timeout_secs=float(s.run_timeout_secs),
            max_run_output_bytes=s.max_run_output_bytes,
            max_file_bytes=s.max_file_bytes,
            max_entries=s.max_entries,
        ),
        on_run_start=lambda kill: ctx.cancelled.add_callback(lambda _reason: kill()),
    )
    ctx.log.info(f"asking {model.target.address} {model.via}", endpoint=payload["endpoint"])
    listing = loop.cut(tools.list_files(""), s.max_observation_chars)
    messages = [
        {"role": "system", "content": loop.system_message(max_steps, s.run_timeout_secs)},
        {
            "role": "user",
            "content": loop.first_message(payload["instruction"], plan.branch, plan.base, listing),
        },
    ]

    def on_step(step: loop.Step) -> None:
        ctx.progress(0.05 + 0.9 * step.number / max_steps, f"step {step.number}: {step.tool}")

    run = loop.run_loop(ctx, model, tools, messages, bounds=bounds, on_step=on_step)
    _restore_link(ctx, plan.repo, plan.worktree)
    message = _message(payload["instruction"], run.summary, run.stopped_by, ctx.task_id)
    commit = plan.repo.commit_all(plan.worktree, message)
    files: list[dict[str, Any]] = []
    full = ""
    if commit is not None:
        files = [{"path": c.path, "state": c.state} for c in plan.repo.changed(commit)]
        full = plan.repo.show(commit)
    diff, truncated = _diffs(full, files, s.max_diff_chars)
    return Done(run, commit, files, diff, truncated)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _summary(done: Done, branch: str, branch_kept: bool) -> str:
    run = done.run
    spent = f"{_plural(len(run.steps), 'step')} ({run.usage.total_tokens} tokens)"
    if done.commit is None:
        said = f"no change: the model changed no file in {spent}; nothing was committed"
        if not branch_kept:
            said += f", and the branch {branch} was removed"
    else:
        said = (
            f"committed {_plural(len(done.files), 'file')} to {branch} ({done.commit[:12]})"
            f" in {spent}"
        )
    if run.stopped_by == "token_budget":
        said += "; the token budget was spent before the model finished"
    return said


@agent.task(
    CODE_CHANGE,
    schema=SCHEMA,
    description=(
        "Make a change to a git repository on this computer with a language model: on a branch"
        " of its own, in a git worktree, the model reading, editing and running commands there"
        " one tool a turn; the change committed, with its diff."
    ),
    examples=(
        "add a --verbose flag to the command line tool in ~/src/cli",
        "change the default timeout of the http client in shop to 30 seconds",
        "rename the Customer class to Client in ~/src/api, with every use of it",
        "fix the crash on an empty cart in the checkout code of shop",
        "get a coder to implement caching for the /products endpoint of billing",
        "refactor the payment module of billing to use dataclasses",
        "modify the settings code so the log level comes from an environment variable",
        "replace the requests library with httpx in the code of ~/src/api",
        "add a check that the quantity is positive in the order form of shop",
        "remove the deprecated datetime.utcnow calls from billing",
        "write docstrings for the public functions of ~/src/api",
        "fix the off-by-one error in the pagination code of billing",
        "please implement a retry with backoff in the http client of shop",
        "switch the config loader in ~/src/api from ini files to toml",
        "drop the unused helper functions from the utils module of shop",
        "have the export in billing write CSV instead of JSON",
    ),
    folder="any",
)
def change(ctx: TaskContext, payload: dict[str, Any]) -> Outcome:
    started = time.monotonic()
    s = _settings()
    payload = with_model(payload, s)
    plan = _plan(ctx, payload)
    policy = str(payload.get("cleanup", DEFAULT_CLEANUP))
    done: Done | None = None
    cancelled = False
    try:
        done = _work(ctx, payload, s, plan)
    except TaskCancelled:
        cancelled = True
        raise
    except GitError as err:
        raise TaskFailed(str(err)) from err
    finally:
        # A cancelled task is put back as it was: its worktree and its branch (no commit yet)
        # go whatever the policy, as the manager removes the folder it made for the task.
        ok = done is not None
        remove = cancelled or policy == "always" or (policy == "on_success" and ok)
        committed = done is not None and done.commit is not None
        try:
            removed, branch_kept = _clean(
                ctx, plan.repo, plan.worktree, plan.branch, remove=remove, committed=committed
            )
        except GitError as err:
            if ok:
                raise TaskFailed(f"the change is committed, but cleaning up failed: {err}") from err
            ctx.log.error(f"cleaning up failed: {err}")
    run = done.run
    totals = run.totals()
    ctx.log.info(
        f"{totals['calls']} model calls: {totals['total_tokens']} tokens, {totals['model_ms']} ms",
        **{k: v for k, v in totals.items() if k != "usage_reported"},
    )
    return Outcome(
        summary=_summary(done, plan.branch, branch_kept),
        output={
            "repository": str(plan.repo.path),
            "branch": plan.branch,
            "branch_kept": branch_kept,
            "base": plan.base,
            "base_commit": plan.base_sha,
            "commit": done.commit,
            "files": done.files,
            "diff": done.diff,
            "diff_truncated": done.diff_truncated,
            "summary": run.summary,
            "finished": run.stopped_by == "finish",
            "stopped_by": run.stopped_by,
            "worktree": None if removed else str(plan.worktree),
            "worktree_removed": removed,
            "model": run.model,
            "usage": totals,
            "steps": [st.record() for st in run.steps],
            "elapsed_ms": round((time.monotonic() - started) * 1000),
        },
    )
