"""``keyless plan`` as a decision (no server): evidence and role assignments in, verdict out.
Roles are evaluated by their dataActions as ``audit`` does, so custom roles count."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from keyops.audit.access import access_view
from keyops.audit.model import AccessView
from keyops.azure.authorization import Permission, RoleAssignment, RoleDefinition
from keyops.keyless.plan import AccountPlan, plan_account
from tests.support.evidence import Caller, Evidence, Reader, evidence

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
ACCOUNT = "/subscriptions/s/resourceGroups/g/providers/Microsoft.CognitiveServices/accounts/a"
APP, JOB = "aaaaaaaa-0000-0000-0000-000000000001", "aaaaaaaa-0000-0000-0000-000000000002"
ROLES = {
    "custom-inference": RoleDefinition(
        "custom-inference",
        "Team inference",
        "CustomRole",
        (Permission(data_actions=("Microsoft.CognitiveServices/accounts/OpenAI/*",)),),
    ),
    "contributor": RoleDefinition(
        "contributor",
        "Cognitive Services Contributor",
        "BuiltInRole",
        (Permission(actions=("Microsoft.CognitiveServices/*",)),),
    ),
}


def _access(*held: tuple[str, str]) -> AccessView:
    assignments = [
        RoleAssignment(f"ra-{i}", ACCOUNT, oid, "ServicePrincipal", role)
        for i, (oid, role) in enumerate(held)
    ]
    return access_view(ACCOUNT, assignments, ROLES.__getitem__)


def _plan(ev: Evidence, access: AccessView, lookback: timedelta = timedelta(days=8)) -> AccountPlan:
    return plan_account("a", ACCOUNT, ev, access, lookback, NOW)


def _read(oid: str, ip: str) -> Reader:
    return Reader(oid, ip, "v1", NOW - timedelta(hours=3))


def test_readers_with_an_inference_data_action_and_no_key_caller_are_ready() -> None:
    ev = evidence(NOW, (_read(APP, "10.0.0.4"),))
    plan = _plan(ev, _access((APP, "custom-inference")))
    assert plan.verdict == "ready" and plan.assignments_to_add == ()


def test_a_role_without_the_data_action_needs_an_assignment() -> None:
    ev = evidence(NOW, (_read(APP, "10.0.0.4"),))
    plan = _plan(ev, _access((APP, "contributor")))
    assert plan.verdict == "blocked"
    (line,) = plan.assignments_to_add
    assert APP in line and "Cognitive Services OpenAI User" in line and ACCOUNT in line


def test_a_weekly_key_caller_blocks_even_with_every_role_in_place() -> None:
    weekly = Caller("key", "10.9.0.1", 1, NOW - timedelta(days=6), NOW - timedelta(days=6))
    ev = evidence(NOW, (_read(APP, "10.0.0.4"),), (weekly,))
    plan = _plan(ev, _access((APP, "custom-inference")))
    assert plan.verdict == "blocked"
    assert any("10.9.0.1" in b and "6d ago" in b for b in plan.blocked_by)


def test_a_key_caller_inside_the_ingestion_delay_blocks_and_says_so() -> None:
    late = Caller("key", "10.9.0.2", 1, NOW - timedelta(minutes=3), NOW - timedelta(minutes=3))
    late = Caller(late.auth, late.ip, late.calls, late.first_seen, late.last_seen, settled=False)
    plan = _plan(evidence(NOW, callers=(late,)), _access())
    assert plan.verdict == "blocked"
    assert "ingestion delay" in plan.blocked_by[0]


def test_missing_logs_or_a_short_lookback_never_say_ready() -> None:
    gap = _plan(evidence(NOW, gap="a: RequestResponse not enabled"), _access())
    assert gap.verdict == "blocked"
    short = _plan(evidence(NOW, lookback=timedelta(days=2)), _access(), timedelta(days=2))
    assert short.verdict == "blocked" and "weekly" in short.blocked_by[0]
