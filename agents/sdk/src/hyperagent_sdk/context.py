"""What a handler gets: the task, its cancellation token, its log, progress and ``run``."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from hyperagent.v1 import agent_pb2, common_pb2

from .cancel import CancellationToken
from .messages import Sent, send_request
from .process import Child, ChildRegistry, LineSink, run_command

#: ``report(fraction, step)``: where progress goes.
ProgressSink = Callable[[float, str], None]
#: Asks for a permission: (kind, target, reason) -> request id; raises PermissionRefused.
ConsentSink = Callable[[str, str, str], str]
#: Fetches a secret by name; raises PermissionRefused.
SecretSink = Callable[[str], str]
SendSink = Callable[[agent_pb2.SendMessageRequest], Sent]
#: ``(task_type, payload_json, note)`` -> the new task's id.
HandOffSink = Callable[[str, str, str], str]
#: ``(question, choices)`` -> the person's answer.
AskPersonSink = Callable[[str, Sequence[str]], str]
#: A model call to add to the task's totals.
ModelCallSink = Callable[[common_pb2.ModelCall], None]
#: Announces a destructive action: (description, paths) -> action id; raises PermissionRefused.
DestructiveSink = Callable[[str, Sequence[str]], str]

_NO_FIELDS: Mapping[str, str] = {}
_TRACE = common_pb2.LOG_LEVEL_TRACE
_DEBUG = common_pb2.LOG_LEVEL_DEBUG
_INFO = common_pb2.LOG_LEVEL_INFO
_WARN = common_pb2.LOG_LEVEL_WARN
_ERROR = common_pb2.LOG_LEVEL_ERROR


_TEXT = str


def _as_text(fields: dict[str, Any]) -> dict[str, str]:
    """``fields`` (a call's own keyword arguments: no one else holds them) with every value made
    text, in place: a loop instead of a new dict, since most values already are text."""
    for key, value in fields.items():
        if value.__class__ is not _TEXT:
            fields[key] = _TEXT(value)
    return fields


class TaskLogger:
    """The task's log. Lines go to the manager, in order, numbered per task.

    Each method takes a message and optional fields (``ctx.log.info("copied", files=3)``); field
    values are converted with ``str``. Calls are cheap: they only queue the line.
    """

    __slots__ = ("_emit",)

    def __init__(self, emit: LineSink) -> None:
        self._emit = emit

    # Each level calls the sink itself (no shared helper between): a log call is one call deep
    # into the SDK before the line is queued.
    def trace(self, message: str, **fields: Any) -> None:
        self._emit(_TRACE, message, _as_text(fields) if fields else _NO_FIELDS)

    def debug(self, message: str, **fields: Any) -> None:
        self._emit(_DEBUG, message, _as_text(fields) if fields else _NO_FIELDS)

    def info(self, message: str, **fields: Any) -> None:
        self._emit(_INFO, message, _as_text(fields) if fields else _NO_FIELDS)

    def warn(self, message: str, **fields: Any) -> None:
        self._emit(_WARN, message, _as_text(fields) if fields else _NO_FIELDS)

    warning = warn

    def error(self, message: str, **fields: Any) -> None:
        self._emit(_ERROR, message, _as_text(fields) if fields else _NO_FIELDS)


class TaskContext:
    """Everything a handler knows about its task and can do with it."""

    def __init__(
        self,
        *,
        task_id: str,
        task_type: str,
        payload: dict[str, Any],
        workspace: Path,
        cancelled: CancellationToken,
        emit: LineSink,
        report_progress: ProgressSink,
        children: ChildRegistry,
        attempt: int = 1,
        deadline: datetime | None = None,
        kill_grace: float = 2.0,
        ask: ConsentSink | None = None,
        destructive: DestructiveSink | None = None,
        secret: SecretSink | None = None,
        send: SendSink | None = None,
        hand_off: HandOffSink | None = None,
        ask_person: AskPersonSink | None = None,
        model_call: ModelCallSink | None = None,
    ) -> None:
        self.task_id = task_id
        self.task_type = task_type
        #: The payload, already checked by the manager against the task type's schema.
        self.payload = payload
        #: The directory the task may work in.
        self.workspace = workspace
        #: 1 for the first try, 2 for the first retry, ...
        self.attempt = attempt
        #: When the task must have ended (timezone-aware, UTC), or None.
        self.deadline = deadline
        #: Set when the task should stop; see :class:`CancellationToken`.
        self.cancelled = cancelled
        self.log = TaskLogger(emit)
        self._emit = emit
        self._report_progress = report_progress
        self._children = children
        self._kill_grace = kill_grace
        self._ask = ask
        self._destructive = destructive
        self._secret = secret
        self._send = send
        self._hand_off = hand_off
        self._ask_person = ask_person
        self._model_call = model_call

    def request_permission(self, kind: str, target: str, reason: str) -> str:
        """Ask the person for a permission beyond the workspace, and wait for the answer.

        ``kind`` is ``read`` or ``write`` (an absolute path), ``connect`` (``HOST:PORT``),
        ``open`` (a path for the editor) or ``run``; ``reason`` is shown to the person. A secret
        is asked for with :meth:`secret` and a destructive action with
        :meth:`prepare_destructive`, whose questions the manager words (the manager refuses them
        here). A rule or an
        earlier grant may answer at once; otherwise the task shows as awaiting consent until
        the person answers or the manager's consent timeout passes. Returns the request id when
        granted; raises :class:`PermissionRefused` when refused. A granted path applies to task
        processes started after the grant; a granted host applies at once.
        """
        if self._ask is None:
            raise RuntimeError("this context cannot ask for permissions (no manager connection)")
        return self._ask(kind, target, reason)

    def report_model_call(
        self,
        *,
        model: str,
        elapsed_ms: float,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        total_tokens: int | None = None,
        first_token_ms: float = 0.0,
        generation_ms: float = 0.0,
    ) -> None:
        """Tell the manager of a call this task made to a language model: the tokens as the
        server counted them (``None`` when it reported none) and the times (the whole exchange;
        the time to the first token and the generation's, when the server says). The manager
        adds it to the task's totals (on its page, in ``hyperagent task``, on the feed). Never
        raises: a report the manager does not take is logged and dropped."""
        if self._model_call is None:
            return
        reported = prompt_tokens is not None or completion_tokens is not None
        prompt, completion = prompt_tokens or 0, completion_tokens or 0
        self._model_call(
            common_pb2.ModelCall(
                model=model,
                prompt_tokens=prompt,
                completion_tokens=completion,
                total_tokens=total_tokens if total_tokens is not None else prompt + completion,
                usage_reported=reported,
                elapsed_ms=float(elapsed_ms),
                first_token_ms=float(first_token_ms),
                generation_ms=float(generation_ms),
            )
        )

    def ask_person(self, question: str, choices: Sequence[str] = ()) -> str:
        """Ask the person something only they can answer, and wait for the answer: any text, or
        one of ``choices`` when given (at most 20). The task shows as awaiting the person
        meanwhile; the question is on its page, in the app's prompts and in ``hyperagent
        question list``. Returns the answer (one of ``choices`` exactly as given, when there are
        any); raises :class:`Unanswered` when the person did not answer within the manager's
        consent timeout (or the task ended first), ``ValueError`` when the question is malformed
        (empty, too long, choices repeated)."""
        if self._ask_person is None:
            raise RuntimeError("this context cannot ask the person (no manager connection)")
        return self._ask_person(question, list(choices))

    def secret(self, name: str) -> str:
        """A secret from the keychain, for this task only.

        The agent's manifest must declare it (``secrets = ["NAME"]`` in agent.toml), and the
        person must grant it (asked now, unless a rule answers). The value is never written
        anywhere by the manager, and it is redacted from this task's logs, output and result.
        Raises :class:`PermissionRefused` when refused.
        """
        if self._secret is None:
            raise RuntimeError("this context cannot fetch secrets")
        return self._secret(name)

    def send_message(
        self,
        *,
        to_agent: str = "",
        to_task: str = "",
        to_role: str = "",
        kind: str,
        body: Mapping[str, Any] | None = None,
        idempotency_key: str = "",
    ) -> Sent:
        """Send a message to another agent through the manager, as this task (it is "about"
        this task); returns once the manager stored it. Exactly one recipient: an agent by id,
        the agent running a task, or an online agent offering a task type (a role). See
        :mod:`hyperagent_sdk.messages`. Raises ``ValueError`` when the manager refuses it."""
        if self._send is None:
            raise RuntimeError("this context cannot send messages")
        return self._send(
            send_request(
                to_agent=to_agent,
                to_task=to_task,
                to_role=to_role,
                kind=kind,
                body=body,
                idempotency_key=idempotency_key,
                about_task=self.task_id,
            )
        )

    def hand_off(
        self, task_type: str, payload: Mapping[str, Any] | None = None, note: str = ""
    ) -> str:
        """Pass this task's work on to another task type (a role): a new task of that type,
        with ``payload`` (checked against its schema) and ``note`` (what the next agent should
        know), queued on this task's folder. Returns its id.

        This task has then ended, completed ("handed off", its output naming the new task):
        return from the handler right after; nothing it reports afterwards is kept. Its log lines
        so far are delivered first. Handing work back to a task type it already went through is
        drift, which the manager warns about or refuses (``drift.on_drift``), as it refuses a
        chain longer than ``drift.max_handoffs``. Raises ``ValueError`` when refused (the task
        goes on unless the refusal says it was cancelled)."""
        if self._hand_off is None:
            raise RuntimeError("this context cannot hand its task off")
        return self._hand_off(task_type, json.dumps(dict(payload or {})), note)

    def prepare_destructive(self, description: str, paths: Sequence[str | Path]) -> str:
        """Before overwriting or deleting what existed before the task: name the paths (absolute,
        inside the workspace or a write grant) and what will happen to them. ``description``
        completes the sentence "<agent> asks to ..." that the person reads: a lowercase verb
        phrase, e.g. "write the fastapi template's 23 files into /p, replacing 3 already there".

        The person is asked (unless a rule answers); once granted, the manager snapshots what
        exists at those paths, and ``hyperagent rollback <id>`` later restores it exactly
        (removing what did not exist). Returns the action id; raises
        :class:`PermissionRefused` when refused.
        """
        if self._destructive is None:
            raise RuntimeError("this context cannot announce destructive actions")
        return self._destructive(description, [str(p) for p in paths])

    def progress(self, fraction: float, step: str = "") -> None:
        """Report how far the task is: ``fraction`` in 0..1 (negative: unknown), and the step.

        Only the latest value is sent when several are reported faster than they can be.
        """
        if math.isnan(fraction):
            fraction = -1.0
        self._report_progress(min(fraction, 1.0), step)

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        timeout: float | None = None,
        on_start: Callable[[int], None] | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> int:
        """Run a command to its end, its output going to the task log; return its exit code.

        - The command runs in its own process group (a new session), without standard input, in
          ``cwd`` (default: the task's workspace if it exists). ``env`` adds to (and overrides)
          this process's environment.
        - Each line it writes to stdout is logged at INFO, each line to stderr at WARN, with the
          field ``stream`` = ``stdout`` or ``stderr``.
        - ``on_start(pid)`` is called once it runs.
        - When the task is cancelled (or ``timeout`` seconds pass), its whole process group gets
          SIGTERM, then SIGKILL after the kill grace (2 s by default); ``run`` waits for it and
          raises :class:`TaskCancelled` (:class:`TaskFailed` on timeout). Processes the command
          leaves behind in its group when it exits are ended the same way.
        - A non-zero exit code raises :class:`TaskFailed` (message, exit_code) when ``check``.
        - ``on_line(line)`` also sees each output line (to pick a summary out of it, say).
        """
        if cwd is None and self.workspace.is_dir():
            cwd = self.workspace
        return run_command(
            argv,
            token=self.cancelled,
            emit=self._line_sink(on_line),
            children=self._children,
            kill_grace=self._kill_grace,
            cwd=cwd,
            env=env,
            check=check,
            timeout=timeout,
            on_start=on_start,
        )

    def start(
        self,
        argv: Sequence[str],
        *,
        cwd: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        on_start: Callable[[int], None] | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> Child:
        """Start a command that runs beside the handler (a dev server, say); return at once.

        Same as :meth:`run` for its process group, output and cancellation: when the task is
        cancelled its whole group is ended. ``child.stop()`` ends it (SIGTERM, SIGKILL after the
        grace) and waits; ``child.poll()`` tells whether it still runs. Use it as a context
        manager so it is stopped however the block ends.
        """
        if cwd is None and self.workspace.is_dir():
            cwd = self.workspace
        return Child(
            argv,
            token=self.cancelled,
            emit=self._line_sink(on_line),
            children=self._children,
            kill_grace=self._kill_grace,
            cwd=cwd,
            env=env,
            on_start=on_start,
        )

    def _line_sink(self, on_line: Callable[[str], None] | None) -> LineSink:
        if on_line is None:
            return self._emit

        def emit(level: int, message: str, fields: Mapping[str, str]) -> None:
            self._emit(level, message, fields)
            on_line(message)

        return emit
