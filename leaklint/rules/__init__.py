"""The rule registry: every rule leaklint knows, by code."""

from __future__ import annotations

from leaklint.rules import (
    ll001_unprotected_cleanup,
    ll002_yield_inside_with,
    ll003_resource_never_released,
)
from leaklint.rules.base import Finding, Rule

RULES: tuple[Rule, ...] = (
    ll001_unprotected_cleanup.RULE,
    ll002_yield_inside_with.RULE,
    ll003_resource_never_released.RULE,
)
RULES_BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}

__all__ = ["RULES", "RULES_BY_CODE", "Finding", "Rule"]
