"""``leaklint server`` end to end: the server as a real subprocess over stdio, driven by a
language client (pytest-lsp), on a workspace written for each test."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Optional

import pytest

pytest.importorskip("pytest_lsp", reason="pytest-lsp needs Python 3.10 or newer")

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from leaklint import fix_source

DEPS = textwrap.dedent(
    """\
    from collections.abc import Iterator

    from sqlalchemy.orm import Session, sessionmaker

    from app.db import engine

    SessionLocal = sessionmaker(bind=engine)


    def get_db() -> Iterator[Session]:
        db = SessionLocal()
        try:
            yield db
        finally:
            db.close()


    def get_report_db() -> Iterator[Session]:
        for db in get_db():
            yield db


    def get_cache():
        cache = SessionLocal()
        yield cache
        cache.close()
    """
)
ROUTES = textwrap.dedent(
    """\
    from fastapi import APIRouter, Depends

    from app.deps import get_report_db

    router = APIRouter()


    @router.get("/reports")
    def reports(db=Depends(get_report_db)) -> list:
        return []
    """
)
UNREGISTERED = ROUTES.replace("Depends(get_report_db)", "None")
CACHE_CLOSE_ROW = DEPS.splitlines().index("    cache.close()") + 1


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    app = tmp_path / "app"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "deps.py").write_text(DEPS)
    (app / "routes.py").write_text(UNREGISTERED)
    (tmp_path / "pyproject.toml").write_text("[tool.leaklint]\n")
    return tmp_path


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "leaklint", "server"])
)
async def client(lsp_client: LanguageClient, workspace: Path) -> AsyncIterator[None]:
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("neovim"),
            root_uri=workspace.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="app")],
        )
    )
    yield
    await lsp_client.shutdown_session()


def _uri(workspace: Path, name: str) -> str:
    return (workspace / "app" / name).as_uri()


async def _open(client: LanguageClient, uri: str, text: str) -> list[types.Diagnostic]:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=text
            )
        )
    )
    return await _published(client, uri)


async def _published(client: LanguageClient, uri: str) -> list[types.Diagnostic]:
    """The next diagnostics published for ``uri``."""
    while True:
        params = await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        if params.uri == uri:
            return list(params.diagnostics)


def _replace(client: LanguageClient, uri: str, text: str, version: int) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def _codes(diagnostics: list[types.Diagnostic]) -> list[tuple[int, object]]:
    return sorted((d.range.start.line + 1, d.code) for d in diagnostics)


def _apply(text: str, edit: Optional[types.WorkspaceEdit]) -> str:
    """The text after a workspace edit of whole-line replacements on one document."""
    assert edit is not None and edit.document_changes
    [change] = edit.document_changes
    assert isinstance(change, types.TextDocumentEdit)
    lines = text.splitlines(keepends=True)
    for text_edit in sorted(change.edits, key=lambda e: e.range.start.line, reverse=True):
        start, end = text_edit.range.start, text_edit.range.end
        assert start.character == 0 and end.character == 0
        lines[start.line : end.line] = [text_edit.new_text]
    return "".join(lines)


async def _actions(
    client: LanguageClient, uri: str, row: int, only: Optional[list[str]] = None
) -> list[types.CodeAction]:
    found = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(types.Position(row - 1, 0), types.Position(row - 1, 0)),
            context=types.CodeActionContext(diagnostics=[], only=only),
        )
    )
    return [action for action in found or [] if isinstance(action, types.CodeAction)]


@pytest.mark.asyncio
async def test_diagnostics_of_an_open_buffer(client: LanguageClient, workspace: Path) -> None:
    uri = _uri(workspace, "deps.py")
    diagnostics = await _open(client, uri, DEPS)
    assert _codes(diagnostics) == [(CACHE_CLOSE_ROW, "LL001")]
    [diagnostic] = diagnostics
    assert diagnostic.source == "leaklint"
    assert diagnostic.severity == types.DiagnosticSeverity.Error
    assert diagnostic.code_description is None  # no docs URL configured
    assert "`cache.close()` is skipped" in diagnostic.message

    # unsaved edits count: the buffer's text is checked, not the file
    fixed = fix_source(DEPS)
    _replace(client, uri, fixed, 2)
    assert await _published(client, uri) == []


@pytest.mark.asyncio
async def test_a_registration_in_another_file_updates_the_open_one(
    client: LanguageClient, workspace: Path
) -> None:
    deps = _uri(workspace, "deps.py")
    assert "LL011" not in [code for _, code in _codes(await _open(client, deps, DEPS))]
    routes = _uri(workspace, "routes.py")
    await _open(client, routes, UNREGISTERED)

    _replace(client, routes, ROUTES, 2)  # Depends(get_report_db), not saved
    while True:
        codes = [code for _, code in _codes(await _published(client, deps))]
        if "LL011" in codes:
            break
    _replace(client, routes, UNREGISTERED, 3)
    while True:
        codes = [code for _, code in _codes(await _published(client, deps))]
        if "LL011" not in codes:
            break


@pytest.mark.asyncio
async def test_the_fixes_are_the_clis(client: LanguageClient, workspace: Path) -> None:
    uri = _uri(workspace, "deps.py")
    await _open(client, uri, DEPS)
    actions = await _actions(client, uri, CACHE_CLOSE_ROW)
    titles = [action.title for action in actions]
    assert any(title.startswith("leaklint (LL001):") for title in titles), titles
    quick = next(a for a in actions if a.title.startswith("leaklint (LL001):"))
    assert quick.kind == types.CodeActionKind.QuickFix
    assert _apply(DEPS, quick.edit) == fix_source(DEPS)

    [fix_all] = await _actions(client, uri, 1, only=["source.fixAll.leaklint"])
    assert fix_all.kind == "source.fixAll.leaklint"
    assert _apply(DEPS, fix_all.edit) == fix_source(DEPS)

    noqa = next(a for a in actions if a.title == "leaklint: Disable LL001 for this line")
    suppressed = _apply(DEPS, noqa.edit)
    assert suppressed.splitlines()[CACHE_CLOSE_ROW - 1] == "    cache.close()  # noqa: LL001"
    _replace(client, uri, suppressed, 2)
    assert await _published(client, uri) == []


@pytest.mark.asyncio
async def test_hover_shows_the_rule_docs(client: LanguageClient, workspace: Path) -> None:
    uri = _uri(workspace, "deps.py")
    text = DEPS.replace("    yield cache\n", "    yield cache  # noqa: LL003, LL002\n")
    await _open(client, uri, text)
    on_finding = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(CACHE_CLOSE_ROW - 1, 6),
        )
    )
    assert on_finding is not None and isinstance(on_finding.contents, types.MarkupContent)
    assert on_finding.contents.value.startswith("**LL001** unprotected-cleanup")
    assert "## What it does" in on_finding.contents.value
    column = text.splitlines()[CACHE_CLOSE_ROW - 2].index("LL002") + 2
    on_noqa = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(CACHE_CLOSE_ROW - 2, column),
        )
    )
    assert on_noqa is not None and isinstance(on_noqa.contents, types.MarkupContent)
    assert on_noqa.contents.value.startswith("**LL002** yield-inside-with")


@pytest.mark.asyncio
async def test_a_syntax_error_and_a_closed_buffer(client: LanguageClient, workspace: Path) -> None:
    uri = _uri(workspace, "deps.py")
    await _open(client, uri, DEPS)
    _replace(client, uri, DEPS + "\ndef broken(:\n", 2)
    assert await _published(client, uri) == []  # no stale findings while it cannot parse
    _replace(client, uri, DEPS, 3)
    assert _codes(await _published(client, uri)) == [(CACHE_CLOSE_ROW, "LL001")]
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    assert await _published(client, uri) == []


def test_without_the_extra_it_says_how_to_install_it() -> None:
    hide = (
        "import sys; sys.modules['pygls'] = None; sys.argv = ['leaklint', 'server'];"
        " from leaklint.cli import main; main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", hide], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "pip install 'leaklint[server]'" in result.stderr
