"""The access matrix (issue 13, security 1): roles × sites × every surface of the staff
workspace, found from the admin's URL resolver, so a new admin page or custom view without
scoping fails here.

- A user of OCN (coordinator, investigator, site manager) never reaches a BER participant:
  not in a list (filters and searches in the URL too), not in autocomplete JSON, not on a
  change, history or custom page with BER ids in its URL (404), not in the calendar with
  ?site=BER, not in an export with BER ids posted. The monitor and the superuser, who see both
  sites, do reach them (so the ids used are right and the checks are not vacuous).
- A monitor never writes: every POST to every add, change, delete, history and custom URL
  answers 403 or 404 (405 for a GET-only view), and the participants and scheduling tables
  are the same before and after every POST the monitor makes (actions of the lists included).
- A hidden field (a participant's email address, hidden from read-only roles) never appears
  in any page, JSON or CSV a monitor gets.
- The participant link pages (/r/<token>/<action>/) act on their own reminder only (the full
  set is tests/test_reminder_links.py; one cross-check here).
"""

import datetime
import re
from collections import Counter

import pytest
import time_machine
from django.apps import apps
from django.contrib import admin
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RegexPattern, RoutePattern

from participants import eligibility
from participants.admin import SiteScopedAdmin
from participants.contact_log import record_contact_attempt
from participants.lifecycle import create_participant, record_transition
from participants.models import ContactAttempt, Participant, Site, Status, Transition
from participants.sites import add_closure
from scheduling.models import Visit
from scheduling.replies.answers import link_path
from tests.browser import demo_staff
from tests.conftest import load_sle001, superuser
from tests.factories import SiteFactory
from tests.tables import table_digests

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
NOW = datetime.datetime(2026, 1, 20, 16, tzinfo=UTC)  # 20 January at both sites
CONSENT = datetime.date(2026, 1, 5)
OCN_ROLES = ["coordinator-ocn", "investigator-ocn", "manager-ocn"]
ALL_ROLES = [*OCN_ROLES, "monitor", "admin"]
DATA_APPS = ("participants", "scheduling")
# Admin pages that hold no participant data and act on the signed-in user only.
# A user's own pages: their sign-in, password and workspace language, not a record.
USER_PAGES = {
    "login",
    "logout",
    "password_change",
    "password_change_done",
    "jsi18n",
    "staff_language",
    # A user's own API tokens (issue 25): a monitor issues and revokes their own, to read.
    *(
        f"participants_apitoken_{page}"
        for page in ("changelist", "add", "change", "delete", "history")
    ),
}

TRIED: Counter = Counter()  # (role, surface) pairs requested, per test


# ---------------------------------------------------------------------------------------------
# The surfaces, from the URL resolver


def walk(patterns, prefix="", trail=()):
    """(route, name, parameter names, trail of route pieces) for every URL pattern."""
    for entry in patterns:
        piece = str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, prefix + piece, (*trail, piece))
        elif isinstance(entry, URLPattern):
            if isinstance(entry.pattern, RoutePattern):
                params = tuple(entry.pattern.converters)
            elif isinstance(entry.pattern, RegexPattern):
                regex = entry.pattern.regex
                params = tuple(regex.groupindex)
                if (
                    not params
                    and regex.groups == 2
                    and (entry.name or "").endswith("_simple_history")
                ):
                    params = ("object_id", "version_id")  # simple-history's positional groups
            else:  # pragma: no cover
                params = ()
            yield prefix + piece, entry.name, params, (*trail, piece)


def admin_surfaces() -> list[dict]:
    """Every named admin URL, with the model it belongs to (None for the site's own pages)."""
    surfaces = []
    for route, name, params, trail in walk(get_resolver().url_patterns):
        if not route.startswith("admin/") or name is None:
            continue  # the admin's catch-all redirect has no name and no page
        model = None
        parts = "".join(trail[1:-1]).strip("/").split("/")
        if len(parts) == 2:
            app_label, model_name = parts
            try:
                model = apps.get_model(app_label, model_name)
            except (LookupError, ValueError):
                model = None
        surfaces.append({"route": route, "name": name, "params": params, "model": model})
    return surfaces


def url_name(surface) -> str:
    # The two-factor and language pages are outside the admin site's namespace.
    outside = surface["name"].startswith("two_factor") or surface["name"] == "staff_language"
    return surface["name"] if outside else f"admin:{surface['name']}"


