"""Endpoints that run a query inside a transaction, then fail.

If the dependency leaks, the connection stays checked out of the pool and PostgreSQL shows the
session ``idle in transaction``; after two failed requests the pool is empty.
"""

from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from .deps import get_async_db, get_db, get_report_db, get_session

app = FastAPI()


@app.get("/items/{item_id}")
def read_item(item_id: int, db: Annotated[Session, Depends(get_db)]) -> dict[str, int]:
    db.execute(text("SELECT 1"))
    raise HTTPException(status_code=404, detail="Item not found")


@app.get("/async/items/{item_id}")
async def read_item_async(
    item_id: int, session: Annotated[AsyncSession, Depends(get_async_db)]
) -> dict[str, int]:
    await session.execute(text("SELECT 1"))
    raise HTTPException(status_code=404, detail="Item not found")


@app.get("/users/{user_id}")
def read_user(user_id: int, session: Annotated[Session, Depends(get_session)]) -> dict[str, int]:
    session.execute(text("SELECT 1"))
    raise HTTPException(status_code=404, detail="User not found")


@app.get("/reports/{report_id}")
def build_report(report_id: int, db: Annotated[Session, Depends(get_report_db)]) -> dict[str, int]:
    db.execute(text("SELECT 1"))
    raise RuntimeError("report generator failed")


@app.get("/health")
def health(session: Annotated[Session, Depends(get_session)]) -> dict[str, str]:
    session.execute(text("SELECT 1"))
    return {"status": "ok"}
