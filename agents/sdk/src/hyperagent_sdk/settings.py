"""An agent's settings: its manifest's ``[env]``, read from the environment the manager gives it.

Every setting has its default in the agent's code (and in its agent.toml and README); a variable
that is unset or blank takes it. A value that is not allowed raises :class:`SettingError` naming the
variable, what it held and what is allowed, so a task can fail saying how to fix its agent.

.. code-block:: python

    read = SettingsReader(os.environ, "HYPERAGENT_CODEREVIEW_")
    max_findings = read.integer("MAX_FINDINGS", 200)          # a whole number of at least 1
    app_port = read.integer("APP_PORT", 8000, low=1, high=65535)
    reports = read.path("REPORTS_DIR", Path.home() / "reports")
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

_N = TypeVar("_N", int, float)


def _finite(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError(raw)
    return value


def _shown(bound: float) -> str:
    """A bound as people write it: ``65535``, ``0.001``, ``30`` (not ``30.0``)."""
    return f"{bound:g}" if isinstance(bound, float) else str(bound)


class SettingError(ValueError):
    """A setting that is not what it may be. The message names the variable, what it held and what
    is allowed: ``HYPERAGENT_CODEREVIEW_MAX_NESTING='deep' must be a whole number of at least 1``.
    """


class SettingsReader:
    """Reads the settings named ``prefix + key`` from ``env`` (``os.environ``, or a dict in tests).

    A value is read with surrounding white space stripped. A variable that is unset or blank takes
    the default given, which is not checked (it is the agent's own).
    """

    def __init__(self, env: Mapping[str, str], prefix: str = "") -> None:
        self.env = env
        self.prefix = prefix

    def name(self, key: str) -> str:
        """The variable's full name: ``prefix + key``."""
        return self.prefix + key

    def raw(self, key: str) -> str:
        """The variable's value, stripped; ``""`` when it is unset or blank."""
        return self.env.get(self.name(key), "").strip()

    def invalid(self, key: str, held: str, allowed: str) -> SettingError:
        """The error for ``key`` holding ``held``: ``NAME='held' must be <allowed>``. For the kinds
        of setting an agent reads itself (raise what this returns)."""
        return SettingError(f"{self.name(key)}={held!r} must be {allowed}")

    def integer(self, key: str, default: int, *, low: int = 1, high: int | None = None) -> int:
        """A whole number from ``low`` to ``high`` (both included; no upper bound when ``None``)."""
        return self._within(key, default, int, low=low, high=high, kind="a whole number")

    def number(
        self, key: str, default: float, *, low: float = 0.0, high: float | None = None
    ) -> float:
        """A finite number (``0.05``, ``30``) from ``low`` to ``high`` (both included; no upper
        bound when ``None``)."""
        return self._within(key, default, _finite, low=low, high=high, kind="a number")

    def _within(
        self,
        key: str,
        default: _N,
        parse: Callable[[str], _N],
        *,
        low: _N,
        high: _N | None,
        kind: str,
    ) -> _N:
        raw = self.raw(key)
        if not raw:
            return default
        try:
            value = parse(raw)
            ok = low <= value and (high is None or value <= high)
        except ValueError:
            ok = False
        if not ok:
            bounds = f"of at least {_shown(low)}"
            if high is not None:
                bounds = f"from {_shown(low)} to {_shown(high)}"
            raise self.invalid(key, raw, f"{kind} {bounds}")
        return value

    def text(
        self,
        key: str,
        default: str = "",
        *,
        pattern: str | re.Pattern[str] | None = None,
        allowed: str = "",
    ) -> str:
        """A string; with ``pattern``, one the whole of which matches it. ``allowed`` says what
        that is in words (``"an image reference like redis:7-alpine"``); without it the error
        quotes the pattern."""
        raw = self.raw(key)
        if not raw:
            return default
        if pattern is not None:
            compiled = re.compile(pattern)
            if not compiled.fullmatch(raw):
                raise self.invalid(key, raw, allowed or f"text matching {compiled.pattern}")
        return raw

    def path(self, key: str, default: Path) -> Path:
        """A filesystem path, as given (``~`` is not expanded; a relative path stays relative)."""
        raw = self.raw(key)
        return Path(raw) if raw else default

    def url(
        self,
        key: str,
        default: str = "",
        *,
        schemes: Sequence[str] = ("https",),
        because: str = "",
    ) -> str:
        """A URL whose scheme is one of ``schemes``, with a host (but for ``file:`` URLs) and, if
        it names one, a valid port. ``because`` is said in the error after what is allowed."""
        raw = self.raw(key)
        if not raw:
            return default
        try:
            parts = urlsplit(raw)
            ok = parts.scheme in schemes and (parts.scheme == "file" or bool(parts.hostname))
            ok = ok and (parts.port is None or parts.port > 0)
        except ValueError:  # a bad port or IPv6 address
            ok = False
        if not ok:
            listed = [f"{s}://" for s in schemes]
            which = listed[0] if len(listed) == 1 else f"{', '.join(listed[:-1])} or {listed[-1]}"
            article = "an" if which.startswith("h") else "a"
            why = f" ({because})" if because else ""
            raise self.invalid(key, raw, f"{article} {which} URL{why}")
        return raw
