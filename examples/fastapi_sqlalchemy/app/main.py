"""Endpoints that run a query, then fail."""

from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from sqlalchemy import text
from sqlalchemy.orm import Session

from .deps import get_db, get_report_db, get_session

app = FastAPI()


@app.get("/items/{item_id}")
def read_item(item_id: int, db: Annotated[Session, Depends(get_db)]) -> dict[str, int]:
    db.execute(text("SELECT 1"))
    raise HTTPException(status_code=404, detail="Item not found")


@app.get("/health")
def health(session: Annotated[Session, Depends(get_session)]) -> dict[str, str]:
    session.execute(text("SELECT 1"))
    return {"status": "ok"}


@app.get("/report")
def report(db: Annotated[Session, Depends(get_report_db)]) -> dict[str, int]:
    return {"rows": db.execute(text("SELECT 1")).scalar_one()}
