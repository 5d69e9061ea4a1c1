"""The API's visit list of one site for a date range (``GET /api/v1/visits/?site=OCN&from=
D1&to=D2&page_size=100``), as an EDC polls it with a coordinator's token, with many
participants against few over the same sites (issue 25): the first page must take about the
same time and the same statements whatever the network holds, alone and under 16 concurrent
clients.

The rows are ``network_pages.prepare``'s (the demo's data over ``sites`` sites, copied within
each site to about ``participants``), plus one API token for ``coordinator-ocn``. ``client()``
measures one request at a time through Django's test client with the statements counted
(``explain=True``: the visits query's plan); ``load()`` is the concurrent clients, each a
thread with its own HTTP connection to a served app (gunicorn, started by ``run.py``).
"""

from __future__ import annotations

import datetime
import http.client
import re
import threading
import time

import _data
import network_pages
from _measure import Statements, quiet_django

SITE = "OCN"
READER = "coordinator-ocn"
DAYS = 7  # the range: a week either side of the site's today
PAGE_SIZE = 100


def prepare(sites: int, participants: int):
    """``network_pages.prepare``'s rows, a token for the coordinator, and the request."""
    describe = network_pages.prepare(sites=sites, participants=participants)
    from django.contrib.auth import get_user_model

    from participants.api_tokens import issue_token
    from participants.models import Site

    reader = get_user_model().objects.get(username=READER)
    _token, key = issue_token(reader, name="bench api_visits", by=reader)
    today = Site.objects.get(code=SITE).today()
    start, end = today - datetime.timedelta(days=DAYS), today + datetime.timedelta(days=DAYS)
    path = (
        f"/api/v1/visits/?site={SITE}&from={start.isoformat()}&to={end.isoformat()}"
        f"&page_size={PAGE_SIZE}"
    )

    def described():
        from scheduling.models import Visit

        in_range = Visit.objects.filter(
            site__code=SITE,
            appointment_date__gte=start,
            appointment_date__lte=end,
        ).count()
        return {**describe(), "key": key, "path": path, "booked_in_range": in_range}

    return described


def _visits_plan(executed) -> dict | None:
    """The plan of the statement that reads the page of visits."""
    plans = network_pages._plans(executed)
    chosen = [p for p in plans if re.search(r'FROM "scheduling_visit"', p["sql"])]
    return (chosen or [None])[0]


def client(key: str, path: str):
    """One client at a time through Django's test client; each request returns its time,
    its statements and the rows of the page (``explain=True``: the visits query's plan)."""
    _data.setup_django()
    quiet_django()
    from django.db import connection
    from django.test import Client

    browser = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {key}")

    def get(explain: bool = False):
        statements = Statements(keep=explain)
        began = time.perf_counter()
        with connection.execute_wrapper(statements):
            response = browser.get(path)
            body = response.json()
        seconds = time.perf_counter() - began
        assert response.status_code == 200, (response.status_code, body)
        result = {
            "seconds": seconds,
            "statements": statements.count,
            "rows": len(body["results"]),
        }
        if explain:
            result["plan"] = _visits_plan(statements.executed)
        return result

    return get


def load(port: int, key: str, path: str, clients: int):
    """``clients`` threads, each with its own connection to 127.0.0.1:``port``, each making
    ``requests`` requests one after the other; every request's latency (ms)."""
    headers = {"Authorization": f"Bearer {key}", "Host": "localhost"}

    def one_client(requests: int, latencies: list, errors: list, start: threading.Barrier):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        start.wait()
        try:
            for _ in range(requests):
                began = time.perf_counter()
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                latencies.append((time.perf_counter() - began) * 1000)
                if response.status != 200:
                    errors.append(response.status)
        except Exception as error:  # a refused or dropped connection is counted, not fatal
            errors.append(repr(error))
        finally:
            connection.close()

    def run(requests: int):
        latencies: list[float] = []
        errors: list = []
        start = threading.Barrier(clients)
        threads = [
            threading.Thread(target=one_client, args=(requests, latencies, errors, start))
            for _ in range(clients)
        ]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return {
            "latencies": latencies,
            "errors": errors[:5],
            "error_count": len(errors),
            "seconds": time.perf_counter() - began,
        }

    return run
