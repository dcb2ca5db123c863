"""Engines and session factories, as in the FastAPI SQL tutorial, with small bounded pools.

Everything comes from the environment, so the end-to-end test (tests/test_e2e_postgres.py) can
point the app at its own PostgreSQL server:

* ``DATABASE_URL``: the sync engine (psycopg 3), e.g. ``postgresql+psycopg://app:app@127.0.0.1/app``
* ``ASYNC_DATABASE_URL``: the async engine (asyncpg), e.g. ``postgresql+asyncpg://...``
* ``DATABASE_APPLICATION_NAME``: the ``application_name`` of the app's connections, the name
  under which they appear in ``pg_stat_activity``
* ``DATABASE_POOL_TIMEOUT``: seconds a request waits for a pooled connection (default 2)

SQLite works too (``sqlite:///app.db`` and ``sqlite+aiosqlite:///app.db``): the tests of
``pytest --leaklint`` drive the app on it. The application name is PostgreSQL's alone.
"""

import os

from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import sessionmaker

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql+psycopg://app:app@127.0.0.1:5432/app")
ASYNC_DATABASE_URL = os.environ.get(
    "ASYNC_DATABASE_URL", "postgresql+asyncpg://app:app@127.0.0.1:5432/app"
)
APPLICATION_NAME = os.environ.get("DATABASE_APPLICATION_NAME", "fastapi-sqlalchemy-example")
POOL_TIMEOUT = float(os.environ.get("DATABASE_POOL_TIMEOUT", "2"))


def _on_postgresql(url: str, arguments: dict) -> dict:
    return arguments if url.startswith("postgresql") else {}


# Two connections, no overflow: the third concurrent request waits POOL_TIMEOUT seconds for a
# connection to come back, then fails with sqlalchemy.exc.TimeoutError.
engine = create_engine(
    DATABASE_URL,
    pool_size=2,
    max_overflow=0,
    pool_timeout=POOL_TIMEOUT,
    connect_args=_on_postgresql(DATABASE_URL, {"application_name": APPLICATION_NAME}),
)
SessionLocal = sessionmaker(bind=engine, autoflush=False)

async_engine = create_async_engine(
    ASYNC_DATABASE_URL,
    pool_size=2,
    max_overflow=0,
    pool_timeout=POOL_TIMEOUT,
    connect_args=_on_postgresql(
        ASYNC_DATABASE_URL, {"server_settings": {"application_name": APPLICATION_NAME}}
    ),
)
AsyncSessionLocal = async_sessionmaker(async_engine, autoflush=False, expire_on_commit=False)
