"""Logs carry no personal data (issue 13, security 5), even at DEBUG.

An operator who sets ``LOG_LEVEL=DEBUG`` gets the product's logging configuration
(``trialsite/settings.py``, read again here with that variable) with every logger at DEBUG,
including Django's SQL logger, with DEBUG on as in ``make demo``. Through that, a whole working
day of the product runs: an import of participants (and one refused), the reminder dispatch
over a loopback SMTP server with a relay fault that quotes an address, a refused mailbox, a
451 and a success (once through the Celery task), the coordinator digests, the participant's
link pages (shown, used, used again, tampered, expired, a one-click unsubscribe, a refused
message), a booking with an override reason, staff recording a participant's answer, and a
withdrawal with a reason. Every record reaching the root logger (a handler of our own, and
pytest's caplog) is read whole: its formatted message, its arguments, its exception text and
stack, and any extra attribute a structured formatter could print.

What counts as personal data here: participants' email addresses (the import's refused one
too), their subject ids (pseudonymous, but pseudonymised data is still personal data, GDPR
recital 26: a log reader must not learn which participant did what; logs name rows by their
database id), staff's names and addresses, the coordinator's address, and any free text typed
by a participant or by staff (a reschedule message, an override reason, a withdrawal reason, a
note), which may hold names and phone numbers. Each is planted below as a distinctive string.

Django logs SQL at DEBUG with the queries' parameters (the addresses, the reasons), so the
product keeps ``django.db.backends`` at INFO unless ``SQL_DEBUG`` asks for it by name; the
second test shows that it would leak otherwise, and that the scanner finds a planted address
wherever a record carries it.

Not scanned: aiosmtpd's ``mail.log``, the loopback server's own log. It stands in for the
mail relay, a different machine whose logs are not the product's (it logs every RCPT).
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import runpy
import traceback
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

import trialsite.settings as product_settings
from participants import roles
from participants.cli import InputError
from participants.models import Participant, Site, SiteMembership
from scheduling import tasks
from scheduling.mail.dispatch import dispatch_due
from scheduling.models import Confirmation, OutboxStatus, Reminder, SiteDigest, Visit
from scheduling.replies.answers import link_path, set_confirmation
from scheduling.timeline.appointments import book_appointment
from tests.forms import form_data
from tests.smtp_server import smtp_server_fixture  # noqa: F401

UTC = datetime.UTC
VISIT = datetime.date(2026, 3, 11)  # a Wednesday; Berlin on CET (UTC+1)
CONSENT = VISIT - datetime.timedelta(days=35)  # SLE-001's LEUK is 35 days after consent
DUE = datetime.datetime(2026, 3, 4, 8, tzinfo=UTC)  # the 7-day reminders: 09:00 in Berlin

# Participants of the import, by what the mail server does with their reminder.
DELIVERED = ("SLE-001-102-001", "anna.schmidt@example.org")
REFUSED = ("SLE-001-102-002", "bernd.bounce@example.net")  # 550 5.1.1: fails for good
GREYLISTED = ("SLE-001-102-003", "clara.grey@example.com")  # 451 twice, then delivered
NOT_IMPORTED = ("SLE-001-102-009", "zoe.mistyped@@example.org")  # the refused import's row
COORDINATOR = "koordination.ber@klinik.example"
STAFF = {"first_name": "Hanna", "last_name": "Koch", "email": "hanna.koch@klinik.example"}

# Free text typed by the participant or by staff, each with a name, a phone number or both.
RESCHEDULE_MESSAGE = (
    "Please call my daughter Erika Mustermann on +49 30 5550123 or write to "
    "erika.private@example.de"
)
STAFF_MESSAGE = "Her son Jonas Weber phoned, he can drive her only on Fridays"
STAFF_NOTE = "spoke with Jonas Weber on +49 170 5550456"
OVERRIDE_REASON = "Anna flies to Lisbon for her sister Marta Quintela's wedding, +351 210 555 777"
WITHDRAWAL_REASON = "Moved to Hamburg to care for her husband Dieter Bounce-Lehmann"
UNPRINTABLE_MESSAGE = "Call Ottilie Brandt\x00 on +49 30 5550789"  # refused: a control character
NEW_ADDRESS = "anna.schmidt.neu@example.org"
ADDRESS_REASON = "New address given by her neighbour Petra Lindqvist"
SCREEN_FAILURE_REASON = "Her GP Dr. Friedrich Albers reported a kidney finding"

PERSONAL = [
    *DELIVERED,
    *REFUSED,
    *GREYLISTED,
    *NOT_IMPORTED,
    COORDINATOR,
    *STAFF.values(),
    "Erika Mustermann",
    "5550123",
    "erika.private@example.de",
    "Jonas Weber",
    "5550456",
    "Marta Quintela",
    "555 777",
    "Lisbon",
    "Dieter Bounce-Lehmann",
    "Ottilie Brandt",
    "5550789",
    NEW_ADDRESS,
    "Petra Lindqvist",
    "Friedrich Albers",
]

# A record's own attributes; anything else on it was passed as ``extra`` and a structured
# (JSON) formatter would print it.
STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
MAIL_SERVER_LOG = "mail.log"  # aiosmtpd: the loopback relay's log, not the product's


def record_text(record: logging.LogRecord) -> str:
    """All a log line could show of ``record``: message, arguments, exception, stack, extras."""
    parts = [str(record.msg), repr(record.args)]
    try:
        parts.append(record.getMessage())
    except Exception as error:  # a bad format string is still a line someone reads
        parts.append(repr(error))
    if record.exc_info:
        parts.append("".join(traceback.format_exception(*record.exc_info)))
    parts += [record.exc_text or "", record.stack_info or ""]
    parts += [
        f"{name}={value!r}"
        for name, value in vars(record).items()
        if name not in STANDARD_ATTRIBUTES
    ]
    return "\n".join(parts)


def personal_data_in(records, needles=PERSONAL) -> list[tuple[str, str, str]]:
    """(logger, needle, message) for every record that shows a needle (case-insensitively)."""
    found = []
    for record in records:
        if record.name == MAIL_SERVER_LOG or record.name.startswith(MAIL_SERVER_LOG + "."):
            continue
        text = record_text(record).casefold()
        found += [
            (record.name, needle, record.getMessage()[:300])
            for needle in needles
            if needle.casefold() in text
        ]
    return found


class Everything(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def product_logging(monkeypatch, **environment) -> dict:
    """``LOGGING`` as trialsite/settings.py builds it from the environment given (the process
    environment otherwise), read by running the settings file again."""
    for name, value in environment.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    return runpy.run_path(product_settings.__file__)["LOGGING"]


@contextlib.contextmanager
def every_logger_at_debug(config: dict, handler: logging.Handler):
    """Every logger at DEBUG (root included), except where the product's ``config`` sets a
    logger's level itself; ``handler`` sees every record: on the root, and on each logger that
    does not propagate. Levels, propagation and handlers are put back afterwards."""
    manager = logging.root.manager
    loggers = [logging.root] + [
        logger for logger in manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    saved = [(logger, logger.level, logger.propagate, logger.disabled) for logger in loggers]
    configured = config.get("loggers", {})
    for logger in loggers:
        if logger.name == MAIL_SERVER_LOG:
            continue
        logger.disabled = False
        logger.setLevel(logging.DEBUG)
    logging.root.setLevel(config["root"]["level"])
    for name, spec in configured.items():
        logger = logging.getLogger(name)
        logger.setLevel(spec.get("level", logging.NOTSET))
        logger.propagate = spec.get("propagate", True)
    attached = [logging.root] + [logger for logger in loggers if not logger.propagate]
    for logger in attached:
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger in attached:
            logger.removeHandler(handler)
        for logger, level, propagate, disabled in saved:
            logger.setLevel(level)
            logger.propagate = propagate
            logger.disabled = disabled


def write_csv(tmp_path, name: str, rows) -> str:
    path = tmp_path / name
    lines = ["subject_id,site_code,email,consent_date"]
    lines += [f"{subject_id},BER,{email},{CONSENT.isoformat()}" for subject_id, email in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def reminder_of(subject_id: str) -> Reminder:
    return Reminder.objects.get(
        visit__participant__subject_id=subject_id, visit__code="LEUK", rule__lead_days=7
    )


def run_a_working_day(tmp_path, smtp_server, time_machine) -> None:
    """Import, reminders with failures, digests, link pages, a booking, staff answers and a
    withdrawal: the product's paths that handle participants' data, as in production."""
    from tests.factories import SiteFactory

    SiteFactory(code="BER", name="Berlin", timezone="Europe/Berlin", coordinator_email=COORDINATOR)
    staff = get_user_model().objects.create_user(username="hkoch", is_staff=True, **STAFF)
    # A coordinator of BER: the commands below do only what she may do in the admin.
    roles.ensure_roles()
    staff.groups.add(Group.objects.get(name=roles.COORDINATOR))
    SiteMembership.objects.create(user=staff, site=Site.objects.get(code="BER"))

    # The import, on the consent day: one file refused (a mistyped address), one taken.
    time_machine.move_to(datetime.datetime.combine(CONSENT, datetime.time(12), UTC), tick=False)
    with pytest.raises(InputError):
        call_command(
            "import_participants",
            write_csv(tmp_path, "refused.csv", [NOT_IMPORTED, DELIVERED]),
            "--by",
            staff.username,
            stdout=StringIO(),
            stderr=StringIO(),
        )
    call_command(
        "import_participants",
        write_csv(tmp_path, "people.csv", [DELIVERED, REFUSED, GREYLISTED]),
        "--by",
        staff.username,
        stdout=StringIO(),
        stderr=StringIO(),
    )

    # The 7-day reminders, due at 09:00 in Berlin (the day's digest, due at 07:00, too).
    refusals = smtp_server.handler.refuse_address
    refusals[DELIVERED[1]] = f"554 5.7.1 <{DELIVERED[1]}>: Relay access denied"  # the relay's
    refusals[REFUSED[1]] = f"550 5.1.1 <{REFUSED[1]}>: Recipient address rejected: User unknown"
    refusals[GREYLISTED[1]] = f"451 4.7.1 <{GREYLISTED[1]}>: Greylisted, try again later"
    time_machine.move_to(DUE, tick=False)
    dispatch_due()
    del refusals[DELIVERED[1]]
    time_machine.move_to(DUE + datetime.timedelta(minutes=40), tick=False)
    tasks.dispatch_due_reminders.apply()  # the way beat runs it: Celery logs the task too
    time_machine.move_to(DUE + datetime.timedelta(minutes=80), tick=False)
    dispatch_due()
    del refusals[GREYLISTED[1]]
    time_machine.move_to(DUE + datetime.timedelta(hours=3), tick=False)
    dispatch_due()
    assert [reminder_of(s).status for s, _ in (DELIVERED, REFUSED, GREYLISTED)] == [
        OutboxStatus.SENT,
        OutboxStatus.FAILED,
        OutboxStatus.SENT,
    ]

    # The participants answer through their reminders' links.
    browser = Client()
    delivered, greylisted = reminder_of(DELIVERED[0]), reminder_of(GREYLISTED[0])
    confirm = link_path(delivered, "confirm")
    assert browser.get(confirm).status_code == 200
    assert browser.post(confirm).status_code == 200
    assert browser.post(confirm).status_code == 409  # used
    assert browser.post(confirm, {"List-Unsubscribe": "One-Click"}).status_code == 400
    assert browser.get("/r/not-a-token/confirm/").status_code == 404
    assert browser.get(confirm.replace("/confirm/", "/delete/")).status_code == 404
    reschedule = link_path(greylisted, "reschedule")
    assert browser.get(reschedule).status_code == 200
    assert browser.post(reschedule, {"message": UNPRINTABLE_MESSAGE}).status_code == 400
    assert browser.post(reschedule, {"message": RESCHEDULE_MESSAGE}).status_code == 200
    stop = link_path(greylisted, "stop")
    assert browser.post(stop, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert not Participant.objects.get(subject_id=GREYLISTED[0]).reminders_enabled

    # Staff: an answer taken on the phone, a booking outside the window with an override
    # reason, a withdrawal with a reason (on the command line, as site staff run it).
    set_confirmation(
        greylisted.visit,
        Confirmation.RESCHEDULE_REQUESTED,
        by=staff,
        message=STAFF_MESSAGE,
        note=STAFF_NOTE,
    )
    later = Visit.objects.get(participant__subject_id=DELIVERED[0], code="INF1")
    outside = later.window_end + datetime.timedelta(days=3)
    booked = book_appointment(later, on=outside, override_reason=OVERRIDE_REASON, by=staff)
    assert booked.booking_override == OVERRIDE_REASON

    # The workspace: the dashboard, the list, a participant's page and its history; a new
    # address with a reason, and a screen failure with a reason, posted as the pages do.
    desk = Client()
    desk.force_login(staff)
    anna = Participant.objects.get(subject_id=DELIVERED[0])
    page = reverse("admin:participants_participant_change", args=[anna.pk])
    for url in (
        reverse("admin:index"),
        reverse("admin:participants_participant_changelist"),
        reverse("admin:participants_participant_changelist") + f"?q={DELIVERED[0]}",
        reverse("admin:participants_participant_history", args=[anna.pk]),
        reverse("admin:scheduling_visit_calendar") + "?site=BER",
    ):
        assert desk.get(url).status_code == 200, url
    data = form_data(desk.get(page))
    data.update(email=NEW_ADDRESS, change_reason=ADDRESS_REASON)
    assert desk.post(page, data).status_code == 302
    assert Participant.objects.get(pk=anna.pk).email == NEW_ADDRESS
    assert desk.get(page).status_code == 200
    clara = Participant.objects.get(subject_id=GREYLISTED[0])
    today = DUE.date().isoformat()
    desk.post(
        reverse("admin:participant_transition", args=[clara.pk]),
        {"target": "screen_failed", "on": today, "reason": SCREEN_FAILURE_REASON},
    )
    assert Participant.objects.get(pk=clara.pk).status == "screen_failed"
    call_command(
        "transition",
        REFUSED[0],
        "withdrawn",
        "--on",
        today,
        "--reason",
        WITHDRAWAL_REASON,
        "--by",
        staff.username,
        stdout=StringIO(),
    )

    # The next morning's digest lists the failed reminder; the visit day passes, links expire.
    time_machine.move_to(datetime.datetime(2026, 3, 5, 6, 5, tzinfo=UTC), tick=False)
    dispatch_due()
    assert SiteDigest.objects.filter(status=OutboxStatus.SENT).count() == 2
    time_machine.move_to(datetime.datetime(2026, 3, 12, 9, tzinfo=UTC), tick=False)
    assert browser.get(link_path(delivered, "reschedule")).status_code == 410
    dispatch_due()


@pytest.mark.django_db
def test_no_log_line_carries_personal_data_at_debug(
    protocol, smtp_server, time_machine, tmp_path, settings, caplog, monkeypatch
):
    config = product_logging(monkeypatch, LOG_LEVEL="DEBUG", SQL_DEBUG=None)
    assert config["root"]["level"] == "DEBUG"
    settings.DEBUG = True  # make demo's profile: Django's SQL logger has queries to log
    ours = Everything()
    caplog.set_level(logging.DEBUG)
    with every_logger_at_debug(config, ours):
        run_a_working_day(tmp_path, smtp_server, time_machine)

    records = ours.records
    loggers = {record.name for record in records}
    # The run was logged, at DEBUG too: the scan read something.
    assert {
        "scheduling.mail.dispatch",
        "scheduling.mail.mailer",
        "scheduling.replies.answers",
    } <= loggers
    assert "django.request" in loggers and "celery.app.trace" in loggers
    assert any(
        record.levelno == logging.DEBUG and record.name == "scheduling.mail.dispatch"
        for record in records
    )
    assert len(caplog.records) >= len([r for r in records if r.name != MAIL_SERVER_LOG])
    assert personal_data_in(records) == []
    assert personal_data_in(caplog.records) == []


def test_the_scanner_finds_an_address_in_a_message_its_arguments_an_exception_or_an_extra():
    email = DELIVERED[1]
    log = logging.getLogger("scheduling.mail.dispatch")

    def record(*args, **kwargs) -> logging.LogRecord:
        handler = Everything()
        log.addHandler(handler)
        level = log.level
        log.setLevel(logging.DEBUG)
        try:
            log.debug(*args, **kwargs)
        finally:
            log.removeHandler(handler)
            log.setLevel(level)
        [captured] = handler.records
        return captured

    try:
        raise ValueError(f"invalid address: {email.upper()}")
    except ValueError:
        exception = record("reminder %s: unexpected error", 12, exc_info=True)
    planted = [
        record(f"sent to {email}"),
        record("sent to %s", email),
        record("sent to %(to)s", {"to": email}),
        exception,
        record("reminder %s sent", 12, extra={"recipient": email}),
        record("participant %s", DELIVERED[0], stack_info=True),
    ]
    assert [len(personal_data_in([r])) for r in planted] == [1, 1, 1, 1, 1, 1]
    assert personal_data_in([record("reminder %s sent attempt %d", 12, 1)]) == []
    relay_log = logging.makeLogRecord({"name": MAIL_SERVER_LOG, "msg": f"RCPT TO:<{email}>"})
    assert personal_data_in([relay_log]) == []  # the loopback relay's own log is not ours


@pytest.mark.django_db
def test_sql_at_debug_shows_addresses_so_it_is_logged_only_when_asked_for_by_name(
    protocol, smtp_server, time_machine, tmp_path, settings, monkeypatch
):
    """What the product's guard keeps out: with SQL_DEBUG set, Django's SQL logger prints the
    queries' parameters, participants' addresses and typed reasons among them."""
    config = product_logging(monkeypatch, LOG_LEVEL="DEBUG", SQL_DEBUG="true")
    settings.DEBUG = True
    ours = Everything()
    with every_logger_at_debug(config, ours):
        run_a_working_day(tmp_path, smtp_server, time_machine)
    leaks = personal_data_in(ours.records)
    assert {logger for logger, _, _ in leaks} == {"django.db.backends"}
    assert {needle for _, needle, _ in leaks} >= {DELIVERED[1], REFUSED[0], "Dieter Bounce-Lehmann"}
