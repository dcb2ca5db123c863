"""The Language Server Protocol side of ``leaklint server``, on pygls: documents in, diagnostics,
code actions and hovers out. The server never writes a file: every change is a
``WorkspaceEdit`` the editor applies."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import logging
import re
from pathlib import Path
from typing import Optional
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import ServerTextPosition, ServerTextRange

from leaklint import __version__
from leaklint.model import Applicability, Diagnostic, Edit
from leaklint.noqa import line_noqa
from leaklint.rules import RULES_BY_CODE
from leaklint.server.workspace import Checked, Options, Project

FIX_ALL = "source.fixAll.leaklint"
"""The code action kind of "Fix all leaklint problems" (as ruff's ``source.fixAll.ruff``)."""

_CODE = re.compile(r"[A-Z]+[0-9]+")
logger = logging.getLogger("leaklint.server")


class LeaklintServer(LanguageServer):
    """The server and what it remembers between messages."""

    def __init__(self) -> None:
        super().__init__("leaklint", __version__)
        self.options = Options()
        self.projects: dict[Path, Project] = {}
        self.owners: dict[Path, Project] = {}
        """The project of each path asked about (resolving paths costs system calls)."""
        self.checked: dict[str, Checked] = {}
        """The last check of each open document, by URI."""
        self.pending: set[str] = set()
        self.draining: Optional[asyncio.Task[None]] = None
        self.indexed: Optional[asyncio.Event] = None
        """Set once the workspace folders are indexed: checks wait for it."""
        self.worker = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        """Where checks run, so that the event loop keeps reading messages."""

    # projects ---------------------------------------------------------------------------
    def project_for(self, path: Path) -> Project:
        """The workspace folder holding ``path`` (the innermost), or a project of its own
        folder for a file outside every workspace."""
        owner = self.owners.get(path)
        if owner is not None:
            return owner
        holders = [project for root, project in self.projects.items() if project.contains(path)]
        if holders:
            owner = max(holders, key=lambda project: len(project.root.parts))
        else:
            root = path.parent
            if root not in self.projects:
                self.projects[root] = Project(root, self.options)
            owner = self.projects[root]
        self.owners[path] = owner
        return owner

    def add_folder(self, root: Path) -> Project:
        project = Project(root, self.options)
        self.projects[root] = project
        self.owners.clear()
        self._report_problem(project)
        return project

    def _report_problem(self, project: Project) -> None:
        if project.problem is not None:
            self.log(types.MessageType.Error, f"{project.root}: {project.problem}")

    def log(self, kind: types.MessageType, message: str) -> None:
        """A line in the editor's log for this server."""
        self.window_log_message(types.LogMessageParams(type=kind, message=message))

    # checking ------------------------------------------------------------------------------
    def schedule(self, uri: str) -> None:
        """Check ``uri`` once the messages already received are handled: changes that arrive
        together cost one check, of the newest text."""
        self.pending.add(uri)
        if self.draining is None or self.draining.done():
            self.draining = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        """Check pending documents one at a time, off the event loop, so that messages keep
        arriving meanwhile; a document changed during its check is checked again, and the
        result for the older text is dropped."""
        if self.indexed is not None:
            await self.indexed.wait()
        await asyncio.sleep(0)
        loop = asyncio.get_running_loop()
        while self.pending:
            uri = self.pending.pop()
            document = self.workspace.text_documents.get(uri)
            path = _path(uri)
            if document is None or path is None:
                continue
            project = self.project_for(path)
            version, text = document.version, document.source
            try:
                checked, index_changed = await loop.run_in_executor(
                    self.worker, project.refresh, str(path), text
                )
            except Exception as error:  # a bug must cost one check, never the server
                logger.exception("checking %s failed", uri)
                self.log(types.MessageType.Error, f"leaklint: checking {uri} failed: {error}")
                continue
            if index_changed:  # what this buffer registers changed: its neighbours too
                self.recheck_open(project, but=uri)
            current = self.workspace.text_documents.get(uri)
            if uri in self.pending or current is None or current.version != version:
                continue  # superseded: the newer text is checked next
            self._publish_checked(uri, current, project, checked)

    def publish(self, uri: str) -> None:
        """Check the open document ``uri`` now and publish its diagnostics."""
        document = self.workspace.text_documents.get(uri)
        if document is None:
            return  # closed meanwhile
        path = _path(uri)
        if path is None:
            return
        project = self.project_for(path)
        checked, index_changed = project.refresh(str(path), document.source)
        if index_changed:
            self.recheck_open(project, but=uri)
        self._publish_checked(uri, document, project, checked)

    def _publish_checked(
        self, uri: str, document: TextDocument, project: Project, checked: Checked
    ) -> None:
        path = _path(uri)
        self.checked[uri] = checked
        if checked.error is not None:
            self.log(types.MessageType.Info, f"leaklint: {path}: {checked.error}")
        diagnostics = [self._diagnostic(document, project, d) for d in checked.diagnostics]
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=uri, diagnostics=diagnostics, version=document.version
            )
        )

    def recheck_open(self, project: Project, but: str = "") -> None:
        """Check again every open document of ``project`` (its index changed), except
        ``but``."""
        for uri in list(self.workspace.text_documents):
            path = _path(uri)
            if uri != but and path is not None and self.project_for(path) is project:
                self.schedule(uri)

    def _diagnostic(
        self, document: TextDocument, project: Project, diagnostic: Diagnostic
    ) -> types.Diagnostic:
        url = project.settings.rule_url_for(diagnostic.code, diagnostic.name)
        return types.Diagnostic(
            range=_range(
                document,
                diagnostic.location.row,
                diagnostic.location.column,
                diagnostic.end_location.row,
                diagnostic.end_location.column,
            ),
            message=diagnostic.message,
            severity=types.DiagnosticSeverity.Error,
            code=diagnostic.code,
            code_description=types.CodeDescription(href=url) if url else None,
            source="leaklint",
        )


