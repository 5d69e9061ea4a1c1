"""The staff pages a coordinator opens all day (the participant list, a participant's page, the
site calendar, the dashboard) in a site network of many participants against one of few: the
same pages for the same user, the demo's coordinator of Oceanside (OCN), showing the same
participants. What the other sites hold must cost that coordinator nothing.

The rows: ``make demo``'s data (two sites, about 27 participants over every phase and way of
leaving the trial, bookings, answers, contact attempts, reminders sent and failed), its
participants copied four times within their sites (the small network, about 100), then the
sites with all their participants copied a hundred times (the large one, about 10,000: 200
sites of about 50; the staff stay members of the first two only). Each request goes through
Django's test client, signed in, with the SQL statements counted.
"""

from __future__ import annotations

import time

import _data
from _measure import Statements, quiet_django

# Rows that belong to one participant (copied within its site for the small network).
PARTICIPANT_TABLES = (
    "participants_participant",
    "participants_historicalparticipant",
    "participants_transition",
    "participants_contactattempt",
    "participants_eligibilityanswer",
    "participants_historicaleligibilityanswer",
    "scheduling_visit",
    "scheduling_historicalvisit",
    "scheduling_reminder",
    "scheduling_reminderlinkuse",
)
WITHIN_SITE = 4
VIEWER = "coordinator-ocn"


# The protocol's plan, which every site shares (a copy of a site keeps the versions' ids):
# copied, the demo's version 2.0 of the migrations' protocol would be stored twice.
PROTOCOL_PLAN = ("protocolversion", "phase", "visitdefinition", "reminderrule")


def _network_tables(sample) -> list[str]:
    """What a copy of a site takes along: everything but users, their memberships,
    permissions, the protocol's resources and plan, and Django's own tables."""
    plan = {f"scheduling_{m}" for m in PROTOCOL_PLAN}
    plan |= {f"scheduling_historical{m}" for m in PROTOCOL_PLAN}
    return [
        t
        for t in sample.rows
        if not t.startswith(("auth_", "django_", "axes_", "otp_"))
        and t not in plan
        and t
        not in (
            "participants_resource",
            "participants_historicalresource",
            "participants_sitemembership",
            "participants_historicalsitemembership",
        )
    ]


def prepare(site_copies: int):
    """The demo's data, copied to about 100 participants, and those with their sites
    ``site_copies`` times (100: about 10,000 participants)."""
    _data.setup_django()
    quiet_django()
    from django.db import connection

    from participants.models import Participant, Site
    from scheduling.demo import load_demo_data
    from scheduling.models import Reminder

    with connection.cursor() as cursor:
        start = _data.snapshot(cursor)
    load_demo_data("bench")
    with connection.cursor() as cursor:
        demo = _data.capture(cursor, start)
        within = demo.only(PARTICIPANT_TABLES)
        _data.copy_rows(
            cursor, within.columns, _data.copies(within, range(1, WITHIN_SITE), tag="w")
        )
        _data.reset_sequences(cursor, list(within.rows))
        if site_copies > 1:
            network = _data.capture(cursor, start)
            network = network.only(_network_tables(network))
            _data.copy_rows(
                cursor, network.columns, _data.copies(network, range(1, site_copies), tag="s")
            )
            _data.reset_sequences(cursor, list(network.rows))
        cursor.execute("VACUUM ANALYZE")

    def describe():
        return {
            "participants": Participant.objects.count(),
            "sites": Site.objects.count(),
            "reminders": Reminder.objects.count(),
        }

    return describe


def _urls() -> dict[str, str]:
    from participants.models import Participant, Status

    shown = (
        Participant.objects.filter(site__code="OCN", status=Status.TREATMENT)
        .order_by("subject_id")
        .first()
    )
    return {
        "participant list": "/admin/participants/participant/",
        "participant page": f"/admin/participants/participant/{shown.pk}/change/",
        "calendar": "/admin/scheduling/visit/calendar/?site=OCN",
        "dashboard": "/admin/",
    }


def browser():
    """A session whose requests open one page, signed in as the demo's coordinator of OCN."""
    _data.setup_django()
    quiet_django()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    client.force_login(get_user_model().objects.get(username=VIEWER))
    urls = _urls()

    def open_page(page: str = ""):
        if not page:
            return list(urls)
        statements = Statements()
        began = time.perf_counter()
        with connection.execute_wrapper(statements):
            response = client.get(urls[page])
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
        seconds = time.perf_counter() - began
        assert response.status_code == 200, (page, response.status_code)
        return {"seconds": seconds, "statements": statements.count, "bytes": len(response.content)}

    return open_page
