"""Hostile input (issue 10, section 4) outside the command line: model fields, services,
admin forms. The command line's side is in test_commands.py."""

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from scheduling.models import Phase, VisitDefinition
from scheduling.services import add_unscheduled_visit
from tests.forms import form_data

pytestmark = pytest.mark.django_db

D = datetime.date
NOW = datetime.datetime(2026, 3, 12, 5, tzinfo=datetime.UTC)  # Oceanside: still 11 March


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


# One-line fields hold one line of printable text.


def one_line_fields(protocol, site):
    return {
        "site name": (site, "name"),
        "site phone": (site, "phone"),
        "coordinator email": (site, "coordinator_email"),
        "protocol title": (protocol, "title"),
        "protocol sponsor": (protocol, "sponsor"),
        "phase name": (Phase.objects.filter(protocol=protocol).first(), "name"),
        "visit definition name": (
            VisitDefinition.objects.filter(protocol=protocol).first(),
            "name",
        ),
    }


@pytest.mark.parametrize(
    "field",
    [
        "site name",
        "site phone",
        "coordinator email",
        "protocol title",
        "protocol sponsor",
        "phase name",
        "visit definition name",
    ],
)
@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Oceanside\nClinic", "contains a line break (U+000A)"),
        ("Oceanside\r\nBcc: x@example.org", "contains a carriage return (U+000D)"),
        ("Ocean\tside", "contains a tab (U+0009)"),
        ("Ocean\x00side", "contains a NUL byte (U+0000)"),
        ("Ocean\u2028side", "contains a line separator (U+2028)"),
    ],
)
def test_a_one_line_field_refuses_line_breaks_and_control_characters(
    protocol, site_ocn, field, text, problem
):
    record, name = one_line_fields(protocol, site_ocn)[field]
    value = f'"{text}"@example.org' if name == "coordinator_email" else text
    setattr(record, name, value)
    with pytest.raises(ValidationError) as excinfo:
        record.full_clean(validate_unique=False, validate_constraints=False)
    assert (
        f"Must be one line of printable text; this {problem}." in (excinfo.value.message_dict[name])
    )


def test_an_address_may_have_several_lines_but_no_control_characters(site_ocn):
    site_ocn.address = "100 Mission Avenue\r\nOceanside, CA 92054"
    site_ocn.full_clean()
    site_ocn.address = "100 Mission Avenue\x00"
    with pytest.raises(ValidationError) as excinfo:
        site_ocn.full_clean()
    assert excinfo.value.message_dict["address"] == [
        "Must be printable text; this contains a NUL byte (U+0000)."
    ]


def test_the_site_form_refuses_a_line_break_in_the_name(admin_client, site_ocn):
    url = reverse("admin:participants_site_change", args=[site_ocn.pk])
    data = form_data(admin_client.get(url))
    data.update({"name": "Oceanside\nClinic", "change_reason": "Renamed"})
    response = admin_client.post(url, data)
    site_ocn.refresh_from_db()
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["name"] == [
        "Must be one line of printable text; this contains a line break (U+000A)."
    ]
    assert site_ocn.name == "Oceanside"


def test_an_unscheduled_visit_name_is_one_line(make_participant):
    participant = make_participant(consent_date=D(2026, 1, 5))
    with pytest.raises(ValidationError) as excinfo:
        add_unscheduled_visit(
            participant, on=D(2026, 1, 9), reason="Flare", name="Flare\nBcc: x@example.org"
        )
    assert excinfo.value.message_dict == {
        "name": ["Must be one line of printable text; this contains a line break (U+000A)."]
    }
    assert not participant.visits.filter(code="UNS").exists()