def _path(uri: str) -> Optional[Path]:
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    return Path(unquote(parsed.path))


def _range(
    document: TextDocument, row: int, column: int, end_row: int, end_column: int
) -> types.Range:
    """A range of 1-based rows and character columns in the editor's position encoding."""
    server = ServerTextRange(
        ServerTextPosition(row - 1, column - 1), ServerTextPosition(end_row - 1, end_column - 1)
    )
    return document.range_to_client_units(server)


def _text_edit(document: TextDocument, edit: Edit) -> types.TextEdit:
    return types.TextEdit(
        range=_range(document, edit.location.row, 1, edit.end_location.row, 1),
        new_text=edit.content,
    )


def _workspace_edit(document: TextDocument, edit: Edit) -> types.WorkspaceEdit:
    return types.WorkspaceEdit(
        document_changes=[
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(
                    uri=document.uri, version=document.version
                ),
                edits=[_text_edit(document, edit)],
            )
        ]
    )


server = LeaklintServer()


@server.feature(types.INITIALIZE)
def initialize(ls: LeaklintServer, params: types.InitializeParams) -> None:
    ls.options = Options.from_client(params.initialization_options)
    ls.indexed = asyncio.Event()
    folders = [_path(folder.uri) for folder in params.workspace_folders or []]
    roots = [root for root in folders if root is not None]
    if not roots and params.root_uri:
        roots = [root for root in [_path(params.root_uri)] if root is not None]
    for root in roots:
        ls.add_folder(root)


@server.feature(types.INITIALIZED)
async def initialized(ls: LeaklintServer, params: types.InitializedParams) -> None:
    try:
        await _index_workspace(ls)
    finally:
        if ls.indexed is not None:
            ls.indexed.set()
    _settle_memory()
    _watch_files(ls)


async def _index_workspace(ls: LeaklintServer) -> None:
    """Index every workspace folder, reporting progress where the client takes it; buffers
    opened meanwhile keep their unsaved text in the index."""
    roots = list(ls.projects)
    token = "leaklint-index"
    window = ls.client_capabilities.window
    progress = bool(window and window.work_done_progress)
    if progress:
        try:  # a client that never answers must not hold the server up
            await asyncio.wait_for(ls.work_done_progress.create_async(token), 5)
        except Exception:
            progress = False
    if progress:
        ls.work_done_progress.begin(
            token, types.WorkDoneProgressBegin(title="leaklint: indexing", percentage=0)
        )
    for number, root in enumerate(roots, start=1):
        count = ls.projects[root].scan()
        ls.log(types.MessageType.Info, f"leaklint: indexed {count} files in {root}")
        if progress:
            ls.work_done_progress.report(
                token,
                types.WorkDoneProgressReport(
                    message=str(root), percentage=100 * number // len(roots)
                ),
            )
        await asyncio.sleep(0)
    if progress:
        ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message="done"))
    for uri, document in list(ls.workspace.text_documents.items()):
        path = _path(uri)
        if path is not None:
            ls.project_for(path).contribute(str(path), document.source)


