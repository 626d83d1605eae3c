"""What is never indexed: the values of keys that look secret, and passwords inside URLs.

A key looks secret when one of its words (split at ``_ - .``, spaces and camelCase) is a secret
word (``password``, ``secret``, ``token``, ``key``, ...) or when it contains one of the longer
ones anywhere (``DBPASSWORD``, ``authtoken``). Too much redaction is harmless here: the key's
name stays searchable ("where is the API key set?" still finds the line).
"""

from __future__ import annotations

import re

REDACTED = "<redacted>"

#: A key with one of these as a word looks secret.
SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "pass",
        "passphrase",
        "secret",
        "secrets",
        "token",
        "tokens",
        "key",
        "keys",
        "apikey",
        "credential",
        "credentials",
        "creds",
        "auth",
        "private",
        "salt",
        "signature",
        "cookie",
        "session",
    }
)
#: A key containing one of these anywhere looks secret.
SECRET_PARTS = ("password", "passwd", "secret", "token", "apikey", "privatekey", "credential")

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
#: ``scheme://user:password@host``: the password part.
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*:)(?P<pw>[^\s@/]+)(?=@)")


def key_words(key: str) -> list[str]:
    """``DATABASE_URL`` -> ``["database", "url"]``; ``apiKey`` -> ``["api", "key"]``."""
    return [w.lower() for w in _WORD.findall(key)]


def looks_secret(key: str) -> bool:
    lowered = key.lower()
    if any(part in lowered for part in SECRET_PARTS):
        return True
    return any(word in SECRET_WORDS for word in key_words(key))


def redact_urls(text: str) -> str:
    """Passwords inside URLs become :data:`REDACTED` (``postgresql://app:<redacted>@db/x``)."""
    return _URL_PASSWORD.sub(lambda m: m.group("head") + REDACTED, text)


def value(key: str, raw: str) -> str:
    """What may be indexed of ``key``'s value ``raw``."""
    if not raw.strip():
        return raw
    return REDACTED if looks_secret(key) else redact_urls(raw)
