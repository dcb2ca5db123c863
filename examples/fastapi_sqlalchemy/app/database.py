"""Engine and session factory, as in the FastAPI SQL tutorial, with a small bounded pool."""

from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

DATABASE_URL = "postgresql+psycopg://app:app@localhost:5432/app"

engine = create_engine(DATABASE_URL, pool_size=2, max_overflow=0, pool_timeout=2)
SessionLocal = sessionmaker(bind=engine, autoflush=False)
