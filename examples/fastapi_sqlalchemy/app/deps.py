"""Dependencies with the leak shapes leaklint finds. Try `leaklint --diff examples/`."""

from collections.abc import AsyncIterator, Iterator

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from .database import AsyncSessionLocal, SessionLocal, engine


def get_db() -> Iterator[Session]:
    # LL001: when the endpoint raises, FastAPI throws the exception in at the
    # yield and db.close() never runs: the connection stays checked out.
    db = SessionLocal()
    yield db
    db.commit()
    db.close()


async def get_async_db() -> AsyncIterator[AsyncSession]:
    # LL001, async: the same with AsyncSession on asyncpg; `await session.close()`
    # is skipped whenever the endpoint raises.
    session = AsyncSessionLocal()
    yield session
    await session.commit()
    await session.close()


def get_session() -> Iterator[Session]:
    # LL002: not a leak (Session.__exit__ closes the session when the exception is
    # thrown in at the yield), but the explicit try/finally form is preferred.
    with Session(engine) as session:
        yield session


def get_report_db() -> Iterator[Session]:
    # LL003: nothing ever closes this session.
    db = SessionLocal()
    yield db
