"""Progress in named steps: what most agents report while they work."""

from __future__ import annotations

from collections.abc import Mapping

from .context import TaskContext


class Steps:
    """Reports named steps of a task: each call logs the step (with its detail), reports it as
    progress at the fraction of the whole it starts at (``starts``; unknown steps report no
    fraction), and stops the task there if it has been cancelled.

    .. code-block:: python

        step = Steps(ctx, {"ruff": 0.1, "complexity pass": 0.5, "writing SARIF": 0.95})
        step("ruff", f"{len(files)} files")   # log + progress "ruff: 12 files" at 10%
    """

    def __init__(self, ctx: TaskContext, starts: Mapping[str, float]) -> None:
        self.ctx = ctx
        self.starts = dict(starts)

    def __call__(self, step: str, detail: str = "") -> None:
        text = f"{step}: {detail}" if detail else step
        self.ctx.log.info(text)
        self.ctx.progress(self.starts.get(step, -1.0), text)
        self.ctx.cancelled.raise_if_cancelled()
