"""The REST API fuzzed from its own OpenAPI schema with schemathesis (issue 25), as each role
of the demo, with bounded examples: no 5xx, every 4xx is a JSON error body, a refused write
leaves nothing half-saved, the monitor writes nothing, and BER's coordinator reads nothing of
OCN's.

The schema is the one the app serves (/api/v1/schema/; tests/test_api_schema.py keeps the
committed docs/api/openapi.yaml equal to it). One test per role: the demo is loaded once (it
takes seconds), then every operation is fuzzed inside it, ``EXAMPLES`` cases each (positive and
negative data, and the demo's own ids of each site for an operation on one record; no
shrinking, derandomized: the same cases on every run). Besides these checks, schemathesis'
status-code, content-type and response-schema conformance. Every finding of every operation
is collected and reported together rather than stopping at the first; ``-s`` prints each
role's tally of statuses.

What it found, mended: a POST or DELETE to a path under /api/v1/ that names no endpoint (a
non-integer id: /visits/Z7/actual-date/) was Django's HTML CSRF 403, not a JSON 404
(test_an_unsafe_request_to_no_endpoint_is_a_json_404).
"""

import json
import time
from collections import Counter
from types import SimpleNamespace

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from participants.api_tokens import issue_token

ROLES = ["coordinator-ber", "coordinator-ocn", "monitor", "investigator-ocn", "manager-ocn"]
EXAMPLES = 16  # per operation and role
CONFORMANCE = [status_code_conformance, content_type_conformance, response_schema_conformance]
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


# --- the checks, each a function of one response (and able to fail: test_the_checks_fail) ---


def header(response, name: str) -> str:
    values = response.headers.get(name.lower()) or response.headers.get(name) or [""]
    return values[0] if isinstance(values, list) else values


def check_no_server_error(response) -> None:
    assert response.status_code < 500, f"a {response.status_code}"


def check_json_error(response) -> None:
    """A 4xx is ``{"errors": [{"field", "message"}, …]}`` served as JSON."""
    if not 400 <= response.status_code < 500:
        return
    content_type = header(response, "Content-Type")
    assert content_type.split(";")[0].strip() == "application/json", (
        f"a {response.status_code} served as {content_type!r}"
    )
    try:
        body = json.loads(response.content)
    except ValueError as error:
        raise AssertionError(f"a {response.status_code} whose body is not JSON: {error}") from None
    assert isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"], (
        f"a {response.status_code} without a list of errors: {body!r}"
    )
    for error in body["errors"]:
        assert isinstance(error, dict) and isinstance(error.get("message"), str), (
            f"a {response.status_code} with an error without a message: {error!r}"
        )
        assert "field" in error, f"a {response.status_code} with an error without a field"


def foreign_records(value, subject_ids: set[str], site_code: str):
    """The records of ``value`` (parsed JSON) that belong to the site ``site_code``: a
    participant's subject id, a record whose ``site`` is it, a site record of that code."""
    if isinstance(value, dict):
        a_site = value.get("code") == site_code and "timezone" in value
        if a_site or value.get("subject_id") in subject_ids or value.get("site") == site_code:
            yield value
        for item in value.values():
            yield from foreign_records(item, subject_ids, site_code)
    elif isinstance(value, list):
        for item in value:
            yield from foreign_records(item, subject_ids, site_code)


def check_no_cross_site_read(response, subject_ids: set[str], site_code: str) -> None:
    if not 200 <= response.status_code < 300 or not response.content:
        return
    text = response.content.decode("utf-8", "replace")
    leaked = sorted(subject for subject in subject_ids if subject in text)
    assert not leaked, f"a {response.status_code} naming {site_code}'s participants {leaked[:3]}"
    try:
        body = json.loads(text)
    except ValueError:
        return
    records = list(foreign_records(body, subject_ids, site_code))
    assert not records, f"a {response.status_code} with {site_code}'s records: {records[:1]!r}"


def counts() -> dict[str, int]:
    """The rows a refused write must leave as they were."""
    from participants.api_tokens import IdempotencyRecord
    from participants.models import ContactAttempt, Participant, Transition
    from scheduling.models import Visit

    return {
        "participants": Participant.objects.count(),
        "transitions": Transition.objects.count(),
        "visits": Visit.objects.count(),
        "contact attempts": ContactAttempt.objects.count(),
        "idempotency records": IdempotencyRecord.objects.count(),
    }


