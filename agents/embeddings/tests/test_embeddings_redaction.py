"""Secret values are never indexed: config keys, nested keys, URLs, commented-out lines."""

from __future__ import annotations

from hyperagent_embeddings import redact
from hyperagent_embeddings.chunking import chunk_file

SECRETS = ["hunter2", "s3cr3t", "tok-abc", "sk-live-999", "pem-data", "x-pass"]


def config_text(path: str, text: str) -> str:
    return "\n".join(c.text for c in chunk_file(path, text))


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, (secret, text)


def test_keys_that_look_secret() -> None:
    for key in [
        "PASSWORD",
        "db_password",
        "SECRET_KEY",
        "apiKey",
        "API-TOKEN",
        "authtoken",
        "aws.secret_access_key",
        "PRIVATE_KEY",
        "DBPASSWORD",
        "client_credentials",
    ]:
        assert redact.looks_secret(key), key
    for key in ["DATABASE_URL", "APP_NAME", "DEBUG", "keyboard", "monkey", "port", "host"]:
        assert not redact.looks_secret(key), key


def test_passwords_inside_urls_are_redacted() -> None:
    assert (
        redact.redact_urls("DATABASE_URL=postgresql+psycopg://app:hunter2@db:5432/shop")
        == "DATABASE_URL=postgresql+psycopg://app:<redacted>@db:5432/shop"
    )
    assert redact.redact_urls("see https://example.com/a:b") == "see https://example.com/a:b"


def test_env_file() -> None:
    text = config_text(
        ".env",
        "# Local settings\nAPP_NAME=shop\nDATABASE_URL=postgresql://app:hunter2@db/shop\n"
        "SECRET_KEY=s3cr3t\nexport API_TOKEN='tok-abc'\n# STRIPE_KEY=sk-live-999\n",
    )
    assert_no_secret(text)
    assert "APP_NAME=shop" in text
    assert "DATABASE_URL=postgresql://app:<redacted>@db/shop" in text
    assert "SECRET_KEY=<redacted>" in text
    assert "export API_TOKEN=<redacted>" in text
    assert "STRIPE_KEY = <redacted>" in text


def test_toml_sections_multiline_values_and_secret_sections() -> None:
    text = config_text(
        "pyproject.toml",
        '[tool.app]\nname = "shop"\ntokens = [\n  "tok-abc",\n  "sk-live-999",\n]\nport = 8000\n'
        'private_key = """\npem-data\n"""\n[credentials]\nuser = "x-pass"\n',
    )
    assert_no_secret(text)
    assert 'name = "shop"' in text
    assert "port = 8000" in text
    assert "tokens = <redacted>" in text
    assert "[credentials]" in text
    assert "user = <redacted>" in text


def test_yaml_nested_under_a_secret_key() -> None:
    text = config_text(
        "config.yaml",
        "db:\n  host: localhost\n  password: hunter2\nsecrets:\n  stripe: sk-live-999\n"
        "  list:\n    - tok-abc\nport: 8000\n",
    )
    assert_no_secret(text)
    assert "host: localhost" in text
    assert "password: <redacted>" in text
    assert "stripe: <redacted>" in text
    assert "port: 8000" in text


def test_ini_file() -> None:
    text = config_text(
        "alembic.ini",
        "[alembic]\nscript_location = alembic\nsqlalchemy.url = postgresql://u:hunter2@h/d\n"
        "[auth]\nclient = x-pass\n",
    )
    assert_no_secret(text)
    assert "script_location = alembic" in text
    assert "sqlalchemy.url = postgresql://u:<redacted>@h/d" in text