def kind(surface) -> str:
    name, params = surface["name"], surface["params"]
    for suffix in ("changelist", "add", "change", "delete", "history", "simple_history"):
        if name.endswith(f"_{suffix}") and surface["model"] is not None:
            return "version" if suffix == "simple_history" else suffix
    if "object_id" in params and surface["model"] is not None:
        return "custom"  # a page of a record with its id in the URL
    return name


def site_object(model, code):
    """A record of ``model`` at site ``code`` (None if the model has no site)."""
    model_admin = admin.site._registry.get(model)
    if not isinstance(model_admin, SiteScopedAdmin):
        return None
    path = model_admin.site_path
    return (
        model._default_manager.filter(**{f"{path}__code" if path else "code": code})
        .order_by("pk")
        .first()
    )


def any_object(model):
    return model._default_manager.order_by("pk").first()


def fill(surface, code) -> str | None:
    """The surface's URL for a record at ``code`` (or any record, for unscoped models)."""
    model, params = surface["model"], surface["params"]
    obj = site_object(model, code) if model is not None else None
    if model is not None and obj is None:
        obj = (
            any_object(model)
            if not isinstance(admin.site._registry.get(model), SiteScopedAdmin)
            else None
        )
    kwargs = {}
    for param in params:
        if param == "object_id":
            if obj is None:
                return None
            kwargs[param] = obj.pk
        elif param == "visit_id":
            visit = Visit.objects.filter(participant=obj).order_by("pk").first()
            if visit is None:
                return None
            kwargs[param] = visit.pk
        elif param == "transition_id":
            transition = Transition.objects.filter(participant=obj).order_by("pk").first()
            if transition is None:
                return None
            kwargs[param] = transition.pk
        elif param == "version_id":
            history = getattr(obj, "history", None)
            if history is None or not history.exists():
                return None
            kwargs[param] = history.order_by("history_id").first().history_id
        elif param == "app_label":
            kwargs[param] = "participants"
        elif param == "content_type_id":
            from django.contrib.contenttypes.models import ContentType

            participant = Participant.objects.filter(site__code=code).order_by("pk").first()
            kwargs[param] = ContentType.objects.get_for_model(Participant).pk
            kwargs["object_id"] = participant.pk
        else:
            return None
    if surface["name"].endswith("_simple_history"):
        return reverse(url_name(surface), args=[kwargs["object_id"], kwargs["version_id"]])
    return reverse(url_name(surface), kwargs=kwargs)


# ---------------------------------------------------------------------------------------------
# The world: two participants at each site, with every kind of record


def build_world() -> dict:
    """Two participants at each site with every kind of record, the demo's staff and the
    superuser: what each test of the module reads, as ids."""
    from django.contrib.auth import get_user_model

    protocol = load_sle001()
    site_ocn = SiteFactory(code="OCN", name="Oceanside", timezone="America/Los_Angeles")
    site_ber = SiteFactory(code="BER", name="Berlin", timezone="Europe/Berlin")
    staff = demo_staff()
    admin_user = superuser(get_user_model())
    numbers = iter(range(1, 100))

    def make_participant(site, email):  # as conftest's make_participant
        return create_participant(
            protocol=protocol,
            site=site,
            subject_id=f"SLE-001-101-{next(numbers):03d}",
            email=email,
            consent_date=CONSENT,
        )

    with time_machine.travel(datetime.datetime(2026, 1, 5, 20, tzinfo=UTC), tick=False):
        people = {
            "OCN": [
                make_participant(site=site_ocn, email="ocn-one@example.org"),
                make_participant(site=site_ocn, email="ocn-two@example.org"),
            ],
            "BER": [
                make_participant(site=site_ber, email="ber-one@example.org"),
                make_participant(site=site_ber, email="ber-two@example.org"),
            ],
        }
        for code, site in (("OCN", site_ocn), ("BER", site_ber)):
            first = people[code][0]
            criterion = first.protocol.criteria.first()
            eligibility.answer_criteria(first, {criterion.pk: "yes"}, by=admin_user)
            record_transition(
                people[code][1], Status.WITHDRAWN, on=CONSENT, reason="Moved away", by=admin_user
            )
            record_contact_attempt(
                first,
                channel=ContactAttempt._meta.get_field("channel").choices[0][0],
                outcome=ContactAttempt._meta.get_field("outcome").choices[0][0],
                note="Left a message",
                by=admin_user,
            )
            add_closure(site, start=datetime.date(2026, 2, 16), reason="Inspection", by=admin_user)
            # An address corrected with a reason: both addresses are in the history.
            first.email = f"{code.lower()}-corrected@example.org"
            first._change_reason = "Typo in the address"
            first.save()
    users = {**staff, "admin": admin_user}
    return {
        "people": {code: [p.pk for p in group] for code, group in people.items()},
        "users": {name: user.pk for name, user in users.items()},
    }


