"""Where a fix puts the import it needs (LL011's ``import contextlib``)."""

from __future__ import annotations

import pytest

from leaklint.fixes.base import FixError
from leaklint.fixes.imports import with_imports
from leaklint.model import Applicability, FixKind, FixPlan

PLAN = FixPlan(
    kind=FixKind.ENTER_AS_MANAGER,
    applicability=Applicability.UNSAFE,
    title="",
    function_row=1,
    anchor_row=1,
    import_code="import contextlib",
)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # after the docstring and the __future__ imports, above the first other statement
        (
            '"""Doc."""\nfrom __future__ import annotations\n\nimport os\n',
            '"""Doc."""\nfrom __future__ import annotations\n\nimport contextlib\nimport os\n',
        ),
        # a header comment stays first; decorators stay with their function
        (
            "#!/usr/bin/env python\n@app.get('/')\ndef f(): ...\n",
            "#!/usr/bin/env python\nimport contextlib\n@app.get('/')\ndef f(): ...\n",
        ),
        # the file's own line endings
        ('"""Doc."""\r\nx = 1\r\n', '"""Doc."""\r\nimport contextlib\r\nx = 1\r\n'),
        # nothing but a docstring, without a final newline
        ('"""Doc."""', '"""Doc."""\nimport contextlib\n'),
        # already there: nothing added
        ("import contextlib\nx = 1\n", "import contextlib\nx = 1\n"),
    ],
)
def test_the_import_goes_where_it_belongs(before: str, after: str) -> None:
    newline = "\r\n" if "\r\n" in before else "\n"
    assert with_imports(before, [PLAN], newline) == after


def test_a_plan_without_an_import_changes_nothing() -> None:
    plain = FixPlan(FixKind.YIELD_FROM, Applicability.SAFE, "", 1, 1)
    assert with_imports('"""Doc.""";x = 1\n', [plain], "\n") == '"""Doc.""";x = 1\n'


def test_no_line_of_its_own_refuses_the_fix() -> None:
    with pytest.raises(FixError, match="no room for an import"):
        with_imports('"""Doc.""";x = 1\n', [PLAN], "\n")