def _watch_files(ls: LeaklintServer) -> None:
    """Ask to hear of Python files and ``pyproject.toml`` changed outside the editor."""
    capabilities = ls.client_capabilities.workspace
    watched = capabilities.did_change_watched_files if capabilities else None
    if not (watched and watched.dynamic_registration):
        return
    options = types.DidChangeWatchedFilesRegistrationOptions(
        watchers=[
            types.FileSystemWatcher(glob_pattern="**/*.py"),
            types.FileSystemWatcher(glob_pattern="**/pyproject.toml"),
        ]
    )
    ls.client_register_capability(
        types.RegistrationParams(
            registrations=[
                types.Registration(
                    id="leaklint-watched-files",
                    method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                    register_options=options,
                )
            ]
        )
    )


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: LeaklintServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri)  # its check also takes its part of the index


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: LeaklintServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: LeaklintServer, params: types.DidSaveTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: LeaklintServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.checked.pop(uri, None)
    ls.pending.discard(uri)
    path = _path(uri)
    if path is not None:
        project = ls.project_for(path)
        try:
            on_disk: Optional[bytes] = path.read_bytes()
        except OSError:
            on_disk = None
        if project.contribute(str(path), on_disk):  # unsaved edits no longer count
            ls.recheck_open(project)
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched_files(ls: LeaklintServer, params: types.DidChangeWatchedFilesParams) -> None:
    touched: set[int] = set()
    for change in params.changes:
        path = _path(change.uri)
        if path is None:
            continue
        project = ls.project_for(path)
        if path.name == "pyproject.toml":
            project.configure(ls.options)
            ls._report_problem(project)
            project.scan()
            touched.add(id(project))
            ls.recheck_open(project)
            continue
        if change.uri in ls.workspace.text_documents:
            continue  # the open buffer is what counts
        deleted = change.type == types.FileChangeType.Deleted
        try:
            data = None if deleted else path.read_bytes()
        except OSError:
            data = None
        if project.contribute(str(path), data) and id(project) not in touched:
            touched.add(id(project))
            ls.recheck_open(project)


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
def did_change_configuration(
    ls: LeaklintServer, params: types.DidChangeConfigurationParams
) -> None:
    ls.options = Options.from_client(params.settings)
    for project in ls.projects.values():
        project.configure(ls.options)
        ls._report_problem(project)
        project.scan()
    for uri in list(ls.workspace.text_documents):
        ls.schedule(uri)


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL],
        resolve_provider=True,
    ),
)
def code_action(
    ls: LeaklintServer, params: types.CodeActionParams
) -> Optional[list[types.CodeAction]]:
    uri = params.text_document.uri
    document = ls.workspace.text_documents.get(uri)
    path = _path(uri)
    if document is None or path is None:
        return None
    ls.pending.discard(uri)
    ls.publish(uri)  # act on the current text, whatever is still queued
    checked = ls.checked.get(uri)
    if checked is None:
        return None
    project = ls.project_for(path)
    only = params.context.only
    actions: list[types.CodeAction] = []
    wants_quickfix = only is None or any(kind.startswith("quickfix") for kind in only)
    wanted = ServerTextRange(
        document.position_from_client_units(params.range.start),
        document.position_from_client_units(params.range.end),
    )
    rows = range(wanted.start.line + 1, wanted.end.line + 2)
    for diagnostic in checked.diagnostics if wants_quickfix else []:
        # the rows a cursor or selection is on, as editors ask for the line's actions
        if diagnostic.location.row > rows[-1] or diagnostic.end_location.row < rows[0]:
            continue
        shown = [ls._diagnostic(document, project, diagnostic)]
        plan = diagnostic.fix
        if plan is not None and project.settings.allows(plan.applicability):
            edit = project.fix_one(checked, diagnostic)
            if edit is not None:
                unsafe = " (unsafe)" if plan.applicability.value == "unsafe" else ""
                actions.append(
                    types.CodeAction(
                        title=f"leaklint ({diagnostic.code}): {plan.title}{unsafe}",
                        kind=types.CodeActionKind.QuickFix,
                        diagnostics=shown,
                        edit=_workspace_edit(document, edit),
                        is_preferred=not unsafe,
                    )
                )
        noqa = Project.suppress(checked, [diagnostic])
        if noqa is not None:
            actions.append(
                types.CodeAction(
                    title=f"leaklint: Disable {diagnostic.code} for this line",
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=shown,
                    edit=_workspace_edit(document, noqa),
                )
            )
    asked = only is not None and any(FIX_ALL.startswith(kind) for kind in only)
    fixable = any(
        d.fix is not None and d.fix.applicability is Applicability.SAFE for d in checked.diagnostics
    )
    if (only is None or asked) and fixable:
        action = types.CodeAction(title=FIX_ALL_TITLE, kind=FIX_ALL)
        if asked:  # on save, say: the edit now
            action.edit = _fix_all_edit(ls, uri)
        else:  # in a menu: the edit when it is chosen (codeAction/resolve)
            action.data = {"uri": uri, "version": document.version}
        actions.append(action)
    return actions