def check_nothing_half_saved(response, before: dict, after: dict, *, read_only: bool) -> None:
    changed = {name: (before[name], after[name]) for name in before if before[name] != after[name]}
    if 400 <= response.status_code < 500 or read_only:
        assert not changed, f"a {response.status_code} that changed {changed}"


def check_read_only(response, method: str) -> None:
    if method in WRITES:
        assert not 200 <= response.status_code < 300, f"a {response.status_code} to a {method}"


# --- the fuzzing ---


@pytest.fixture
def wsgi_requests():
    """Requests through the WSGI app inside the test's transaction: Django's request signals
    would otherwise close the connection the test's atomic block holds (as Django's test
    client, which disconnects them too)."""
    disconnected = [
        signal
        for signal in (signals.request_started, signals.request_finished)
        if signal.disconnect(close_old_connections)
    ]
    yield
    for signal in disconnected:
        signal.connect(close_old_connections)


def conformance_failure(failure) -> str:
    """A schemathesis check's failure in one line: its title and its message's first lines."""
    message = " ".join(str(failure).split())[:200]
    return f"{type(failure).__name__}: {message}"


def describe(case) -> str:
    try:
        return case.as_curl_command()
    except Exception:  # noqa: BLE001 (a description only)
        return repr(case)


def fuzz_as(username: str) -> tuple[list[str], int, int]:
    """Every operation fuzzed with a token of ``username``: the findings, the number of
    operations and of requests."""
    from django.contrib.auth import get_user_model

    from participants.models import Participant
    from trialsite.wsgi import application

    user = get_user_model().objects.get(username=username)
    _token, key = issue_token(user, name="fuzz", by=user)
    auth = {"Authorization": f"Bearer {key}"}
    ocn_subjects = set(
        Participant.objects.filter(site__code="OCN").values_list("subject_id", flat=True)
    )
    assert ocn_subjects, "the demo has OCN participants"
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
    findings: list[str] = []
    sent = 0
    statuses: Counter = Counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        sent += fuzz_operation(operation, username, auth, ocn_subjects, findings, statuses)
    tally = dict(sorted(statuses.items()))
    print(f"{username}: {len(operations)} operations, {sent} requests, {tally}")
    return findings, len(operations), sent


def real_ids(path: str) -> list[int]:
    """For an operation on one record (``{id}`` in its path), the id of one such record of
    each demo site (OCN's first): what a fuzzer that only guesses ids seldom reaches."""
    from participants.models import Participant, Protocol, Site
    from scheduling.models import Reminder, Visit

    if "{id}" not in path:
        return []
    collection = path.removeprefix("/api/v1/").split("/")[0]
    if collection == "protocols":
        return list(Protocol.objects.order_by("id").values_list("id", flat=True)[:1])
    model, site = {
        "sites": (Site, "code"),
        "participants": (Participant, "site__code"),
        "visits": (Visit, "site__code"),
        "reminders": (Reminder, "visit__site__code"),
    }[collection]
    return [
        pk
        for code in ("OCN", "BER")
        for pk in model.objects.filter(**{site: code})
        .order_by("id")
        .values_list("id", flat=True)[:1]
    ]


def fuzz_operation(operation, username, auth, ocn_subjects, findings, statuses) -> int:
    """``EXAMPLES`` cases of one operation; its findings added to ``findings``. The number of
    requests sent."""
    sent = 0
    strategies = [
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    ]
    # Random ids are almost all 404s: the demo's own records too, one of each site.
    strategies += [
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE, path_parameters={"id": pk})
        for pk in real_ids(operation.path)
    ]
    strategy = st.one_of(strategies)
    seen: set[str] = set()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):
        nonlocal sent
        before = counts()
        response = case.call(headers=auth)
        sent += 1
        statuses[f"{case.method.upper()} {response.status_code}"] += 1
        after = counts()
        problems = []
        own_checks = [
            lambda: check_no_server_error(response),
            lambda: check_json_error(response),
            lambda: check_nothing_half_saved(
                response, before, after, read_only=username == "monitor"
            ),
        ]
        if username == "monitor":
            own_checks.append(lambda: check_read_only(response, case.method.upper()))
        if username == "coordinator-ber":
            own_checks.append(lambda: check_no_cross_site_read(response, ocn_subjects, "OCN"))
        for check in own_checks:
            try:
                check()
            except AssertionError as error:
                problems.append(str(error).splitlines()[0])
        if response.status_code < 500:
            try:
                case.validate_response(response, checks=CONFORMANCE, headers=auth)
            except FailureGroup as group:
                problems += [conformance_failure(failure) for failure in group.exceptions]
            except Failure as failure:
                problems.append(conformance_failure(failure))
        for problem in problems:
            label = f"{operation.label}: {problem}"
            if label not in seen:  # one example of each finding
                seen.add(label)
                findings.append(f"{label}\n    {describe(case)}")

    run()
    return sent