@pytest.fixture(scope="module")
def world_ids(django_db_setup, django_db_blocker):
    """The world, made once for the module (0.9 s; made for each of the 22 tests before) in a
    transaction rolled back at the module's end. Each test runs in a savepoint inside it
    (pytest-django's ``db``), rolled back after the test: what a test writes (its sessions,
    the stop link's change, a write the monitor's test catches) is gone before the next one,
    which sees the world exactly as it was made."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
    try:
        with django_db_blocker.unblock():
            ids = build_world()
        yield ids
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def world(world_ids, db, time_machine):
    """The module's world, read afresh for this test, the clock at NOW."""
    from django.contrib.auth import get_user_model

    time_machine.move_to(NOW, tick=False)
    users = get_user_model().objects.in_bulk(world_ids["users"].values())
    return {
        "people": {
            code: [Participant.objects.get(pk=pk) for pk in pks]
            for code, pks in world_ids["people"].items()
        },
        "users": {name: users[pk] for name, pk in world_ids["users"].items()},
    }


def subject_ids(world, code) -> list[str]:
    return [p.subject_id for p in world["people"][code]]


def all_emails() -> set[str]:
    emails = set(Participant.objects.values_list("email", flat=True))
    emails |= set(Participant.history.values_list("email", flat=True))
    return {e for e in emails if e}


def leaked(text: str, needles) -> list[str]:
    return sorted(n for n in needles if n in text)


def dump() -> dict:
    """Every participants and scheduling table (history tables too): its number of rows and a
    digest of what they hold (tests/tables.py; fetching them through the ORM took about 55 ms,
    after each of the monitor's 200 or so POSTs)."""
    return table_digests(
        model._meta.db_table
        for app_label in DATA_APPS
        for model in apps.get_app_config(app_label).get_models()
    )


def report(test: str):
    pairs = TRIED[test]
    print(f"\n{test}: {pairs} (role, surface) pairs tried")


# ---------------------------------------------------------------------------------------------
# Discovery


def test_the_discovery_finds_every_kind_of_surface():
    surfaces = admin_surfaces()
    kinds = Counter(kind(s) for s in surfaces)
    names = {s["name"] for s in surfaces}
    assert kinds["changelist"] >= 15 and kinds["change"] >= 15 and kinds["history"] >= 15
    assert kinds["custom"] >= 10
    assert {
        "participant_transition",
        "participant_visit",
        "participant_visit_appointment",
        "participant_visit_confirmation",
        "participant_contact_attempt",
        "participant_reminders",
        "participant_eligibility",
        "scheduling_visit_calendar",
        "autocomplete",
    } <= names
    models = {s["model"] for s in surfaces if s["model"] is not None}
    assert set(admin.site._registry) <= models
    print(f"\n{len(surfaces)} admin surfaces: {dict(kinds)}")


# ---------------------------------------------------------------------------------------------
# A user of OCN never reaches BER


@pytest.mark.parametrize("username", ALL_ROLES)
def test_pages_with_a_ber_id_in_their_url(client, world, username):
    """GET and POST to every page of a record at BER: 404 (or 403) for users of OCN; the
    monitor and the superuser reach the same URLs (so the ids are right)."""
    user = world["users"][username]
    client.force_login(user)
    client.raise_request_exception = False
    ber = subject_ids(world, "BER")
    answered, problems = {}, []
    for surface in admin_surfaces():
        if kind(surface) not in {"change", "history", "delete", "version", "custom"}:
            continue
        if not isinstance(admin.site._registry.get(surface["model"]), SiteScopedAdmin):
            continue  # protocols, plan parts, users, schedules: no site
        url = fill(surface, "BER")
        if url is None:
            continue
        TRIED[f"ber-urls-{username}"] += 1
        get = client.get(url)
        opts = surface["model"]._meta
        if user.has_perm(f"{opts.app_label}.view_{opts.model_name}"):
            answered[url] = get.status_code
        if username in OCN_ROLES:
            post = client.post(url, {"post": "yes", "reason": "x", "change_reason": "x"})
            for method, response in (("GET", get), ("POST", post)):
                if response.status_code not in (403, 404, 405):
                    problems.append((method, url, response.status_code))
                elif leaked(response.content.decode(errors="replace"), ber):
                    problems.append((method, url, "names a BER participant"))
    assert problems == []
    if username in ("monitor", "admin"):
        pages = [u for u, s in answered.items() if re.search(r"/(change|history)/$", u)]
        assert pages and all(answered[u] == 200 for u in pages), answered
    assert TRIED[f"ber-urls-{username}"] >= 40
    report(f"ber-urls-{username}")


