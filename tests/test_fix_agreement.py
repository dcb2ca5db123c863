"""One answer about each fix: what the JSON and SARIF outputs, ``--diff``, ``--fix`` and the
editor's code action say about a finding's fix must agree, on every fixture, run as the command
runs them (reading only what a check needs, which is how a module with statements this Python
cannot parse once got a fix in JSON that ``--diff`` then refused).

For each fixture the command's own pipeline (``runner.run``) checks the fixture's unit, the
output modules render JSON and SARIF, the language server's project offers each finding's code
action, and the same run with ``diff=True`` shows the fixes. Every finding with a fix the run
allows must have one edit in JSON, the same edit in SARIF and in the code action, and be fixed
by ``--diff``/``--fix`` without an error; a file with exactly one fixable finding must come out
of ``--fix`` as its JSON edit makes it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fixture_support import FIXTURES, Fixture, all_fixtures
from linting import ALL_CODES

from leaklint import runner
from leaklint.model import Diagnostic
from leaklint.output import OutputContext, render
from leaklint.settings import Settings

FIXABLE = [fixture for fixture in all_fixtures() if fixture.snapshot.exists()]


def _id(fixture: Fixture) -> str:
    return fixture.path.relative_to(FIXTURES).as_posix()


def _settings(fixture: Fixture, **changes: Any) -> Settings:
    return Settings(
        select=ALL_CODES,
        unsafe_fixes=fixture.unsafe_fixes,
        type_inference=False,
        cache_dir=None,
        **changes,
    )


def _applied(text: str, edit: dict[str, Any]) -> str:
    lines = text.splitlines(keepends=True)
    start, end = edit["location"]["row"] - 1, edit["end_location"]["row"] - 1
    assert edit["location"]["column"] == edit["end_location"]["column"] == 1
    return "".join(lines[:start]) + edit["content"] + "".join(lines[end:])


def _findings(fixture: Fixture, settings: Settings) -> tuple[list[Diagnostic], runner.RunReport]:
    report = runner.run([str(fixture.unit)], settings)
    assert not report.errors, report.errors
    mine = [d for d in report.diagnostics if Path(d.filename).resolve() == fixture.path]
    return mine, report


@pytest.mark.parametrize("fixture", FIXABLE, ids=_id)
def test_json_sarif_diff_fix_and_the_editor_agree(fixture: Fixture) -> None:
    from leaklint.server.workspace import Checked, Project

    settings = _settings(fixture)
    diagnostics, _ = _findings(fixture, settings)
    data = fixture.path.read_bytes()
    context = OutputContext(diagnostics, settings, {d.filename: data for d in diagnostics})
    records = json.loads(render("json", context))
    sarif = json.loads(render("sarif", context))["runs"][0]["results"]
    checked = Checked(data.decode("utf-8"), diagnostics)
    offered = 0
    for diagnostic, record, result in zip(diagnostics, records, sarif):
        allowed = diagnostic.fix is not None and settings.allows(diagnostic.fix.applicability)
        if not allowed:
            continue
        offered += 1
        where = f"{diagnostic.code} at {diagnostic.location.row}"
        assert record["fix"] is not None, f"{where}: a fix the run allows, missing from JSON"
        assert record["fix"]["applicability"] == diagnostic.fix.applicability.value
        [edit] = record["fix"]["edits"]
        [change] = result["fixes"][0]["artifactChanges"]
        [replacement] = change["replacements"]
        assert replacement["insertedContent"]["text"] == edit["content"], where
        assert replacement["deletedRegion"]["startLine"] == edit["location"]["row"], where
        action = Project.fix_one(checked, diagnostic)
        assert action is not None, f"{where}: JSON offers a fix the editor does not"
        assert action.content == edit["content"], where
        assert action.location.row == edit["location"]["row"], where
    assert offered, "a fixture with a snapshot has a fix to offer"

    shown = runner.run([str(fixture.unit)], settings, diff=True)
    assert not shown.errors, [error.message for error in shown.errors]
    mine = [o for o in shown.outcomes if Path(o.filename).resolve() == fixture.path]
    assert mine and mine[0].diff, "--diff shows no change where JSON offers a fix"
    if offered == 1 and len([r for r in records if r["fix"] is not None]) == 1:
        [only] = [r for r in records if r["fix"] is not None]
        [edit] = only["fix"]["edits"]
        fixed = runner.fix_module(*_parsed_and_index(fixture), _settings(fixture, fix=True))[
            0
        ].data.decode("utf-8")
        assert _applied(data.decode("utf-8"), edit) == fixed


def _parsed_and_index(fixture: Fixture) -> tuple[Any, Any]:
    from linting import parsed_unit

    target, modules = parsed_unit(fixture)
    return target, runner.build_index(modules)
