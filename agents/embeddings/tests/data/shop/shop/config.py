"""Settings, read from environment variables and an optional ``.env`` file."""

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict

DATABASE_NAME = "shop"
#: Used when DATABASE_URL is not set.
DEFAULT_DATABASE_URL = (
    f"postgresql+psycopg://postgres:postgres@localhost:5432/{DATABASE_NAME}"
)


class Settings(BaseSettings):
    """Application settings.

    Each field is read from the environment variable of the same name in upper
    case (``APP_NAME``, ``DEBUG``, ``DATABASE_URL``), then from ``.env``.
    """

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    app_name: str = "shop"
    debug: bool = False
    database_url: str = DEFAULT_DATABASE_URL


@lru_cache
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()