def lists(user):
    for surface in admin_surfaces():
        model = surface["model"]
        if kind(surface) != "changelist":
            continue
        opts = model._meta
        if user.has_perm(f"{opts.app_label}.view_{opts.model_name}"):
            yield model, reverse(url_name(surface))


@pytest.mark.parametrize("username", ALL_ROLES)
def test_lists_filters_and_searches(client, world, admin_client, username):
    """Every list, every filter choice it offers a superuser (a BER site choice among them),
    the site filter and a search for a BER subject id typed in the URL."""
    user = world["users"][username]
    client.force_login(user)
    ber, ocn = subject_ids(world, "BER"), subject_ids(world, "OCN")
    ber_site = Site.objects.get(code="BER")
    seen_ber, problems, opened = set(), [], 0
    for model, url in lists(user):
        superuser_page = admin_client.get(url)
        assert superuser_page.status_code == 200, url
        changelist = superuser_page.context["cl"]
        queries = {
            c["query_string"] for s in changelist.filter_specs for c in s.choices(changelist)
        }
        queries |= {f"?q={ber[0]}"}
        path = getattr(admin.site._registry[model], "site_path", None)
        if path is not None:
            queries.add(f"?{path + '__id__exact' if path else 'id__exact'}={ber_site.pk}")
        for query in sorted(queries | {""}):
            TRIED[f"lists-{username}"] += 1
            response = client.get(url + query.replace("&amp;", "&"))
            if response.status_code == 400:
                continue  # a lookup the list does not offer
            opened += response.status_code == 200
            text = response.content.decode()
            if query.startswith("?q="):
                # The page repeats the search typed: look at what it listed.
                text = " ".join(str(obj) for obj in response.context["cl"].result_list)
            found = leaked(text, ber)
            seen_ber |= set(found)
            if username in OCN_ROLES and found:
                problems.append((url + query, found))
            if username == "monitor" and leaked(text, all_emails()):
                problems.append((url + query, "an address"))
    assert problems == []
    assert opened >= 30
    if username in ("monitor", "admin"):
        assert seen_ber == set(ber)
    else:
        own = client.get(reverse("admin:participants_participant_changelist")).text
        assert all(s in own for s in ocn)
    report(f"lists-{username}")


def autocomplete_queries():
    """Every foreign key of every registered model to a model whose admin has a search."""
    for model in admin.site._registry:
        for field in model._meta.get_fields():
            if not (field.many_to_one or field.many_to_many) or field.auto_created:
                continue
            remote = admin.site._registry.get(field.related_model)
            if remote is None or not remote.search_fields:
                continue
            opts = model._meta
            yield {
                "app_label": opts.app_label,
                "model_name": opts.model_name,
                "field_name": field.name,
            }


@pytest.mark.parametrize("username", ALL_ROLES)
def test_autocomplete_json(client, world, username):
    user = world["users"][username]
    client.force_login(user)
    ber = subject_ids(world, "BER")
    queries = list(autocomplete_queries())
    assert len(queries) >= 8
    problems, seen_ber = [], set()
    for query in queries:
        for term in ("", ber[0], "SLE"):
            TRIED[f"autocomplete-{username}"] += 1
            response = client.get(reverse("admin:autocomplete"), {**query, "term": term})
            text = response.content.decode()
            seen_ber |= set(leaked(text, ber))
            if username in OCN_ROLES and leaked(text, ber):
                problems.append((query, term, leaked(text, ber)))
            if username == "monitor" and leaked(text, all_emails()):
                problems.append((query, term, "an address"))
    assert problems == []
    if username == "admin":
        assert seen_ber  # the superuser's autocomplete does list BER participants
    report(f"autocomplete-{username}")


