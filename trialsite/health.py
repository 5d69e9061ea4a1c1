"""Liveness for load balancers and `docker compose` health checks: the database answers."""

from django.db import connection
from django.http import HttpResponse


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")
