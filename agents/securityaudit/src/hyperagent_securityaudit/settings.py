"""The agent's settings: ``[env]`` in agent.toml, each with its default here and in the README."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

PREFIX = "HYPERAGENT_SECURITYAUDIT_"

#: Where pip-audit asks for advisories by default: OSV's query API (pip-audit's ``--osv-url``).
OSV_URL = "https://api.osv.dev/v1/query"

#: Numeric setting -> default.
DEFAULTS: dict[str, int] = {
    "TIMEOUT": 30,
    "MAX_COMMITS": 1000,
    "MAX_FINDINGS": 200,
    "KEEP_REPORTS": 100,
}


class SettingError(ValueError):
    """A setting that is not what it must be (the message says what is allowed)."""


@dataclass(frozen=True)
class Settings:
    #: The vulnerability service: an OSV ``/v1/query`` endpoint (OSV's own, or a mirror).
    osv_url: str
    #: A PEM file of certificate authorities trusted for the vulnerability service (a mirror
    #: with its own CA); empty: the CAs pip-audit trusts by default.
    ca_bundle: str
    #: Seconds pip-audit waits for each answer of the vulnerability service.
    timeout: int
    #: Commits whose added lines are scanned for secrets, newest first.
    max_commits: int
    max_findings: int
    keep_reports: int
    #: Where SARIF reports go: ``HYPERAGENT_SECURITYAUDIT_REPORTS_DIR``, else ``~/reports`` (the
    #: agent's state folder, its HOME, which its task processes may write).
    reports_dir: Path

    @property
    def osv_host(self) -> str:
        """``HOST:PORT`` of the vulnerability service, as the egress proxy is asked for it."""
        url = urlsplit(self.osv_url)
        return f"{url.hostname}:{url.port or 443}"

    @classmethod
    def load(cls, env: Mapping[str, str]) -> Settings:
        def number(key: str) -> int:
            raw = env.get(PREFIX + key, "").strip()
            if not raw:
                return DEFAULTS[key]
            try:
                value = int(raw)
            except ValueError:
                value = 0
            if value < 1:
                raise SettingError(f"{PREFIX}{key}={raw!r} must be a whole number of at least 1")
            return value

        osv_url = env.get(PREFIX + "OSV_URL", "").strip() or OSV_URL
        parts = urlsplit(osv_url)
        if parts.scheme != "https" or not parts.hostname:
            raise SettingError(
                f"{PREFIX}OSV_URL={osv_url!r} must be an https:// URL (only HTTPS leaves through"
                " HyperAgent's egress proxy)"
            )
        ca_bundle = env.get(PREFIX + "CA_BUNDLE", "").strip()
        if ca_bundle and not Path(ca_bundle).is_absolute():
            raise SettingError(f"{PREFIX}CA_BUNDLE={ca_bundle!r} must be an absolute path")
        reports = env.get(PREFIX + "REPORTS_DIR", "").strip()
        return cls(
            osv_url=osv_url,
            ca_bundle=ca_bundle,
            timeout=number("TIMEOUT"),
            max_commits=number("MAX_COMMITS"),
            max_findings=number("MAX_FINDINGS"),
            keep_reports=number("KEEP_REPORTS"),
            reports_dir=Path(reports) if reports else Path.home() / "reports",
        )