@pytest.mark.parametrize("username", ALL_ROLES)
def test_the_calendar_and_the_export(client, world, username):
    user = world["users"][username]
    client.force_login(user)
    ber = subject_ids(world, "BER")
    calendar = reverse("admin:scheduling_visit_calendar")
    own = client.get(calendar)
    assert own.status_code == 200
    other = client.get(calendar, {"site": "BER", "month": "2026-02"})
    if username in OCN_ROLES:
        assert other.status_code == 404
        assert leaked(other.content.decode(), ber) == []
    else:
        assert other.status_code == 200
    everyone = list(Participant.objects.values_list("pk", flat=True))
    export = client.post(
        reverse("admin:participants_participant_changelist"),
        {"action": "export_schedule", "_selected_action": everyone},
    )
    assert export.status_code == 200
    csv = export.content.decode()
    if username in OCN_ROLES:
        assert leaked(csv, ber) == []
        assert all(s in csv for s in subject_ids(world, "OCN"))
    else:
        assert all(s in csv for s in ber)
    assert leaked(csv, all_emails()) == []
    TRIED[f"calendar-export-{username}"] += 3
    report(f"calendar-export-{username}")


# ---------------------------------------------------------------------------------------------
# A monitor never writes; a monitor never reads a hidden field


POSTED = {
    "post": "yes",
    "reason": "A monitor tries",
    "change_reason": "A monitor tries",
    "to_status": Status.WITHDRAWN,
    "status": Status.WITHDRAWN,
    "on": "2026-01-20",
    "actual_date": "2026-01-20",
    "email": "monitor-wrote-this@example.org",
    "reminders_enabled": "",
    "confirmation": "confirmed",
    "channel": "phone",
    "outcome": "reached",
    "note": "A monitor tries",
    "day": "2026-02-02",
    "at": "09:00",
    "clear": "1",
    "start": "2026-02-20",
    "end": "2026-02-20",
    "name": "Monitor",
    "code": "MON",
}


def test_a_monitor_never_writes(client, world):
    """Every POST to every admin URL (OCN and BER records) answers 403, 404 or 405 where it
    would write, and no participants or scheduling row changes through any of them, list
    actions included."""
    monitor = world["users"]["monitor"]
    client.force_login(monitor)
    client.raise_request_exception = False
    before = dump()
    problems, tried = [], 0
    for surface in admin_surfaces():
        surface_kind = kind(surface)
        if surface["name"] in USER_PAGES | {"autocomplete"}:
            continue  # autocomplete: GET only, in test_autocomplete_json
        for code in ("OCN", "BER"):
            url = fill(surface, code)
            if url is None:
                continue
            tried += 1
            if surface_kind == "changelist":
                model_admin = admin.site._registry[surface["model"]]
                request = client.get(url).wsgi_request
                pks = list(model_admin.get_queryset(request).values_list("pk", flat=True)[:5])
                actions = model_admin.get_actions(request) or {}
                for action in [*actions, "delete_selected"]:
                    client.post(url, {**POSTED, "action": action, "_selected_action": pks})
                    tried += 1
                continue
            response = client.post(url, POSTED)
            # A history page is read-only whatever the method (the dump below is the proof).
            writes = surface_kind in {"add", "change", "delete", "version", "custom"}
            if writes and response.status_code not in (403, 404, 405):
                problems.append((url, response.status_code))
            if dump() != before:
                problems.append((url, "changed the data"))
                before = dump()
    TRIED["monitor-post"] = tried
    assert problems == []
    assert dump() == before
    assert tried >= 100
    report("monitor-post")


def test_a_monitor_never_reads_an_address(client, world):
    """Every GET page of every surface (OCN and BER records), list, change, history,
    custom pages: no participant address, current or past."""
    client.force_login(world["users"]["monitor"])
    client.raise_request_exception = False
    emails = all_emails()
    assert len(emails) >= 6
    problems, opened = [], 0
    for surface in admin_surfaces():
        if surface["name"] in {"logout", "autocomplete"} or surface["name"].startswith(
            "two_factor"
        ):
            continue
        for code in ("OCN", "BER"):
            url = fill(surface, code)
            if url is None:
                continue
            TRIED["monitor-get"] += 1
            response = client.get(url)
            opened += response.status_code == 200
            found = leaked(response.content.decode(errors="replace"), emails)
            if found:
                problems.append((url, found))
    assert problems == []
    assert opened >= 60
    # Someone who may change the participant does see the address (the check can fail).
    coordinator = world["users"]["coordinator-ocn"]
    client.force_login(coordinator)
    first = world["people"]["OCN"][0]
    page = client.get(reverse("admin:participants_participant_change", args=[first.pk]))
    assert "ocn-corrected@example.org" in page.text
    report("monitor-get")


