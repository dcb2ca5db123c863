"""``leaklint server`` end to end: the server as a real subprocess over stdio, driven by a
language client (pytest-lsp), on a workspace written for each test."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Optional

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


    def reporting_session() -> Iterator[Session]:
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

    from app.sessions import reporting_session

    router = APIRouter()


    @router.get("/reports")
    def reports(db=Depends(reporting_session)) -> list:
        return []
    """
)
WAIT = 60.0
"""Seconds to wait for the server's next diagnostics before the test fails."""
UNREGISTERED = ROUTES.replace("Depends(reporting_session)", "None")
CACHE_CLOSE_ROW = DEPS.splitlines().index("    cache.close()") + 1


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    app = tmp_path / "app"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "sessions.py").write_text(DEPS)
    (app / "routes.py").write_text(UNREGISTERED)
    (tmp_path / "pyproject.toml").write_text("[tool.leaklint]\n")
    return tmp_path


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "leaklint", "server"])
)
async def client(lsp_client: LanguageClient, workspace: Path) -> AsyncIterator[None]:
    _record_publications(lsp_client)
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
    SENT[uri] = 1
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=text
            )
        )
    )
    return await _published(client, uri)


def _record_publications(client: LanguageClient) -> None:
    """Queue every ``publishDiagnostics`` the client receives. ``wait_for_notification``
    alone misses the second of two that arrive together (nothing waits for it yet), which
    under load left a test waiting for a publication that had already come."""
    queue: asyncio.Queue[types.PublishDiagnosticsParams] = asyncio.Queue()
    protocol: Any = client.protocol
    handle = protocol._handle_notification

    def recording(method: str, params: Any) -> None:
        if method == types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS:
            queue.put_nowait(params)
        handle(method, params)

    protocol._handle_notification = recording
    PUBLISHED[id(client)] = queue


PUBLISHED: dict[int, asyncio.Queue[types.PublishDiagnosticsParams]] = {}
"""Each client's queue of publications, in the order they arrived."""


async def _next_publication(client: LanguageClient) -> types.PublishDiagnosticsParams:
    return await asyncio.wait_for(PUBLISHED[id(client)].get(), WAIT)


SENT: dict[str, int] = {}
"""The newest version of each document sent to the server."""


async def _published(client: LanguageClient, uri: str) -> list[types.Diagnostic]:
    """The next diagnostics published for the newest text sent of ``uri`` (a code action
    publishes the current version again: those of older text are passed over)."""
    while True:
        params = await _next_publication(client)
        newest = SENT.get(uri, 0)
        if params.uri == uri and (params.version is None or params.version >= newest):
            return list(params.diagnostics)


def _replace(client: LanguageClient, uri: str, text: str, version: int) -> None:
    SENT[uri] = version
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
    uri = _uri(workspace, "sessions.py")
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
    deps = _uri(workspace, "sessions.py")
    assert "LL011" not in [code for _, code in _codes(await _open(client, deps, DEPS))]
    routes = _uri(workspace, "routes.py")
    await _open(client, routes, UNREGISTERED)

    _replace(client, routes, ROUTES, 2)  # Depends(reporting_session), not saved
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
    uri = _uri(workspace, "sessions.py")
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
    # in a menu the edit is made when the action is chosen
    [in_menu] = [a for a in actions if a.kind == "source.fixAll.leaklint"]
    assert in_menu.edit is None
    resolved = await client.code_action_resolve_async(in_menu)
    assert _apply(DEPS, resolved.edit) == fix_source(DEPS)

    noqa = next(a for a in actions if a.title == "leaklint: Disable LL001 for this line")
    suppressed = _apply(DEPS, noqa.edit)
    assert suppressed.splitlines()[CACHE_CLOSE_ROW - 1] == "    cache.close()  # noqa: LL001"
    _replace(client, uri, suppressed, 2)
    assert await _published(client, uri) == []


