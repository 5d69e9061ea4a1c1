"""Health endpoints.

- ``/healthz``: liveness for load balancers and `docker compose` health checks: the database
  answers.
- ``/healthz/dispatch``: for operators' monitoring: whether reminder dispatch is working, as
  JSON (the age of the last completed run, since when runs fail and the last error in one
  line); 200 when it is, 503 when runs fail or none completed for DISPATCH_STALE_AFTER seconds
  (a stopped worker or beat), so a probe can alert on the status code alone.
"""

from django.db import connection
from django.http import HttpResponse, JsonResponse

from scheduling.mail import dispatch_health


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


def dispatch(request):
    state = dispatch_health.health()
    response = JsonResponse(state.as_dict(), status=200 if state.status == "ok" else 503)
    response["Cache-Control"] = "no-store"
    return response
