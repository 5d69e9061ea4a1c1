"""The workspace pages a monitor opens across a whole site network (the dashboard, the
participant list, a participant's page, the site calendar, the visit list and the reminder
list), with many participants against few over the same sites, as the demo's monitor made a
member of every site. A monitor (and a superuser) sees every site, so what must not grow with
the network is each query's work: every query on an index, and the same queries.

The rows: ``make demo``'s data (two sites, about 27 participants), its sites with all their
participants copied to make ``sites`` sites, then the participant tables of all of them copied
within their sites until about ``participants`` are stored (a chunk of copies at a time, so
memory stays flat). Each request goes through Django's test client, signed in, with the SQL
statements counted; ``explain=True`` gives each statement's plan (EXPLAIN ANALYZE, BUFFERS).
"""

from __future__ import annotations

import re
import time

import _data
from _measure import Statements, quiet_django
from pages import PARTICIPANT_TABLES, _network_tables

VIEWER = "monitor"
# Tables that grow with the participants: a sequential scan of one of them is a finding.
GROWING = (
    "participants_participant",
    "participants_historicalparticipant",
    "participants_transition",
    "participants_contactattempt",
    "participants_eligibilityanswer",
    "scheduling_visit",
    "scheduling_historicalvisit",
    "scheduling_reminder",
    "scheduling_reminderlinkuse",
)
CHUNK = 40  # within-site copies written per round (memory stays under about 1 GB)


def prepare(sites: int, participants: int):
    """The demo's data over ``sites`` sites (a multiple of the demo's two), then copied
    within each site to about ``participants``; the monitor a member of every site."""
    _data.setup_django()
    quiet_django()
    from django.contrib.auth import get_user_model
    from django.db import connection

    from participants.models import Participant, Site, SiteMembership
    from scheduling.demo import load_demo_data
    from scheduling.models import Reminder, Visit

    began = time.perf_counter()
    with connection.cursor() as cursor:
        start = _data.snapshot(cursor)
    load_demo_data("bench")
    demo_sites = Site.objects.count()
    site_copies = max(1, sites // demo_sites)
    with connection.cursor() as cursor:
        if site_copies > 1:
            network = _data.capture(cursor, start)
            network = network.only(_network_tables(network))
            _data.copy_rows(
                cursor, network.columns, _data.copies(network, range(1, site_copies), tag="s")
            )
            _data.reset_sequences(cursor, list(network.rows))
        within = _data.capture(cursor, start).only(PARTICIPANT_TABLES)
        stored = len(within.rows["participants_participant"])
        wanted = max(1, round(participants / stored))
        for first in range(1, wanted, CHUNK):
            numbers = range(first, min(first + CHUNK, wanted))
            _data.copy_rows(cursor, within.columns, _data.copies(within, numbers, tag="w"))
        _data.reset_sequences(cursor, list(within.rows))
    monitor = get_user_model().objects.get(username=VIEWER)
    for site in Site.objects.all():
        SiteMembership.objects.get_or_create(user=monitor, site=site)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    seconds = time.perf_counter() - began

    def describe():
        return {
            "participants": Participant.objects.count(),
            "sites": Site.objects.count(),
            "visits": Visit.objects.count(),
            "reminders": Reminder.objects.count(),
            "load_seconds": seconds,
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
        "dashboard": "/admin/",
        "participant list": "/admin/participants/participant/",
        "participant page": f"/admin/participants/participant/{shown.pk}/change/",
        "calendar": "/admin/scheduling/visit/calendar/?site=OCN",
        "visit list": "/admin/scheduling/visit/",
        "reminder list": "/admin/scheduling/reminder/",
    }


def _plan(sql: str, params) -> str:
    from django.db import connection, transaction

    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
            transaction.set_rollback(True)
    except Exception as error:  # a statement EXPLAIN cannot run is named, not fatal
        return f"(no plan: {error})"
    return plan


def _plans(executed) -> list[dict]:
    plans = []
    for sql, params in executed:
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        plan = _plan(sql, params)
        scans = sorted(set(re.findall(r"Seq Scan on (\w+)", plan)) & set(GROWING))
        found = re.search(r"Buffers: shared((?: \w+=\d+)+)", plan)
        pages = sum(int(n) for n in re.findall(r"=(\d+)", found.group(1))) if found else 0
        took = re.search(r"Execution Time: ([\d.]+) ms", plan)
        plans.append(
            {
                "sql": sql,
                "plan": plan,
                "seq_scans": scans,
                "pages": pages,
                "ms": float(took.group(1)) if took else None,
            }
        )
    return plans


def browser():
    """A session whose requests open one page, signed in as the monitor (``explain=True``:
    with every statement's plan)."""
    _data.setup_django()
    quiet_django()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    client.force_login(get_user_model().objects.get(username=VIEWER))
    urls = _urls()

    def open_page(page: str = "", explain: bool = False):
        if not page:
            return list(urls)
        statements = Statements(keep=explain)
        began = time.perf_counter()
        with connection.execute_wrapper(statements):
            response = client.get(urls[page])
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
        seconds = time.perf_counter() - began
        assert response.status_code == 200, (page, response.status_code)
        result = {"seconds": seconds, "statements": statements.count}
        if explain:
            result["plans"] = _plans(statements.executed)
        return result

    return open_page
