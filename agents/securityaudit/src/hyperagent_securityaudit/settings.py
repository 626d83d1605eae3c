"""The agent's settings: ``[env]`` in agent.toml, each with its default here and in the README."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from hyperagent_sdk import SettingsReader

PREFIX = "HYPERAGENT_SECURITYAUDIT_"

#: Where pip-audit asks for advisories by default: OSV's query API (pip-audit's ``--osv-url``).
OSV_URL = "https://api.osv.dev/v1/query"

#: Numeric setting (a whole number of at least 1) -> default.
DEFAULTS: dict[str, int] = {
    "TIMEOUT": 30,
    "MAX_COMMITS": 1000,
    "MAX_FINDINGS": 200,
    "KEEP_REPORTS": 100,
}


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
        read = SettingsReader(env, PREFIX)
        why = "only HTTPS leaves through HyperAgent's egress proxy"
        osv_url = read.url("OSV_URL", OSV_URL, because=why)
        ca_bundle = read.text("CA_BUNDLE")
        if ca_bundle and not Path(ca_bundle).is_absolute():
            raise read.invalid("CA_BUNDLE", ca_bundle, "an absolute path")
        return cls(
            osv_url=osv_url,
            ca_bundle=ca_bundle,
            timeout=read.integer("TIMEOUT", DEFAULTS["TIMEOUT"]),
            max_commits=read.integer("MAX_COMMITS", DEFAULTS["MAX_COMMITS"]),
            max_findings=read.integer("MAX_FINDINGS", DEFAULTS["MAX_FINDINGS"]),
            keep_reports=read.integer("KEEP_REPORTS", DEFAULTS["KEEP_REPORTS"]),
            reports_dir=read.path("REPORTS_DIR", Path.home() / "reports"),
        )