# ---------------------------------------------------------------------------------------------
# The participant link pages


def test_a_reminder_link_acts_on_its_own_reminder_only(client, world):
    """Cross-check (tests/test_reminder_links.py has the rest): a BER participant's stop link
    stops that participant's reminders, and no one else's."""
    ber_participant = world["people"]["BER"][0]
    reminder = (
        ber_participant.visits.filter(reminders__isnull=False)
        .first()
        .reminders.order_by("pk")
        .first()
    )
    others = {p.pk: p.reminders_enabled for p in Participant.objects.exclude(pk=ber_participant.pk)}
    before = dump()
    response = client.post(link_path(reminder, "stop"))
    assert response.status_code == 200
    ber_participant.refresh_from_db()
    assert ber_participant.reminders_enabled is False
    assert {
        p.pk: p.reminders_enabled for p in Participant.objects.exclude(pk=ber_participant.pk)
    } == others
    after = dump()
    changed = {table for table in after if after[table] != before[table]}
    assert "participants_participant" in changed


def test_a_session_promoted_while_signed_in_reaches_no_admin_page_before_its_code(
    client, world, settings
):
    """Security issue 21 item 1, over every surface: a coordinator signed in with a password
    only (allowed for a coordinator) and then made a superuser reaches no admin page of any
    kind (lists, records, history, custom pages) until they set up an app: every GET sends
    them to the set-up page. The command-line half of the issue (a command does only what its
    --by user may do here) is tests/test_command_authors.py."""
    settings.REQUIRE_2FA = True
    coordinator = world["users"]["coordinator-ocn"]
    client.force_login(coordinator)
    assert client.get("/admin/").status_code == 200
    coordinator.is_superuser = True
    coordinator.save(update_fields=["is_superuser"])
    client.raise_request_exception = False
    setup = reverse("two_factor_setup")
    problems, tried = [], 0
    for surface in admin_surfaces():
        if surface["name"] in USER_PAGES or surface["name"].startswith("two_factor"):
            continue
        url = fill(surface, "BER")
        if url is None:
            continue
        tried += 1
        response = client.get(url)
        if response.status_code != 302 or not response.url.startswith(setup):
            problems.append((url, response.status_code))
    assert problems == []
    assert tried >= 100


def world_site(code):
    from participants.models import Site

    return Site.objects.get(code=code)


def test_a_site_manager_keeps_their_sites_capacity_but_not_the_shared_resources(client, world):
    """Decided in security issue 21: a resource (an apheresis slot, an infusion chair) is what
    the protocol's visit definitions occupy, shared by every site, so it is kept with the plan
    by administrators; a site manager reads the resources and sets their own site's capacity."""
    from participants.models import Resource, SiteCapacity

    manager = world["users"]["manager-ocn"]
    client.force_login(manager)
    client.raise_request_exception = False
    before = Resource.objects.count()
    assert client.get(reverse("admin:participants_resource_changelist")).status_code == 200
    assert client.get(reverse("admin:participants_resource_add")).status_code == 403
    response = client.post(
        reverse("admin:participants_resource_add"),
        {"name": "scanner", "plural": "", "change_reason": "new"},
    )
    assert response.status_code == 403
    assert Resource.objects.count() == before
    some = Resource.objects.first()
    assert (
        client.get(reverse("admin:participants_resource_change", args=[some.pk])).status_code == 200
    )  # read only
    ocn, ber = (
        SiteCapacity.objects.get_or_create(
            site=world_site(code), resource=some, defaults={"per_day": 2}
        )[0]
        for code in ("OCN", "BER")
    )
    # Capacity is kept on the site's page (an inline): their own site's, not another's.
    page = client.get(reverse("admin:participants_site_change", args=[ocn.site_id]))
    assert page.status_code == 200
    assert 'name="capacities-0-per_day"' in page.text
    page = client.get(reverse("admin:participants_site_change", args=[ber.site_id]))
    assert page.status_code in (403, 404)
