"""Database engine and sessions."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine, create_engine, make_url
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str) -> Engine:
    """An engine for ``url``; no connection is made until one is needed."""
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        # Sync endpoints run in a thread pool: let connections cross threads.
        return create_engine(url, connect_args={"check_same_thread": False})
    if backend == "postgresql":
        # Fail fast when the server is down instead of hanging a request.
        return create_engine(
            url, pool_pre_ping=True, connect_args={"connect_timeout": 5}
        )
    return create_engine(url, pool_pre_ping=True)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``; objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def get_session(request: Request) -> Iterator[Session]:
    """FastAPI dependency: one session per request, closed afterwards."""
    with request.app.state.session_factory() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
