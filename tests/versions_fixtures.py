"""Two versions of SLE-001 side by side at Oceanside (tests/test_protocol_versions.py tells
the story): version 2.0 (FU2 added at follow-up Month 2, infusion windows ±3) and two
participants, A in follow-up and B in screening. The fixtures are registered in conftest.py;
``version_two`` is imported where it is used.
"""

import datetime

import pytest

from participants.models import Status
from scheduling.models import ProtocolVersion, VisitDefinition
from scheduling.timeline import versions
from scheduling.timeline.visits import record_visit
from tests.factories import move

D = datetime.date
UTC = datetime.UTC


@pytest.fixture
def clock(time_machine):
    def move_to(day: datetime.date):  # 20:00 UTC is noon in Oceanside
        time_machine.move_to(datetime.datetime.combine(day, datetime.time(20), UTC), False)

    return move_to


def version_two(protocol, clerk, *, needs_reconsent=False) -> ProtocolVersion:
    """2.0: FU2 added at follow-up Month 2, infusion windows ±3; released, approved 1 June."""
    draft = versions.new_draft(protocol, by=clerk, note="Amendment 1")
    draft.approved_on = D(2026, 6, 1)
    draft.needs_reconsent = needs_reconsent
    draft.save()
    follow_up = draft.phases.get(code="follow_up")
    VisitDefinition.objects.create(
        protocol=protocol,
        version=draft,
        phase=follow_up,
        order=10,
        code="FU2",
        name="Follow-up Month 2",
        offset=2,
        unit="months",
        window_before=14,
        window_after=14,
    )
    draft.visit_definitions.filter(code__startswith="INF").exclude(code="INF1").update(
        window_before=3, window_after=3
    )
    return versions.release(draft, by=clerk)


@pytest.fixture
def two_participants(clock, make_participant, clerk):
    clock(D(2026, 1, 20))
    a = make_participant(consent_date=D(2026, 1, 5), subject_id="SLE-001-101-001")
    move(a, Status.ENROLLED, on=D(2026, 1, 20))
    clock(D(2026, 3, 2))
    move(a, Status.TREATMENT, on=D(2026, 3, 2), by=clerk, reason="first infusion")
    for code, day in (("INF1", 2), ("INF2", 9), ("INF3", 16), ("INF4", 23), ("INF5", 30)):
        clock(D(2026, 3, day))
        record_visit(a, code, on=D(2026, 3, day), by=clerk)
    clock(D(2026, 4, 27))
    record_visit(a, "INF6", on=D(2026, 4, 6), by=clerk)
    record_visit(a, "EOT", on=D(2026, 4, 20), by=clerk)
    move(a, Status.FOLLOW_UP, on=D(2026, 4, 27), by=clerk)
    clock(D(2026, 6, 1))
    record_visit(a, "FU1", on=D(2026, 5, 28), by=clerk)
    b = make_participant(consent_date=D(2026, 6, 1), subject_id="SLE-001-101-002")
    clock(D(2026, 6, 15))
    return a, b
