"""The audit trail is complete (issue 13, security 6): every change to clinical or configuration
data says who made it, when, what changed and why; transitions and sent reminders are never
changed by any surface.

Every model of the project's apps, and of django-celery-beat, is classified by how its
changes are recorded; a model nobody classified fails the first test, so a new model is
classified when it is added:

- ``HISTORY``: django-simple-history keeps every field, with ``history_user`` (who),
  ``history_date`` (when), the field values (what) and ``history_change_reason`` (why, kept
  whole). Sites and their clinic calendars (resources, capacity, closures), participants,
  visits (appointments and confirmations live on them), protocol plans (protocols, eligibility
  criteria and answers, phases, visit definitions, reminder rules), site memberships, the
  sites' calendar feeds (created and revoked, with why).
- ``APPEND_ONLY``: records that are added and never changed, naming their own who, when and
  what (transitions, which also say why; the contact log; a participant's use of a reminder
  link, whose who is the participant holding the signed link). No admin page changes or
  deletes them, and no service issues an UPDATE or a DELETE for them.
- ``OUTBOX``: reminders and coordinator digests, written by the schedule (created, re-timed,
  cancelled while pending) and by the dispatcher (attempts, ``sent_at``, the outcome). Staff
  change them through no page; a sent one is final.
- ``OPERATIONS``: no trial data. ``MailRelay`` is the dispatcher's last word on the mail
  set-up; ``StaffProfile`` is a staff user's own choice of language for the workspace. An
  ``ApiToken`` names who issued it, for whom, and who revoked it and when, in its own fields
  (its key is never stored); an ``IdempotencyRecord`` is the first answer to an API POST,
  kept to be replayed to a retry; the write it answers is recorded where that write is.
  django-celery-beat's models (``PeriodicTask`` and its schedules) are the operators'
  timetable for the dispatcher: pausing it delays reminders, but the reminders are durable rows
  and go out (or expire) when it runs again, and no participant or protocol data is in them. A
  change made in their admin pages is in Django's admin log (who, when, which fields), without
  a why; simple-history would need a historical model, that is, a migration, for a third-party
  model.

Then behaviour: for each tracked model, a change made through its page or service by a named
user with a reason leaves a history row with that user, the time, the changed field and the
reason. Where the product records no reason (or no user) the test is marked ``xfail(strict=True)``
with the missing piece named, so it starts failing, and is to be unmarked, when it is added.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from io import StringIO

import pytest
import time_machine
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib import admin
from django.core.management import call_command
from django.db import connection, models
from django.urls import reverse

from participants import eligibility
from participants.lifecycle import (
    confirm_eligibility,
    correct_transition,
    record_transition,
    set_reminders,
)
from participants.models import (
    ContactAttempt,
    EligibilityCriterion,
    Participant,
    Resource,
    Site,
    SiteCapacity,
    SiteClosure,
    SiteMembership,
    Transition,
)
from participants.sites import add_closure, remove_closure
from scheduling.exports.feeds import create_feed, revoke_feed
from scheduling.mail.dispatch import dispatch_due
from scheduling.models import (
    Audience,
    LinkAction,
    OutboxStatus,
    Phase,
    Reminder,
    ReminderRule,
    Visit,
    VisitDefinition,
)
from scheduling.replies.answers import answer_by_link, link_token
from scheduling.timeline.appointments import book_appointment, clear_booking
from scheduling.timeline.visits import record_visit
from tests.forms import form_data
from tests.smtp_server import smtp_server_fixture  # noqa: F401

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
CONSENT = datetime.date(2026, 1, 5)
NOW = datetime.datetime(2026, 1, 20, 20, 0, tzinfo=UTC)  # 12:00 in Oceanside
LEUK_REMINDER_DUE = datetime.datetime(2026, 2, 2, 17, 0, tzinfo=UTC)  # 09:00 in Oceanside

HISTORY = "history"
APPEND_ONLY = "append-only"
OUTBOX = "outbox"
OPERATIONS = "operations"

APPS = ("participants", "scheduling", "django_celery_beat")
CLASSIFICATION = {
    "participants.Protocol": HISTORY,
    "participants.EligibilityCriterion": HISTORY,
    "participants.Site": HISTORY,
    "participants.Resource": HISTORY,
    "participants.SiteCapacity": HISTORY,
    "participants.SiteClosure": HISTORY,
    "participants.Participant": HISTORY,
    "participants.SiteMembership": HISTORY,
    "participants.EligibilityAnswer": HISTORY,
    "participants.Transition": APPEND_ONLY,
    "participants.ContactAttempt": APPEND_ONLY,
    "participants.StaffProfile": OPERATIONS,
    "participants.ApiToken": OPERATIONS,
    "participants.IdempotencyRecord": OPERATIONS,
    "scheduling.ProtocolVersion": HISTORY,
    "scheduling.VersionActivation": APPEND_ONLY,
    "scheduling.VersionTakeUp": APPEND_ONLY,
    "scheduling.Phase": HISTORY,
    "scheduling.VisitDefinition": HISTORY,
    "scheduling.Visit": HISTORY,
    "scheduling.ReminderRule": HISTORY,
    "scheduling.ReminderLinkUse": APPEND_ONLY,
    "scheduling.Reminder": OUTBOX,
    "scheduling.SiteDigest": OUTBOX,
    "scheduling.MailRelay": OPERATIONS,
    "scheduling.DispatchHeartbeat": OPERATIONS,
    "scheduling.CalendarFeed": HISTORY,
    "django_celery_beat.PeriodicTask": OPERATIONS,
    "django_celery_beat.PeriodicTasks": OPERATIONS,
    "django_celery_beat.IntervalSchedule": OPERATIONS,
    "django_celery_beat.CrontabSchedule": OPERATIONS,
    "django_celery_beat.SolarSchedule": OPERATIONS,
    "django_celery_beat.ClockedSchedule": OPERATIONS,
}


@dataclass(frozen=True)
class OwnRecord:
    """Where an append-only record keeps its who, when, what (and why, if it has one)."""

    who: str
    who_model: str
    when: str
    what: tuple[str, ...]
    why: str | None = None


APPEND_ONLY_RECORDS = {
    "participants.Transition": OwnRecord(
        "recorded_by",
        settings.AUTH_USER_MODEL,
        "recorded_at",
        ("from_status", "to_status", "effective_date", "corrects", "recorded_via"),
        why="reason",
    ),
    "participants.ContactAttempt": OwnRecord(
        "recorded_by", settings.AUTH_USER_MODEL, "recorded_at", ("at", "channel", "outcome", "note")
    ),
    "scheduling.VersionActivation": OwnRecord(
        "activated_by",
        settings.AUTH_USER_MODEL,
        "recorded_at",
        ("version", "site", "activated_on"),
        why="reason",
    ),
    "scheduling.VersionTakeUp": OwnRecord(
        "recorded_by",
        settings.AUTH_USER_MODEL,
        "recorded_at",
        ("version", "previous", "since", "kind"),
        why="reason",
    ),
    # The participant, through the signed link of their own reminder (they have no login).
    "scheduling.ReminderLinkUse": OwnRecord(
        "reminder", "scheduling.Reminder", "used_at", ("action", "one_click")
    ),
}
ADDED_ONLY = {label for label, kind in CLASSIFICATION.items() if kind in (APPEND_ONLY, OUTBOX)}


def tracked_models() -> dict[type[models.Model], type[models.Model]]:
    """Each model simple-history tracks → its historical model."""
    tracked = {}
    for model in django_apps.get_models():
        attribute = getattr(model._meta, "simple_history_manager_attribute", None)
        if attribute:
            tracked[model] = getattr(model, attribute).model
    return tracked


def project_models() -> list[type[models.Model]]:
    """The models of the project's apps and django-celery-beat, history models left out (they
    are the record itself)."""
    historical = set(tracked_models().values())
    return [
        model
        for model in django_apps.get_models()
        if model._meta.app_label in APPS and model not in historical
    ]


def test_every_model_is_classified_by_how_its_changes_are_recorded():
    found = {model._meta.label for model in project_models()}
    unclassified = sorted(found - set(CLASSIFICATION))
    assert unclassified == [], (
        "Classify these models in tests/test_audit_trail.py (HISTORY with HistoricalRecords, "
        f"APPEND_ONLY, OUTBOX or OPERATIONS): {unclassified}"
    )
    assert sorted(set(CLASSIFICATION) - found) == []  # nothing classified that is gone


# Copies of another record's field, kept equal to it by the database, whose history is that
# record's: a visit's site is its participant's (a composite foreign key, ON UPDATE CASCADE).
DERIVED = {"scheduling.Visit": {"site_id"}}
# Fields left out of a history on purpose: a feed's last fetch is written by the subscribers'
# calendar clients (at most hourly), not a change anyone made.
NOT_KEPT = {"scheduling.CalendarFeed": {"last_fetched_at"}}


@pytest.mark.parametrize(
    "label", sorted(label for label, kind in CLASSIFICATION.items() if kind == HISTORY)
)
def test_a_tracked_model_keeps_every_field_with_who_when_and_why(label):
    model = django_apps.get_model(label)
    historical = tracked_models().get(model)
    assert historical is not None, f"{label} has no HistoricalRecords"
    kept = {field.attname for field in historical._meta.fields}
    fields = {field.attname for field in model._meta.concrete_fields}
    assert fields - kept == DERIVED.get(label, set()) | NOT_KEPT.get(label, set())
    assert {"history_user_id", "history_date", "history_change_reason", "history_type"} <= kept
    # Why is kept whole, not cut at 100 characters (a long withdrawal or override reason).
    assert isinstance(historical._meta.get_field("history_change_reason"), models.TextField)


def test_models_not_tracked_by_simple_history_are_classified_as_such():
    tracked = {model._meta.label for model in tracked_models()}
    history = {label for label, kind in CLASSIFICATION.items() if kind == HISTORY}
    assert {label for label in tracked if label.split(".")[0] in APPS} == history


def test_an_append_only_record_names_its_own_who_when_and_what():
    assert set(APPEND_ONLY_RECORDS) == {
        label for label, kind in CLASSIFICATION.items() if kind == APPEND_ONLY
    }
    for label, own in APPEND_ONLY_RECORDS.items():
        meta = django_apps.get_model(label)._meta
        who = meta.get_field(own.who)
        assert who.many_to_one and who.related_model._meta.label == (
            django_apps.get_model(own.who_model)._meta.label
        ), label
        assert isinstance(meta.get_field(own.when), models.DateTimeField), label
        for name in own.what:
            meta.get_field(name)
        if own.why:
            assert isinstance(meta.get_field(own.why), models.TextField), label


def test_no_admin_page_changes_or_deletes_a_record_that_is_only_added(rf, admin_user):
    """Even for the superuser, who holds every permission: the admin of an append-only or
    outbox model, and any inline of one on another page, neither changes nor deletes; history
    records have no admin page of their own."""
    request = rf.post("/")
    request.user = admin_user
    historical = set(tracked_models().values())
    checked = set()
    for model, model_admin in admin.site._registry.items():
        assert model not in historical, f"{model._meta.label} (a history record) has a page"
        if model._meta.label in ADDED_ONLY:
            checked.add(model._meta.label)
            assert not model_admin.has_change_permission(request), model
            assert not model_admin.has_delete_permission(request), model
            assert "delete_selected" not in model_admin.get_actions(request), model
        for inline_class in model_admin.inlines:
            if inline_class.model._meta.label in ADDED_ONLY:
                inline = inline_class(model, admin.site)
                checked.add(f"{inline_class.model._meta.label} inline")
                assert not inline.has_change_permission(request), inline_class
                assert not inline.has_delete_permission(request), inline_class
    assert {"participants.Transition", "scheduling.Reminder"} <= checked


# Transitions and sent reminders: a sent reminder and a participant's transitions at Oceanside.


@pytest.fixture
def records(make_participant, site_ocn, smtp_server, time_machine):
    """A participant at OCN with a transition besides consent, and their sent LEUK reminder."""
    ReminderRule.objects.filter(audience=Audience.COORDINATOR_DIGEST).update(active=False)
    time_machine.move_to(NOW, tick=False)
    participant = make_participant(consent_date=CONSENT)
    time_machine.move_to(LEUK_REMINDER_DUE, tick=False)
    dispatch_due()
    reminder = Reminder.objects.get(
        visit__participant=participant, visit__code="LEUK", rule__lead_days=7
    )
    assert reminder.status == OutboxStatus.SENT
    transition = record_transition(
        participant, "lost_to_follow_up", on=datetime.date(2026, 2, 1), reason="No answer"
    )
    return {"transition": transition, "sent reminder": reminder}


def row(record) -> dict:
    return type(record).objects.filter(pk=record.pk).values().get()


ROLES = ["coordinator-ocn", "investigator-ocn", "manager-ocn", "monitor", "superuser"]


@pytest.mark.parametrize("record_name", ["transition", "sent reminder"])
@pytest.mark.parametrize("username", ROLES)
def test_no_role_changes_or_deletes_a_transition_or_a_sent_reminder_in_the_admin(
    client, staff, admin_user, records, username, record_name
):
    record = records[record_name]
    before = row(record)
    client.force_login(admin_user if username == "superuser" else staff[username])
    info = (record._meta.app_label, record._meta.model_name)
    change = reverse("admin:{}_{}_change".format(*info), args=[record.pk])
    assert client.get(change).status_code == 200  # readable: it is the record
    tampered = {
        **{key: str(value) for key, value in before.items() if value is not None},
        "reason": "edited afterwards",
        "effective_date": "2026-01-31",
        "status": OutboxStatus.PENDING,
        "sent_at": "",
        "_save": "Save",
    }
    assert client.post(change, tampered).status_code == 403
    delete = reverse("admin:{}_{}_delete".format(*info), args=[record.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    version = change.removesuffix("change/") + "history/1/"  # simple-history's revert page
    assert client.post(version, tampered).status_code in (403, 404)
    changelist = reverse("admin:{}_{}_changelist".format(*info))
    response = client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": [record.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302, 403)
    assert row(record) == before


def test_the_participant_page_cannot_edit_a_transition_through_its_inline(client, staff, records):
    transition = records["transition"]
    before = row(transition)
    client.force_login(staff["coordinator-ocn"])
    page = reverse("admin:participants_participant_change", args=[transition.participant_id])
    data = form_data(client.get(page))
    data.update(
        {
            "transitions-TOTAL_FORMS": "2",
            "transitions-INITIAL_FORMS": "2",
            "transitions-1-id": str(transition.pk),
            "transitions-1-participant": str(transition.participant_id),
            "transitions-1-reason": "edited afterwards",
            "transitions-1-effective_date": "2026-01-31",
            "transitions-1-DELETE": "on",
            "email": "another@example.org",
            "change_reason": "New address",
        }
    )
    response = client.post(page, data)
    assert response.status_code in (302, 403)
    assert row(transition) == before
    assert Transition.objects.filter(pk=transition.pk).exists()


def test_a_correction_is_a_new_record_and_the_corrected_one_stays_as_it_was(
    make_participant, admin_user
):
    with time_machine.travel(NOW, tick=False):
        participant = make_participant(consent_date=CONSENT)
        withdrawal = record_transition(
            participant, "withdrawn", on=datetime.date(2026, 1, 19), reason="Moved away"
        )
        before = row(withdrawal)
        correction = correct_transition(
            withdrawal, on=datetime.date(2026, 1, 18), reason="Date misread", by=admin_user
        )
    assert row(withdrawal) == before
    assert (correction.corrects, correction.effective_date, correction.reason) == (
        withdrawal,
        datetime.date(2026, 1, 18),
        "Date misread",
    )
    assert (correction.recorded_by, correction.recorded_at) == (admin_user, NOW)


class StatementLog:
    """Every SQL statement run on the default connection while installed."""

    def __init__(self):
        self.statements: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        self.statements.append(sql)
        return execute(sql, params, many, context)

    def changing(self, table: str) -> list[str]:
        quoted = f'"{table}"'
        return [
            sql
            for sql in self.statements
            if sql.lstrip().upper().startswith(("UPDATE", "DELETE")) and quoted in sql.split()[1:3]
        ]


def test_no_service_updates_or_deletes_an_added_record_or_the_history(
    make_participant, staff, site_ocn, smtp_server, time_machine, client
):
    """A participant's whole life through the services and link pages, with a sent reminder
    along the way: no UPDATE or DELETE ever reaches a transition, a contact attempt, a link
    use or a history table, and the sent reminder stays exactly as it was sent."""
    ReminderRule.objects.filter(audience=Audience.COORDINATOR_DIGEST).update(active=False)
    coordinator, investigator = staff["coordinator-ocn"], staff["investigator-ocn"]
    time_machine.move_to(NOW, tick=False)
    participant = make_participant(consent_date=CONSENT, by=coordinator)
    time_machine.move_to(LEUK_REMINDER_DUE, tick=False)
    dispatch_due()
    sent = Reminder.objects.get(visit__participant=participant, status=OutboxStatus.SENT)
    sent_row = row(sent)
    log = StatementLog()
    with connection.execute_wrapper(log):
        time_machine.move_to(LEUK_REMINDER_DUE + datetime.timedelta(hours=2), tick=False)
        answer_by_link(link_token(sent, LinkAction.CONFIRM), LinkAction.CONFIRM)
        answer_by_link(link_token(sent, LinkAction.STOP), LinkAction.STOP)
        set_reminders(participant, True, reason="Asked to have them back", by=coordinator)
        ContactAttempt.objects.create(
            participant=participant, channel="phone", outcome="reached", recorded_by=coordinator
        )
        leuk = Visit.objects.get(participant=participant, code="LEUK")
        book_appointment(leuk, on=datetime.date(2026, 2, 10), by=coordinator)
        clear_booking(leuk, by=coordinator)
        closure = add_closure(
            site_ocn, start=datetime.date(2026, 2, 9), reason="inspection", by=coordinator
        )
        remove_closure(closure, by=coordinator)
        record_visit(participant, "LEUK", on=datetime.date(2026, 2, 2), by=coordinator)
        answers = {
            c.pk: c.qualifying_answer
            for c in EligibilityCriterion.objects.filter(protocol=participant.protocol)
        }
        eligibility.answer_criteria(participant, answers, by=investigator)
        confirm_eligibility(participant, on=datetime.date(2026, 2, 2), by=investigator)
        treatment = record_transition(
            participant, "treatment", on=datetime.date(2026, 2, 2), by=coordinator
        )
        correct_transition(
            treatment, on=datetime.date(2026, 2, 2), reason="Re-checked", by=coordinator
        )
        record_transition(
            participant, "withdrawn", on=datetime.date(2026, 2, 2), reason="Moved", by=coordinator
        )
        time_machine.move_to(datetime.datetime(2026, 2, 9, 17, tzinfo=UTC), tick=False)
        dispatch_due()
    added_only = [
        django_apps.get_model(label)._meta.db_table
        for label, kind in CLASSIFICATION.items()
        if kind == APPEND_ONLY
    ]
    history_tables = [historical._meta.db_table for historical in tracked_models().values()]
    assert {table: log.changing(table) for table in added_only + history_tables} == {
        table: [] for table in added_only + history_tables
    }
    # The log sees the updates that are allowed: a pending reminder sent, a visit moved.
    assert log.changing(Reminder._meta.db_table) and log.changing(Visit._meta.db_table)
    assert row(sent) == sent_row


# Each tracked model: a change by a named user with a reason, through the page or service
# staff use for it.


@dataclass
class Change:
    record: models.Model
    field: str
    user: object
    reason: str
    before: object = None  # the field's value before the change


def save_page(client, url: str, changes: dict, reason: str) -> None:
    """Save an admin page as a browser does: the form as shown, ``changes`` made, ``reason``
    given where the page asks for one (its reason for change)."""
    page = client.get(url)
    data = form_data(page)
    data.update(changes)
    if 'name="change_reason"' in page.text:
        data["change_reason"] = reason
    response = client.post(url, data)
    errors = response.context and response.context.get("errors")
    assert response.status_code == 302, errors


def inline_key(data: dict, prefix: str, pk: int, field: str) -> str:
    for key, value in data.items():
        if key.startswith(prefix + "-") and key.endswith("-id") and value == str(pk):
            return key.removesuffix("-id") + "-" + field
    raise AssertionError(f"no {prefix} row for id {pk}")


def page_of(client, url: str) -> dict:
    return form_data(client.get(url))


def change_site(ctx) -> Change:
    user = ctx.login("manager-ocn")
    site = ctx.participant.site
    url = reverse("admin:participants_site_change", args=[site.pk])
    save_page(ctx.client, url, {"phone": "+1 555 0199"}, "The clinic has a new number")
    return Change(site, "phone", user, "The clinic has a new number")


def change_capacity(ctx) -> Change:
    user = ctx.login("manager-ocn")
    site = ctx.participant.site
    chair = Resource.objects.get(name="infusion chair")
    capacity = SiteCapacity.objects.create(site=site, resource=chair, per_day=2)
    url = reverse("admin:participants_site_change", args=[site.pk])
    key = inline_key(page_of(ctx.client, url), "capacities", capacity.pk, "per_day")
    save_page(ctx.client, url, {key: "3"}, "A third chair was delivered")
    return Change(capacity, "per_day", user, "A third chair was delivered")


def change_closure(ctx) -> Change:
    user = ctx.login("coordinator-ocn")
    closure = add_closure(
        ctx.participant.site, start=datetime.date(2026, 3, 2), reason="inspection", by=user
    )
    url = reverse("admin:participants_siteclosure_change", args=[closure.pk])
    save_page(ctx.client, url, {"end": "2026-03-03"}, "The inspection takes two days")
    return Change(closure, "end", user, "The inspection takes two days")


def change_participant(ctx) -> Change:
    user = ctx.login("coordinator-ocn")
    url = reverse("admin:participants_participant_change", args=[ctx.participant.pk])
    save_page(ctx.client, url, {"email": "new-address@example.org"}, "Gave a new address")
    return Change(ctx.participant, "email", user, "Gave a new address")


def change_answer(ctx) -> Change:
    user = ctx.login("investigator-ocn")
    criterion = EligibilityCriterion.objects.filter(protocol=ctx.participant.protocol).first()
    url = reverse("admin:participant_eligibility", args=[ctx.participant.pk])
    ctx.client.post(url, {f"criterion-{criterion.pk}": "yes"})
    reason = "Source documents re-read"
    ctx.client.post(url, {f"criterion-{criterion.pk}": "no", "note": reason})
    answer = ctx.participant.eligibility_answers.get(criterion=criterion)
    assert answer.answer == "no"
    return Change(answer, "answer", user, reason)


def change_visit(ctx) -> Change:
    user = ctx.login("coordinator-ocn")
    visit = Visit.objects.get(participant=ctx.participant, code="SCR")
    url = reverse("admin:participant_visit", args=[ctx.participant.pk, visit.pk])
    reason = "Recorded late: paper source"
    ctx.client.post(url, {"actual_date": "2026-01-06", "booked_time": "", "reason": reason})
    visit.refresh_from_db()
    assert visit.actual_date == datetime.date(2026, 1, 6)
    return Change(visit, "actual_date", user, reason)


def change_membership(ctx) -> Change:
    user = ctx.login("superuser")
    membership = SiteMembership.objects.get(user=ctx.staff["coordinator-ber"], site__code="BER")
    url = reverse("admin:participants_sitemembership_change", args=[membership.pk])
    reason = "Covers Oceanside from March"
    save_page(ctx.client, url, {"site": str(ctx.participant.site.pk)}, reason)
    return Change(membership, "site", user, reason)


def change_resource(ctx) -> Change:
    user = ctx.login("superuser")
    chair = Resource.objects.get(name="infusion chair")
    url = reverse("admin:participants_resource_change", args=[chair.pk])
    save_page(ctx.client, url, {"plural": "infusion recliners"}, "Renamed after the refit")
    return Change(chair, "plural", user, "Renamed after the refit", before=chair.plural)


def change_protocol(ctx) -> Change:
    user = ctx.login("superuser")
    protocol = ctx.participant.protocol
    url = reverse("admin:participants_protocol_change", args=[protocol.pk])
    save_page(ctx.client, url, {"earliest_date": "2025-12-01"}, "Study opened on 1 December")
    return Change(protocol, "earliest_date", user, "Study opened on 1 December", before=None)


def change_trial_phase(ctx) -> Change:
    """The trial phase (CDISC's, not a phase of the plan) is a protocol field like the others."""
    user = ctx.login("superuser")
    protocol = ctx.participant.protocol
    before = protocol.trial_phase
    url = reverse("admin:participants_protocol_change", args=[protocol.pk])
    save_page(ctx.client, url, {"trial_phase": "PHASE IIB TRIAL"}, "Sponsor: Phase IIb part")
    protocol.refresh_from_db()
    assert protocol.trial_phase == "PHASE IIB TRIAL"
    return Change(protocol, "trial_phase", user, "Sponsor: Phase IIb part", before=before)


def change_criterion(ctx) -> Change:
    user = ctx.login("superuser")
    protocol = ctx.participant.protocol
    criterion = protocol.criteria.first()
    url = reverse("admin:participants_protocol_change", args=[protocol.pk])
    key = inline_key(page_of(ctx.client, url), "criteria", criterion.pk, "text")
    save_page(ctx.client, url, {key: "Reworded: " + criterion.text}, "Amendment 3 wording")
    return Change(criterion, "text", user, "Amendment 3 wording", before=criterion.text)


def draft_of(ctx, user):
    """A new draft version of the participant's protocol, where its plan is edited."""
    from scheduling.timeline import versions

    draft = versions.new_draft(ctx.participant.protocol, by=user)
    return draft, reverse("admin:scheduling_protocolversion_change", args=[draft.pk])


def change_phase(ctx) -> Change:
    user = ctx.login("superuser")
    draft, url = draft_of(ctx, user)
    phase = Phase.objects.get(version=draft, code="screening")
    key = inline_key(page_of(ctx.client, url), "phases", phase.pk, "length")
    save_page(ctx.client, url, {key: "9"}, "Amendment 2: nine weeks of screening")
    return Change(phase, "length", user, "Amendment 2: nine weeks of screening", before=8)


def change_visit_definition(ctx) -> Change:
    user = ctx.login("superuser")
    draft, url = draft_of(ctx, user)
    leuk = VisitDefinition.objects.get(version=draft, code="LEUK")
    key = inline_key(page_of(ctx.client, url), "visit_definitions", leuk.pk, "window_after")
    save_page(ctx.client, url, {key: "10"}, "Amendment 2: wider apheresis window")
    return Change(leuk, "window_after", user, "Amendment 2: wider apheresis window", before=7)


def change_reminder_rule(ctx) -> Change:
    user = ctx.login("superuser")
    draft, url = draft_of(ctx, user)
    rule = draft.reminder_rules.get(audience=Audience.PARTICIPANT, lead_days=7)
    key = inline_key(page_of(ctx.client, url), "reminder_rules", rule.pk, "local_time")
    save_page(ctx.client, url, {key: "10:30:00"}, "Participants asked for later reminders")
    return Change(
        rule, "local_time", user, "Participants asked for later reminders", datetime.time(9)
    )


def change_protocol_version(ctx) -> Change:
    user = ctx.login("superuser")
    draft, url = draft_of(ctx, user)
    save_page(ctx.client, url, {"note": "Amendment 2"}, "Named after the amendment")
    return Change(draft, "note", user, "Named after the amendment", before="")


def change_calendar_feed(ctx) -> Change:
    user = ctx.login("coordinator-ocn")
    feed, _secret = create_feed(ctx.participant.site, label="Front desk", by=user)
    revoke_feed(feed, by=user, reason="The front desk's laptop was lost")
    feed.refresh_from_db()
    return Change(feed, "revoked_at", user, "The front desk's laptop was lost", before=None)


def no_reason_asked(piece: str):
    return pytest.mark.xfail(strict=True, raises=AssertionError, reason=f"no why recorded: {piece}")


CHANGES = [
    pytest.param("participants.Site", change_site, id="site"),
    pytest.param("participants.SiteCapacity", change_capacity, id="capacity"),
    pytest.param("participants.SiteClosure", change_closure, id="closure"),
    pytest.param("participants.Participant", change_participant, id="participant"),
    pytest.param("participants.EligibilityAnswer", change_answer, id="eligibility-answer"),
    pytest.param("scheduling.Visit", change_visit, id="visit"),
    pytest.param("scheduling.Phase", change_phase, id="phase"),
    pytest.param("scheduling.VisitDefinition", change_visit_definition, id="visit-definition"),
    pytest.param(
        "participants.SiteMembership",
        change_membership,
        id="membership",
    ),
    pytest.param(
        "participants.Resource",
        change_resource,
        id="resource",
    ),
    pytest.param(
        "participants.Protocol",
        change_protocol,
        id="protocol",
    ),
    pytest.param("participants.Protocol", change_trial_phase, id="protocol-trial-phase"),
    pytest.param(
        "participants.EligibilityCriterion",
        change_criterion,
        id="eligibility-criterion",
    ),
    pytest.param(
        "scheduling.ReminderRule",
        change_reminder_rule,
        id="reminder-rule",
    ),
    pytest.param(
        "scheduling.ProtocolVersion",
        change_protocol_version,
        id="protocol-version",
    ),
    pytest.param("scheduling.CalendarFeed", change_calendar_feed, id="calendar-feed"),
]


class Context:
    def __init__(self, client, staff, admin_user, participant):
        self.client, self.staff, self.admin_user = client, staff, admin_user
        self.participant = participant

    def login(self, username):
        user = self.admin_user if username == "superuser" else self.staff[username]
        self.client.force_login(user)
        return user


def test_every_tracked_model_has_a_change_below():
    covered = {param.values[0] for param in CHANGES}
    assert covered == {label for label, kind in CLASSIFICATION.items() if kind == HISTORY}


def history_row_of(change: Change):
    """The newest history row of the record in which ``change.field`` took a new value: its
    value differs from the row before (or, for the first row of a record that had none, such
    as a plan loaded by a migration, from ``change.before``)."""
    rows = list(change.record.history.order_by("-history_id"))  # as written
    attname = change.record._meta.get_field(change.field).attname
    for newer, older in zip(rows, rows[1:] + [None], strict=True):
        before = getattr(older, attname) if older is not None else change.before
        if getattr(newer, attname) != before:
            return newer
    raise AssertionError(f"no history row changes {change.field}: {rows}")


@pytest.mark.parametrize(("label", "make_change"), CHANGES)
def test_a_change_by_a_named_user_with_a_reason_is_in_the_history(
    label, make_change, client, staff, admin_user, make_participant, site_ocn
):
    with time_machine.travel(NOW, tick=False):
        participant = make_participant(consent_date=CONSENT)
        change = make_change(Context(client, staff, admin_user, participant))
    assert change.record._meta.label == label
    record = history_row_of(change)
    assert record.history_user == change.user
    assert record.history_date == NOW
    assert change.reason in (record.history_change_reason or "")


# The staff commands name who makes a change with --by (required): the history rows of what
# the command changed, and the transitions it records, name that user.


def run_command(*args, by: str = "coordinator-ocn") -> None:
    call_command(*args, "--by", by, stdout=StringIO(), stderr=StringIO())


def newest(history):
    """The newest row of a history (by id: a fixture may have been written at another time)."""
    return history.order_by("-history_id").first()


def withdraw_on_the_command_line(participant, tmp_path) -> list:
    run_command(
        "transition", participant.subject_id, "withdrawn", "--on", "2026-01-19",
        "--reason", "Moved away",
    )  # fmt: skip
    transition = participant.transitions.order_by("id").last()
    assert transition.recorded_via == "command line"
    cancelled = Visit.objects.filter(participant=participant, cancelled=True).first()
    return [
        transition.recorded_by,
        newest(participant.history).history_user,
        newest(cancelled.history).history_user,
    ]


def record_a_visit_on_the_command_line(participant, tmp_path) -> list:
    run_command("record_visit", participant.subject_id, "SCR", "--on", "2026-01-06")
    scr = Visit.objects.get(participant=participant, code="SCR")
    return [newest(scr.history).history_user]


def book_a_visit_on_the_command_line(participant, tmp_path) -> list:
    leuk = Visit.objects.get(participant=participant, code="LEUK")
    run_command("book_visit", participant.subject_id, "LEUK", "--on", "2026-02-10")
    booked = newest(leuk.history).history_user
    run_command("book_visit", participant.subject_id, "LEUK", "--clear")
    return [booked, newest(leuk.history).history_user]


def close_a_site_on_the_command_line(participant, tmp_path) -> list:
    run_command("close_site", "OCN", "--from", "2026-02-09", "--reason", "inspection")
    closure = SiteClosure.objects.get(site=participant.site)
    return [newest(closure.history).history_user]


def import_sites_on_the_command_line(participant, tmp_path) -> list:
    path = tmp_path / "sites.csv"
    path.write_text(
        "code,name,timezone,coordinator_email,open_days\n"
        "OCN,Oceanside,America/Los_Angeles,ocn@example.org,Tue-Sat\n"
    )
    # A site's details are its site manager's to change (a coordinator's --by is refused:
    # tests/test_command_authors.py).
    run_command("import_sites", str(path), by="manager-ocn")
    # OCN is now closed on Sundays and Mondays: its participants' appointments are placed again.
    replaced = newest(Visit.history.filter(participant_id=participant.pk))
    assert "calendar imported (command line)" in replaced.history_change_reason
    return [
        newest(Site.objects.get(code="OCN").history).history_user,
        replaced.history_user,
    ]


def import_participants_on_the_command_line(participant, tmp_path) -> list:
    path = tmp_path / "people.csv"
    path.write_text(
        "subject_id,site_code,email,consent_date\nSLE-001-101-900,OCN,p@example.org,2026-01-12\n"
    )
    run_command("import_participants", str(path))
    imported = Participant.objects.get(subject_id="SLE-001-101-900")
    return [
        newest(imported.history).history_user,
        imported.transitions.get().recorded_by,
        *{newest(visit.history).history_user for visit in imported.visits.all()},
    ]


COMMAND_CHANGES = [
    withdraw_on_the_command_line,
    record_a_visit_on_the_command_line,
    book_a_visit_on_the_command_line,
    close_a_site_on_the_command_line,
    import_sites_on_the_command_line,
    import_participants_on_the_command_line,
]


@pytest.mark.parametrize("change", COMMAND_CHANGES, ids=lambda change: change.__name__)
def test_a_change_on_the_command_line_names_who_made_it(make_participant, staff, tmp_path, change):
    with time_machine.travel(NOW, tick=False):
        participant = make_participant(consent_date=CONSENT)
        users = change(participant, tmp_path)
    by = "manager-ocn" if change is import_sites_on_the_command_line else "coordinator-ocn"
    assert users == [staff[by]] * len(users)


def test_visits_moved_by_a_closure_say_which_closure_moved_them(
    client, staff, make_participant, site_ocn
):
    with time_machine.travel(NOW, tick=False):
        participant = make_participant(consent_date=CONSENT)
        leuk = Visit.objects.get(participant=participant, code="LEUK")
        coordinator = staff["coordinator-ocn"]
        add_closure(
            site_ocn,
            start=leuk.appointment_date,
            reason="sponsor inspection",
            by=coordinator,
            via="command line",
        )
    leuk.refresh_from_db()
    moved = history_row_of(Change(leuk, "appointment_date", coordinator, ""))
    assert "sponsor inspection" in (moved.history_change_reason or "")
    assert moved.history_user == coordinator
