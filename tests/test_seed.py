"""SLE-001 as `migrate` loads it: exactly the issue's table and the listing's criteria."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from participants.models import EligibilityCriterion, Protocol
from scheduling.models import Phase, VisitDefinition

LISTING = Path(settings.BASE_DIR) / "docs" / "protocols" / "SLE-001-listing.txt"

# The issue's table: (phase, length, unit) and (code, name, phase, offset, unit, −, +).
PHASES = [("screening", 8, "weeks"), ("treatment", 8, "weeks"), ("follow_up", 12, "months")]
VISITS = [
    ("SCR", "Screening: consent and eligibility", "screening", 0, "days", 0, 3),
    ("LEUK", "Leukapheresis", "screening", 35, "days", 7, 7),
    ("INF1", "Infusion 1", "treatment", 0, "days", 0, 0),
    ("INF2", "Infusion 2", "treatment", 7, "days", 2, 2),
    ("INF3", "Infusion 3", "treatment", 14, "days", 2, 2),
    ("INF4", "Infusion 4", "treatment", 21, "days", 2, 2),
    ("INF5", "Infusion 5", "treatment", 28, "days", 2, 2),
    ("INF6", "Infusion 6", "treatment", 35, "days", 2, 2),
    ("EOT", "End of treatment, Day 50", "treatment", 49, "days", 3, 3),
    ("FU1", "Follow-up Month 1", "follow_up", 1, "months", 7, 7),
    ("FU3", "Follow-up Month 3", "follow_up", 3, "months", 14, 14),
    ("FU6", "Follow-up Month 6", "follow_up", 6, "months", 14, 14),
    ("FU9", "Follow-up Month 9", "follow_up", 9, "months", 14, 14),
    ("FU12", "Follow-up Month 12", "follow_up", 12, "months", 14, 14),
]


def listing_criteria(kind: str) -> list[str]:
    """The lines under "Inclusion Criteria" or "Exclusion Criteria" in the public listing."""
    text = LISTING.read_text(encoding="utf-8")
    section = re.search(rf"^{kind} Criteria\n\n(.*?)\n\n", text, re.MULTILINE | re.DOTALL)
    assert section, f"{kind} criteria not found in {LISTING}"
    return [line.strip() for line in section.group(1).splitlines() if line.strip()]


@pytest.mark.django_db
def test_migrate_loads_sle001_with_its_registry_id_and_sponsor():
    protocol = Protocol.objects.get(code="SLE-001")
    assert (protocol.registry_id, protocol.sponsor) == ("NCT06038474", "Cartesian Therapeutics")


@pytest.mark.django_db
def test_sle001_phases_are_the_issue_table_in_order_with_treatment_as_day_one():
    phases = Phase.objects.filter(protocol__code="SLE-001").order_by("order")
    assert [(p.code, p.length, p.unit) for p in phases] == PHASES
    assert [p.code for p in phases if p.is_day_one] == ["treatment"]


@pytest.mark.django_db
def test_sle001_visit_definitions_are_the_issue_table_exactly():
    definitions = VisitDefinition.objects.filter(protocol__code="SLE-001").select_related("phase")
    assert [
        (d.code, d.name, d.phase.code, d.offset, d.unit, d.window_before, d.window_after)
        for d in definitions.order_by("order")
    ] == VISITS


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["Inclusion", "Exclusion"])
def test_sle001_eligibility_criteria_are_the_listings(kind):
    stored = EligibilityCriterion.objects.filter(
        protocol__code="SLE-001", kind=kind.lower()
    ).order_by("order")
    assert [c.text for c in stored] == listing_criteria(kind)