@pytest.mark.parametrize("username", ROLES)
def test_the_api_fuzzed_as(username, demo_data, wsgi_requests):
    started = time.monotonic()
    findings, operations, sent = fuzz_as(username)
    assert operations >= 17
    assert sent >= operations * EXAMPLES // 2, (operations, sent)
    elapsed = time.monotonic() - started
    assert not findings, (
        f"{len(findings)} finding(s) as {username} ({operations} operations, {sent} requests, "
        f"{elapsed:.0f} s):\n" + "\n".join(findings)
    )


# --- every check can fail ---


def fabricated(status: int, content: bytes, content_type: str = "application/json"):
    return SimpleNamespace(
        status_code=status, headers={"content-type": [content_type]}, content=content
    )


def test_the_checks_fail_on_a_violation():
    html_404 = fabricated(404, b"<h1>Not Found</h1>", "text/html")
    with pytest.raises(AssertionError, match="served as"):
        check_json_error(html_404)
    with pytest.raises(AssertionError, match="not JSON"):
        check_json_error(fabricated(404, b"Not Found"))
    with pytest.raises(AssertionError, match="without a list of errors"):
        check_json_error(fabricated(400, b'{"detail": "bad"}'))
    with pytest.raises(AssertionError, match="without a message"):
        check_json_error(fabricated(400, b'{"errors": [{"field": null}]}'))
    check_json_error(fabricated(404, b'{"errors": [{"field": null, "message": "No."}]}'))

    with pytest.raises(AssertionError, match="a 500"):
        check_no_server_error(fabricated(500, b""))

    ocn = {"SLE-001-01-001"}
    leak = fabricated(200, b'{"results": [{"subject_id": "SLE-001-01-001", "site": "BER"}]}')
    with pytest.raises(AssertionError, match="naming OCN"):
        check_no_cross_site_read(leak, ocn, "OCN")
    visit = fabricated(200, b'{"results": [{"subject_id": "SLE-001-02-001", "site": "OCN"}]}')
    with pytest.raises(AssertionError, match="OCN's records"):
        check_no_cross_site_read(visit, ocn, "OCN")
    site = fabricated(200, b'{"id": 1, "code": "OCN", "timezone": "America/Los_Angeles"}')
    with pytest.raises(AssertionError, match="OCN's records"):
        check_no_cross_site_read(site, ocn, "OCN")
    check_no_cross_site_read(fabricated(200, b'{"site": "BER", "subject_id": "x"}'), ocn, "OCN")

    before = {"participants": 3, "visits": 9}
    with pytest.raises(AssertionError, match="changed"):
        check_nothing_half_saved(
            fabricated(400, b"{}"), before, {**before, "visits": 10}, read_only=False
        )
    with pytest.raises(AssertionError, match="changed"):
        check_nothing_half_saved(
            fabricated(200, b"{}"), before, {**before, "participants": 4}, read_only=True
        )
    check_nothing_half_saved(
        fabricated(201, b"{}"), before, {**before, "visits": 10}, read_only=False
    )

    with pytest.raises(AssertionError, match="to a POST"):
        check_read_only(fabricated(201, b"{}"), "POST")
    check_read_only(fabricated(403, b"{}"), "POST")


def test_an_unsafe_request_to_no_endpoint_is_a_json_404(api):
    """What the fuzzer found: a token's POST to /visits/Z7/actual-date/ (no endpoint: the id is
    not an integer) was Django's HTML CSRF 403; it is a JSON 404, with CSRF checks on."""
    from django.test import Client

    coordinator = api("coordinator-ber")
    response = Client(enforce_csrf_checks=True).post(
        "/api/v1/visits/Z7/actual-date/",
        "{}",
        content_type="application/json",
        headers={"Authorization": f"Bearer {coordinator.key}", "Idempotency-Key": "k-1"},
    )
    assert response.status_code == 404
    check_json_error(
        SimpleNamespace(
            status_code=response.status_code,
            headers={"content-type": [response.headers["Content-Type"]]},
            content=response.content,
        )
    )
