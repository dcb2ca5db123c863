"""The ``junit`` format: JUnit XML, one test suite per file and one failing test per finding.

CI systems that show test reports (GitLab, Jenkins, Azure) then list findings as failed tests.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from leaklint.model import Diagnostic
from leaklint.output import OutputContext

SUITES_NAME = "leaklint"
CASE_PREFIX = "org.leaklint."
"""Test case names are ``org.leaklint.LL001``, as ruff names its ``org.ruff.F401``."""


def group_by_file(diagnostics: Sequence[Diagnostic]) -> dict[str, list[Diagnostic]]:
    """The findings of each file, files in the order they first appear."""
    groups: dict[str, list[Diagnostic]] = {}
    for diagnostic in diagnostics:
        groups.setdefault(diagnostic.filename, []).append(diagnostic)
    return groups


def add_failing_case(suite: ET.Element, diagnostic: Diagnostic) -> None:
    """One finding as a test case whose failure names the rule and the place."""
    location = diagnostic.location
    case = ET.SubElement(
        suite,
        "testcase",
        name=f"{CASE_PREFIX}{diagnostic.code}",
        classname=diagnostic.filename,
        line=str(location.row),
        column=str(location.column),
    )
    failure = ET.SubElement(case, "failure", message=diagnostic.message)
    failure.text = (
        f"{diagnostic.filename}:{location.row}:{location.column}: "
        f"{diagnostic.code} {diagnostic.message}"
    )


def add_file_suite(root: ET.Element, filename: str, diagnostics: Sequence[Diagnostic]) -> None:
    """A test suite for one file, failing once per finding."""
    count = str(len(diagnostics))
    suite = ET.SubElement(root, "testsuite", name=filename, tests=count, failures=count)
    for diagnostic in diagnostics:
        add_failing_case(suite, diagnostic)


def add_passing_suite(root: ET.Element) -> None:
    """A clean run still reports one passing test, so CI shows that the check ran."""
    suite = ET.SubElement(root, "testsuite", name=SUITES_NAME, tests="1", failures="0")
    ET.SubElement(suite, "testcase", name="All checks passed", classname=SUITES_NAME)


def build_tree(diagnostics: Sequence[Diagnostic]) -> ET.Element:
    """The ``<testsuites>`` element of a run."""
    root = ET.Element("testsuites", name=SUITES_NAME)
    groups = group_by_file(diagnostics)
    for filename, findings in groups.items():
        add_file_suite(root, filename, findings)
    if not groups:
        add_passing_suite(root)
    root.set("tests", str(max(len(diagnostics), 1)))
    root.set("failures", str(len(diagnostics)))
    return root


def render(context: OutputContext) -> str:
    """The JUnit XML document with its declaration, indented for people who open it."""
    root = build_tree(context.diagnostics)
    ET.indent(root, space="  ")
    # bytes, not encoding="unicode": only then does the declaration say UTF-8 on every locale
    document = ET.tostring(root, encoding="utf-8", xml_declaration=True).decode("utf-8")
    return f"{document}\n"