FIX_ALL_TITLE = "leaklint: Fix all leaklint problems"


def _fix_all_edit(ls: LeaklintServer, uri: str) -> Optional[types.WorkspaceEdit]:
    document = ls.workspace.text_documents.get(uri)
    checked = ls.checked.get(uri)
    path = _path(uri)
    if document is None or checked is None or path is None:
        return None
    edit = ls.project_for(path).fix_all(checked)
    return None if edit is None else _workspace_edit(document, edit)


@server.feature(types.CODE_ACTION_RESOLVE)
def resolve_code_action(ls: LeaklintServer, action: types.CodeAction) -> types.CodeAction:
    data = action.data if isinstance(action.data, dict) else {}
    uri = data.get("uri")
    document = ls.workspace.text_documents.get(uri) if isinstance(uri, str) else None
    current = document is not None and data.get("version") == document.version
    if action.kind == FIX_ALL and current and isinstance(uri, str):
        action.edit = _fix_all_edit(ls, uri)
    return action


def _server_range(diagnostic: Diagnostic) -> ServerTextRange:
    return ServerTextRange(
        ServerTextPosition(diagnostic.location.row - 1, diagnostic.location.column - 1),
        ServerTextPosition(diagnostic.end_location.row - 1, diagnostic.end_location.column - 1),
    )


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: LeaklintServer, params: types.HoverParams) -> Optional[types.Hover]:
    uri = params.text_document.uri
    document = ls.workspace.text_documents.get(uri)
    if document is None:
        return None
    position = document.position_from_client_units(params.position)
    code = _noqa_code_at(document, position)
    checked = ls.checked.get(uri)
    if code is None and checked is not None:
        point = ServerTextRange(position, position)
        code = next((d.code for d in checked.diagnostics if _server_range(d).overlaps(point)), None)
    rule = RULES_BY_CODE.get(code or "")
    if rule is None:
        return None
    return types.Hover(
        contents=types.MarkupContent(
            kind=types.MarkupKind.Markdown,
            value=f"**{rule.code}** {rule.name}: {rule.summary}\n\n{rule.docs}",
        )
    )


def _noqa_code_at(document: TextDocument, position: ServerTextPosition) -> Optional[str]:
    """The rule code under the cursor in a ``# noqa: LL001, LL003`` comment."""
    lines = document.lines
    if position.line >= len(lines):
        return None
    line = lines[position.line]
    match = line_noqa().search(line)
    if match is None or match.group("codes") is None:
        return None
    start = match.start("codes")
    for code in _CODE.finditer(match.group("codes")):
        if start + code.start() <= position.character <= start + code.end():
            return code.group()
    return None


def _settle_memory() -> None:
    """Keep what the server holds for its lifetime (modules, the project index) out of the
    cyclic collector's way: its full passes otherwise walk all of it in the middle of a
    keystroke's check (a 5,000-line module: p95 twice the median)."""
    gc.collect()
    gc.freeze()


def run() -> None:
    """Serve over standard input and output until the client exits."""
    # a check allocates tens of thousands of short-lived syntax nodes: collect young
    # objects every 50,000 allocations, not every 700 (measured on a 5,000-line module:
    # median and p95 of a re-check both lower)
    gc.set_threshold(50_000, 10, 10)
    server.start_io()
