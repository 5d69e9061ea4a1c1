"""A visit's site (``Visit.site``, read by the site calendar's index) is its participant's on
every path that creates visits, follows a change of the participant's site, and cannot be
anything else: the database refuses it (migration 0020_visit_site)."""

import datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.db.models import F

from participants.models import Participant
from scheduling.models import Visit
from scheduling.timeline.bulk_insert import COPY_FROM
from scheduling.timeline.visits import add_unscheduled_visit
from tests.conftest import CLERK

D = datetime.date
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clerk")]


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(datetime.datetime(2026, 3, 12, 18, tzinfo=datetime.UTC), tick=False):
        yield


def sites_differing() -> int:
    return Visit.objects.exclude(site_id=F("participant__site_id")).count()


def test_create_participant_gives_each_visit_the_participants_site(
    make_participant, site_ocn, site_ber
):
    # Checks the service's path (one participant's schedule: bulk_create), at two sites.
    make_participant(site=site_ocn)
    make_participant(site=site_ber)
    assert set(Visit.objects.values_list("site__code", flat=True)) == {"OCN", "BER"}
    assert Visit.objects.count() == 28
    assert sites_differing() == 0


def test_import_participants_by_copy_gives_each_visit_the_participants_site(
    tmp_path, protocol, site_ocn, site_ber
):
    # Checks the import's COPY path: enough participants that their visits go by COPY.
    count = COPY_FROM // 14 + 2
    lines = ["subject_id,site_code,email,consent_date"] + [
        f"SLE-001-10{1 + n % 2}-{n:03d},{'OCN' if n % 2 else 'BER'},p{n}@example.org,2026-01-05"
        for n in range(count)
    ]
    path = tmp_path / "participants.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    call_command("import_participants", str(path), "--by", CLERK, stdout=StringIO())
    assert Visit.objects.count() == count * 14 >= COPY_FROM
    assert Visit.objects.filter(site=site_ber).count() == (count + 1) // 2 * 14
    assert sites_differing() == 0


def test_an_unscheduled_visit_has_the_participants_site(make_participant, site_ber):
    # Checks add_unscheduled_visit, done and booked ahead.
    participant = make_participant(site=site_ber)
    done = add_unscheduled_visit(participant, on=D(2026, 3, 4), reason="Rash after infusion")
    ahead = add_unscheduled_visit(participant, on=D(2026, 3, 20), reason="Check", happened=False)
    assert [Visit.objects.get(pk=v.pk).site for v in (done, ahead)] == [site_ber, site_ber]


def test_a_participants_visits_follow_a_change_of_site(make_participant, site_ocn, site_ber):
    # Checks the cascade: a site changed by any write (here a bare UPDATE) moves the visits.
    participant = make_participant(site=site_ocn)
    Participant.objects.filter(pk=participant.pk).update(site=site_ber)
    assert set(Visit.objects.filter(participant=participant).values_list("site", flat=True)) == {
        site_ber.pk
    }


def test_the_database_refuses_a_visit_at_another_site(make_participant, site_ocn, site_ber):
    # Checks the constraint itself: no path can store a visit at another site.
    participant = make_participant(site=site_ocn)
    visit = Visit.objects.filter(participant=participant).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Visit.objects.filter(pk=visit.pk).update(site=site_ber)
