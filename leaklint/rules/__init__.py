"""The rule registry: every rule leaklint knows, by code."""

from __future__ import annotations

from leaklint.rules import (
    ll001_unprotected_cleanup,
    ll002_yield_inside_with,
    ll003_resource_never_released,
    ll004_unbound_in_finally,
    ll005_swallowed_exception,
    ll006_multiple_yield,
    ll007_unawaited_async_close,
    ll008_release_only_on_error,
    ll009_commit_on_error,
    ll010_closes_shared_resource,
    ll011_re_yielded_generator,
    ll012_wrong_release_call,
    ll013_setup_leak,
    ll014_release_after_failing_step,
)
from leaklint.rules.base import Finding, Rule

RULES: tuple[Rule, ...] = (
    ll001_unprotected_cleanup.RULE,
    ll002_yield_inside_with.RULE,
    ll003_resource_never_released.RULE,
    ll004_unbound_in_finally.RULE,
    ll005_swallowed_exception.RULE,
    ll006_multiple_yield.RULE,
    ll007_unawaited_async_close.RULE,
    ll008_release_only_on_error.RULE,
    ll009_commit_on_error.RULE,
    ll010_closes_shared_resource.RULE,
    ll011_re_yielded_generator.RULE,
    ll012_wrong_release_call.RULE,
    ll013_setup_leak.RULE,
    ll014_release_after_failing_step.RULE,
)
RULES_BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}

__all__ = ["RULES", "RULES_BY_CODE", "Finding", "Rule"]
