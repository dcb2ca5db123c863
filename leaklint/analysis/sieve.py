"""Which generator functions a rule could report, told from their text before they are parsed.

Most generators are plain iterators: ``for row in rows: yield row``. No rule can report one,
and parsing and walking them was most of a cold run. A finding needs at least one of:

* a driver the source names: a decorator's name (``contextmanager``, ``fixture``,
  ``provide``) or a function the project index knows is handed to one (``Depends(get_db)``);
  or one a driver may be presumed from: a ``Depends`` parameter, a name dependencies go by
  (``get_db``, ``provide_client``); type inference, too, runs only for these;
* an acquisition of a known resource: a factory's or a session factory's name, a pool's
  checkout method, a ``closing()`` wrapper, a name for a session;
* a release: a release method's name (``close``, ``dispose``...) or a helper named for one
  (``close_db``, ``teardown``), a ``commit`` (LL009), or any call in a ``finally`` or a broad
  ``except`` around the ``yield`` given what is already a resource: without any word above,
  only a name a ``with`` manages or one declared ``global`` or ``nonlocal`` can be.

A function whose text spells none of these is left unparsed. The words are matched more
loosely than the analysis reads them (any case, inside longer names, in comments and strings),
so a match only costs a parse. ``benchmarks/sieve_parity.py`` and ``tests/test_sieve.py``
hold the findings to those of a whole parse.
"""

from __future__ import annotations

import re

from leaklint.analysis.libraries import LEFTOVER_REMOVALS
from leaklint.analysis.resources import (
    CONVENTIONAL_SESSION_FACTORIES,
    METHOD_FACTORIES,
    OWNER_RELEASE_METHODS,
    POOL_CHECKOUTS,
    RELEASE_HELPER_WORDS,
    SESSION_FACTORY_MAKERS,
    KnowledgeBase,
)
from leaklint.analysis.targets import dependency_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

    from leaklint.analysis.targets import ProjectIndex

_KEYWORDS = frozenset({"commit", "closing", "aclosing"})
"""Names that matter whole: LL009's ``commit``, ``closing()`` (what it wraps is a resource)."""
_GUARDS = frozenset({"finally", "Exception", "BaseException", "GeneratorExit"})
"""A ``finally`` or a broad handler: any call there may release what it is given..."""
_HOLDERS = frozenset({"with", "global", "nonlocal"})
"""...when that is already a resource without a word of its own: what a ``with`` manages, a
name declared ``global`` or ``nonlocal``."""
_BARE_EXCEPT = re.compile(r"\bexcept\s*:")
_IDENTIFIER = re.compile(r"\w+")
_ALIAS = re.compile(r"\b(\w+)[ \t]+as[ \t]+(\w+)")
_WILDCARDS = frozenset("*?[")


def _last(qualified: str) -> str:
    return qualified.rsplit(".", 1)[-1]


class Sieve:
    """The words one run's knowledge base and project index make worth parsing a generator
    for; ``keeps`` answers for one function's text."""

    def __init__(self, knowledge: KnowledgeBase, index: Optional[ProjectIndex] = None) -> None:
        names = {_last(name) for name in knowledge.factories}
        patterns = {_last(pattern) for pattern, _ in knowledge.factory_patterns}
        self.everything = any(_WILDCARDS & set(name) for name in patterns)
        """A factory pattern whose last name is a pattern too: no word tells, keep all."""
        names |= patterns
        names |= {_last(name) for name in SESSION_FACTORY_MAKERS}
        names |= set(CONVENTIONAL_SESSION_FACTORIES) | set(METHOD_FACTORIES) | set(POOL_CHECKOUTS)
        for driver in knowledge.drivers.drivers:
            names |= {_last(name) for name in driver.decorators} | set(driver.decorator_names)
        if index is not None:
            names |= set(index.references) | set(index.method_references)
            names |= set(index.session_factories)
        self.names = frozenset(names)
        """Names that matter whole, case and all; an import may bind one under another name."""
        self._whole = self.names | _KEYWORDS | knowledge.dependency_markers
        releases = knowledge.release_methods | RELEASE_HELPER_WORDS | OWNER_RELEASE_METHODS
        # `var.reset(token)`, `shutil.rmtree(path)`, `os.remove(path)`
        releases |= {"reset"} | {_last(name) for name in LEFTOVER_REMOVALS}
        # a release method, or the first word of a helper's name, in lower case; and
        # `with local_session() as session`, a factory named for sessions
        words = "|".join(sorted(map(re.escape, {name.lower() for name in releases})))
        self._loose = re.compile(rf"(?<![a-z0-9])_*(?:{words})(?![a-z0-9])|session")

    def sifts(self, text: str) -> bool:
        """Whether the sieve can leave any function of this module unparsed: not where a
        class keeps a session factory (its methods' ``self.session()`` spell no known name)."""
        return not self.everything and "sessionmaker" not in text

    def aliases(self, import_text: str) -> frozenset[str]:
        """Names an import binds to one of the sieve's names under another name: ``P`` for
        ``from subprocess import Popen as P`` (an ``import ... as`` keeps the last name in
        every use: ``sp.Popen``)."""
        return frozenset(alias for name, alias in _ALIAS.findall(import_text) if name in self.names)

    def keeps(self, text: str, aliases: frozenset[str] = frozenset()) -> bool:
        """Whether a function with this text (decorators included) could be reported."""
        spelt = set(_IDENTIFIER.findall(text))
        if not spelt.isdisjoint(self._whole) or (aliases and not spelt.isdisjoint(aliases)):
            return True
        if any(dependency_name(name) for name in spelt):
            return True  # `get_db`: presumed a dependency when it holds what a project's
            # own function returns (`conn = open_conn()`), which no word here names
        if not spelt.isdisjoint(_HOLDERS) and (
            not spelt.isdisjoint(_GUARDS) or _BARE_EXCEPT.search(text) is not None
        ):
            return True
        return self._loose.search(text.lower()) is not None
