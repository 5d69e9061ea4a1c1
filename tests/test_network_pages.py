"""The pages a monitor opens across a whole network (issue 23, item 0): each takes the same
number of queries whatever the number of sites and participants, and what a page reads and
draws stops at a bound (a list counted to a cap, a calendar day's first visits, the dashboard's
overdue count). ``make bench``'s ``network_pages`` times them at 100,000 participants over 10
sites and prints every query's plan.

Before issue 23 the counts were 20 (dashboard), 12 (participant list), 13 (visit list), 11
(reminder list) and 10 (calendar), but each of those queries read every row of the network:
the dashboard's "due this week" ran past a 120 s statement timeout at 100,000 participants.
"""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from participants.admin.network import CappedCountPaginator
from participants.models import SiteMembership
from scheduling.workspace import calendar_reads, dashboard
from tests.factories import SiteFactory

pytestmark = pytest.mark.django_db

CONSENT = datetime.date(2026, 1, 5)
ENROLLED = datetime.datetime(2026, 1, 5, 20, tzinfo=datetime.UTC)  # 5 January at every site
NOW = datetime.datetime(2026, 2, 20, 18, tzinfo=datetime.UTC)

# The figures of today's code: a change that adds a round trip to one of these pages shows here.
QUERIES = {
    # 24: the participants still to re-consent and the week's version changes (issue 24).
    "dashboard": 24,
    "participant list": 11,
    # The site read with the participant (times in its zone); the version followed (issue 24)
    # and the versions they took up, listed (25).
    "participant page": 25,
    "calendar": 11,
    "visit list": 12,
    "reminder list": 10,
}


def network(make_participant, staff, site_ocn, site_ber, sites: int, per_site: int):
    """The monitor a member of ``sites`` sites (OCN first), each with ``per_site``
    participants; the monitor is not a member of BER when ``sites`` is 1."""
    monitor = staff["monitor"]
    chosen = [site_ocn]
    if sites > 1:
        chosen += [site_ber] + [
            SiteFactory(code=f"N{number}", timezone="Asia/Tokyo") for number in range(sites - 2)
        ]
    SiteMembership.objects.filter(user=monitor).delete()
    for site in chosen:
        SiteMembership.objects.create(user=monitor, site=site)
    return monitor, [
        make_participant(site=site, consent_date=CONSENT)
        for site in chosen
        for _ in range(per_site)
    ]


def urls(first_participant) -> dict[str, str]:
    return {
        "dashboard": "/admin/",
        "participant list": "/admin/participants/participant/",
        "participant page": f"/admin/participants/participant/{first_participant.pk}/change/",
        "calendar": "/admin/scheduling/visit/calendar/?site=OCN&month=2026-02",
        "visit list": "/admin/scheduling/visit/",
        "reminder list": "/admin/scheduling/reminder/",
    }


def queries_per_page(client, monitor, first_participant) -> dict[str, int]:
    client.force_login(monitor)
    counts = {}
    for page, url in urls(first_participant).items():
        client.get(url)  # warm: the session, the content types, the templates
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200, (page, response.status_code)
        counts[page] = len(captured.captured_queries)
    return counts


@pytest.mark.parametrize(("sites", "per_site"), [(1, 1), (4, 3)])
def test_a_monitors_pages_take_the_same_queries_for_one_site_or_a_network(
    client, make_participant, staff, site_ocn, site_ber, sites, per_site
):
    # Checks each page's query count for a monitor of one site with one participant and of
    # four sites (three time zones) with three participants each: the same, and pinned.
    with time_machine.travel(ENROLLED, tick=False):
        monitor, participants = network(
            make_participant, staff, site_ocn, site_ber, sites, per_site
        )
    with time_machine.travel(NOW, tick=False):
        assert queries_per_page(client, monitor, participants[0]) == QUERIES


def test_a_calendar_day_shows_its_first_visits_and_how_many_more(
    client, make_participant, staff, site_ocn, site_ber, monkeypatch
):
    # Checks that a day draws at most PER_DAY visits and names the rest by number: three
    # participants consented the same day share every appointment day.
    monkeypatch.setattr(calendar_reads, "PER_DAY", 1)
    with time_machine.travel(ENROLLED, tick=False):
        monitor, _ = network(make_participant, staff, site_ocn, site_ber, 1, 3)
    client.force_login(monitor)
    with time_machine.travel(NOW, tick=False):
        page = client.get("/admin/scheduling/visit/calendar/?site=OCN&month=2026-02")
    html = page.content.decode()
    assert "and 2 more" in html
    assert "and 3 more" not in html


def test_a_list_past_its_count_cap_says_more_than(
    client, make_participant, staff, site_ocn, site_ber, monkeypatch
):
    # Checks the visit and reminder lists count only up to the cap, and say so past it.
    monkeypatch.setattr(CappedCountPaginator, "cap", 5)
    with time_machine.travel(ENROLLED, tick=False):
        monitor, _ = network(make_participant, staff, site_ocn, site_ber, 2, 1)
    client.force_login(monitor)
    with time_machine.travel(NOW, tick=False):
        visits = client.get("/admin/scheduling/visit/").content.decode()
        participants = client.get("/admin/participants/participant/").content.decode()
    assert "more than 5 visits" in visits
    assert "2 participants" in participants  # under the cap: the exact number


def test_the_dashboards_overdue_count_stops_at_its_cap(
    client, make_participant, staff, site_ocn, site_ber, monkeypatch
):
    # Checks the overdue count is read up to COUNT_CAP rows and shown as "N+" past it.
    monkeypatch.setattr(dashboard, "COUNT_CAP", 1)
    with time_machine.travel(ENROLLED, tick=False):
        monitor, _ = network(make_participant, staff, site_ocn, site_ber, 2, 1)
    client.force_login(monitor)
    with time_machine.travel(datetime.datetime(2026, 8, 1, 18, tzinfo=datetime.UTC), tick=False):
        html = client.get("/admin/").content.decode()
    assert "Overdue visits <small>1+</small>" in html