@pytest.mark.asyncio
async def test_hover_shows_the_rule_docs(client: LanguageClient, workspace: Path) -> None:
    uri = _uri(workspace, "sessions.py")
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
    uri = _uri(workspace, "sessions.py")
    await _open(client, uri, DEPS)
    # broken inside the generator: nothing can be said of it, and no stale finding stays
    _replace(client, uri, DEPS.replace("    cache.close()\n", "    cache.close(\n"), 2)
    assert await _published(client, uri) == []
    # broken elsewhere: as in the CLI, the generators that parse are still checked
    _replace(client, uri, DEPS + "\ndef broken(:\n", 3)
    assert _codes(await _published(client, uri)) == [(CACHE_CLOSE_ROW, "LL001")]
    _replace(client, uri, DEPS, 4)
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


@pytest.mark.asyncio
async def test_files_changed_on_disk_and_the_configuration(
    client: LanguageClient, workspace: Path
) -> None:
    deps = _uri(workspace, "sessions.py")
    assert "LL011" not in [code for _, code in _codes(await _open(client, deps, DEPS))]
    # another program registers the dependency in a file that is not open
    (workspace / "app" / "routes.py").write_text(ROUTES)
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[
                types.FileEvent(uri=_uri(workspace, "routes.py"), type=types.FileChangeType.Changed)
            ]
        )
    )
    while "LL011" not in [code for _, code in _codes(await _published(client, deps))]:
        pass
    # the project stops checking LL001 and LL011
    pyproject = workspace / "pyproject.toml"
    pyproject.write_text('[tool.leaklint]\nignore = ["LL001", "LL011"]\n')
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=pyproject.as_uri(), type=types.FileChangeType.Changed)]
        )
    )
    while await _published(client, deps) != []:
        pass
    # the project's file is restored
    pyproject.write_text("[tool.leaklint]\n")
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=pyproject.as_uri(), type=types.FileChangeType.Changed)]
        )
    )
    while sorted(code for _, code in _codes(await _published(client, deps))) != [
        "LL001",
        "LL011",
    ]:
        pass
    # the editor's settings add to the project's: it ignores LL011
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"leaklint": {"ignore": ["LL011"]}})
    )
    while _codes(await _published(client, deps)) != [(CACHE_CLOSE_ROW, "LL001")]:
        pass


@pytest.mark.asyncio
async def test_unsafe_fixes_are_offered_only_when_enabled(
    client: LanguageClient, workspace: Path
) -> None:
    text = textwrap.dedent(
        """\
        def get_db():
            db = SessionLocal()
            try:
                yield db
            except Exception:
                db.rollback()
                db.close()
                log.error("rolled back")
                raise
        """
    )
    uri = _uri(workspace, "session.py")
    [finding] = await _open(client, uri, text)
    assert finding.code == "LL008"
    titles = [a.title for a in await _actions(client, uri, finding.range.start.line + 1)]
    assert not any(title.startswith("leaklint (LL008)") for title in titles), titles
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"unsafeFixes": True})
    )
    await _published(client, uri)
    titles = [a.title for a in await _actions(client, uri, finding.range.start.line + 1)]
    assert any(t.startswith("leaklint (LL008)") and t.endswith("(unsafe)") for t in titles)


@pytest.mark.asyncio
async def test_a_file_outside_the_workspace(
    client: LanguageClient, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "pyproject.toml").write_text('[tool.leaklint]\nignore = ["LL001"]\n')
    uri = (elsewhere / "sessions.py").as_uri()
    assert await _open(client, uri, DEPS) == []  # its own folder's configuration


@pytest.mark.asyncio
async def test_an_edit_storm_ends_on_the_newest_text(
    client: LanguageClient, workspace: Path
) -> None:
    uri = _uri(workspace, "sessions.py")
    await _open(client, uri, DEPS)
    fixed = fix_source(DEPS)
    changes = 300
    for version in range(2, changes + 2):
        _replace(client, uri, fixed if version % 2 else DEPS, version)
    versions: list[int] = []
    while True:
        params = await _next_publication(client)
        if params.uri != uri:
            continue
        assert params.version is not None
        versions.append(params.version)
        expected = [] if params.version % 2 else [(CACHE_CLOSE_ROW, "LL001")]
        assert _codes(list(params.diagnostics)) == expected, params.version
        if params.version == changes + 1:
            break
    # how many checks a burst costs depends on how fast the messages arrive; what must hold is
    # that a result for older text never follows one for newer text
    assert versions == sorted(set(versions)), versions
    assert list(params.diagnostics) == []  # the last text is the fixed one


