"""Dependencies with the leak shapes leaklint finds. Try `leaklint --diff examples/`."""

from collections.abc import Iterator

from sqlalchemy.orm import Session

from .database import SessionLocal, engine


def get_db() -> Iterator[Session]:
    # LL001: when the endpoint raises, FastAPI throws the exception in at the
    # yield and db.close() never runs: the connection stays checked out.
    db = SessionLocal()
    yield db
    db.commit()
    db.close()


def get_session() -> Iterator[Session]:
    # LL002: the explicit try/finally form is preferred.
    with Session(engine) as session:
        yield session


def get_report_db() -> Iterator[Session]:
    # LL003: nothing ever closes this session.
    db = SessionLocal()
    yield db