def test_a_20_mb_buffer_and_a_client_that_goes_away(workspace: Path) -> None:
    """Over raw JSON-RPC: a client that takes no progress reports, opens a 20 MB buffer, reads
    its diagnostics and disconnects without a word."""
    server = subprocess.Popen(
        [sys.executable, "-m", "leaklint", "server"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert server.stdin is not None and server.stdout is not None
    stdin, stdout = server.stdin, server.stdout

    def send(message: dict[str, object]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        stdin.flush()

    def receive() -> dict[str, Any]:
        length = 0
        while (line := stdout.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        return dict(json.loads(stdout.read(length)))

    try:
        root = workspace.as_uri()
        send(
            {
                "id": 1,
                "method": "initialize",
                "params": {
                    "processId": None,
                    "rootUri": root,
                    "capabilities": {},
                    "workspaceFolders": [{"uri": root, "name": "app"}],
                },
            }
        )
        while receive().get("id") != 1:
            pass
        send({"method": "initialized", "params": {}})
        text = "x = 1\n" * 3_400_000 + DEPS
        assert len(text) > 20_000_000
        uri = _uri(workspace, "generated.py")
        document = {"uri": uri, "languageId": "python", "version": 1, "text": text}
        send({"method": "textDocument/didOpen", "params": {"textDocument": document}})
        while True:
            message = receive()
            params = message.get("params") or {}
            if message.get("method") == "textDocument/publishDiagnostics" and params["uri"] == uri:
                break
        assert [d["code"] for d in message["params"]["diagnostics"]] == ["LL001"]
    finally:
        stdin.close()  # the client goes away
    assert server.wait(timeout=30) is not None


@pytest.mark.asyncio
async def test_indexing_reports_progress(client: LanguageClient, workspace: Path) -> None:
    await _open(client, _uri(workspace, "sessions.py"), DEPS)  # checks wait for the index
    reports = client.progress_reports["leaklint-index"]
    begin, *middle, end = reports
    assert isinstance(begin, types.WorkDoneProgressBegin)
    assert begin.title == "leaklint: indexing"
    assert isinstance(end, types.WorkDoneProgressEnd)
    assert [type(report) for report in middle] == [types.WorkDoneProgressReport]
    assert middle[0].percentage == 100
    assert middle[0].message == str(workspace)


@pytest.fixture
def two_folders(tmp_path: Path) -> tuple[Path, Path]:
    """Two workspace folders with the same package path: one ignores LL001 and registers
    ``reporting_session``, the other neither."""
    folders = []
    for name, routes, configuration in (
        ("one", ROUTES, '[tool.leaklint]\nignore = ["LL001"]\n'),
        ("two", UNREGISTERED, "[tool.leaklint]\n"),
    ):
        root = tmp_path / name
        (root / "app").mkdir(parents=True)
        (root / "app" / "__init__.py").write_text("")
        (root / "app" / "sessions.py").write_text(DEPS)
        (root / "app" / "routes.py").write_text(routes)
        (root / "pyproject.toml").write_text(configuration)
        folders.append(root)
    return folders[0], folders[1]


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "leaklint", "server"])
)
async def two_folder_client(
    lsp_client: LanguageClient, two_folders: tuple[Path, Path]
) -> AsyncIterator[None]:
    _record_publications(lsp_client)
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("neovim"),
            root_uri=two_folders[0].as_uri(),
            workspace_folders=[
                types.WorkspaceFolder(uri=folder.as_uri(), name=folder.name)
                for folder in two_folders
            ],
        )
    )
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_workspace_folders_are_separate_projects(
    two_folder_client: LanguageClient, two_folders: tuple[Path, Path]
) -> None:
    client = two_folder_client
    one, two = (_uri(folder, "sessions.py") for folder in two_folders)
    # each folder's own configuration and index: `one` registers reporting_session (LL011) and
    # ignores LL001; `two` registers nothing, so the same module there has only LL001
    assert [code for _, code in _codes(await _open(client, one, DEPS))] == ["LL011"]
    assert _codes(await _open(client, two, DEPS)) == [(CACHE_CLOSE_ROW, "LL001")]
