"""A mail server that misbehaves on purpose: 451 for ten minutes, 550 for one address, 530 at
MAIL FROM until the relay's credentials are fixed, and a final reply after the data that comes
late or never.

The server is a real one on loopback (tests/smtp_server.py). Where the scenario is about a
retry's backoff, the clock is fake: dispatch runs in this process under time-machine, or the
real ``send_due_reminders`` runs with its clock moved (tests/faults/clock.py).
"""

import datetime
import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from scheduling.mail.dispatch import dispatch_due
from scheduling.models import MailRelay, OutboxStatus, Reminder, SiteDigest
from tests.faults import by_form, population, stack
from tests.faults.ledger import Ledger, digests

pytestmark = pytest.mark.slow

UTC = datetime.UTC
DOCS = Path(__file__).resolve().parents[2] / "docs" / "reminders.md"
SUMMARY = re.compile(
    r"^sent (?P<sent>\d+), retrying (?P<retrying>\d+), failed (?P<failed>\d+), "
    r"expired \d+, superseded \d+, unknown (?P<unknown>\d+)",
    re.MULTILINE,
)


def summary(output: str) -> dict[str, int]:
    return {key: int(value) for key, value in SUMMARY.search(output).groupdict().items()}


def pending_rows() -> int:
    return (
        Reminder.objects.filter(status=OutboxStatus.PENDING, due_at__lte=timezone.now()).count()
        + SiteDigest.objects.filter(status=OutboxStatus.PENDING).count()
    )


def run_at_next_attempt(scenario) -> str:
    """``send_due_reminders`` with its clock two seconds past the next attempt of every
    held-back row (fake time: backoff is minutes). A run takes a moment, so the rows it held
    back have next attempts a moment apart: the latest one, so that all are due again."""
    next_attempts = [
        *Reminder.objects.filter(status=OutboxStatus.PENDING).values_list(
            "next_attempt_at", flat=True
        ),
        *SiteDigest.objects.filter(status=OutboxStatus.PENDING).values_list(
            "next_attempt_at", flat=True
        ),
    ]
    latest = max(moment for moment in next_attempts if moment is not None)
    offset = max((latest - timezone.now()).total_seconds(), 0) + 2
    return scenario.stack.run("send_due_reminders", clock=f"+{offset:.0f}")


def dashboard(user) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return response.text


@pytest.mark.faults(number=3, title="451 for ten minutes")
def test_451_for_ten_minutes_of_fake_time_then_every_reminder_goes_out_once(scenario, time_machine):
    count = by_form(short=100, long=300)
    start = datetime.datetime(2026, 3, 3, 8, tzinfo=UTC)  # 09:00 in Berlin
    time_machine.move_to(start, tick=False)
    population.digests_off()
    berlin = population.site("BER", "Europe/Berlin")
    ids = population.due_reminders(count, site=berlin)
    scenario.in_process_mail()
    scenario.smtp.handler.refuse_rcpt = "451 4.3.0 Try again later"
    sent = {}
    for minute in range(15):  # beat's run every minute, in this process on fake time
        if minute == 10:
            scenario.smtp.handler.refuse_rcpt = None  # the server recovers
        time_machine.move_to(start + datetime.timedelta(minutes=minute), tick=False)
        sent[minute] = dispatch_due().sent
    refusals = scenario.smtp.handler.rcpt_attempts
    # The next retry (backoff 1, 2, 4, 8 minutes) by a real process, on the same fake clock.
    retry_at = start + datetime.timedelta(minutes=15)
    output = scenario.stack.run("send_due_reminders", clock=retry_at.isoformat())
    for minute in range(16, 21):
        time_machine.move_to(start + datetime.timedelta(minutes=minute), tick=False)
        sent[minute] = dispatch_due().sent

    ledger = Ledger.of(scenario.smtp, ids)
    failed = Reminder.objects.filter(pk__in=ids, status=OutboxStatus.FAILED).count()
    scenario.report(
        f"451 to every recipient for 10 min (fake time), {count} due: {refusals // count} "
        f"refusals each, all sent at +15 min (backoff 1, 2, 4, 8 min): {ledger.line()}, "
        f"{failed} failed",
        due=count,
        refusals=refusals,
        sent_by_minute=sent,
        sent_at_15_min=summary(output)["sent"],
        delivered=ledger.delivered,
        duplicates=ledger.duplicates,
        lost=len(ledger.lost),
        failed=failed,
    )
    assert sum(sent.values()) == 0, sent  # nothing before its retry, nothing after
    assert summary(output)["sent"] == count
    assert ledger.duplicated == {} and ledger.lost == [] and failed == 0
    assert refusals == 4 * count  # tries at 0, 1, 3 and 7 minutes


@pytest.mark.faults(number=4, title="550 for one address")
def test_550_for_one_address_fails_that_reminder_shows_it_to_staff_and_delivers_the_others(
    scenario,
):
    count = by_form(short=50, long=500)
    population.digest_at(datetime.time(0, 0))  # the site's digest is due too, after them
    berlin = population.site("BER", population.daytime_zone())
    ids = population.due_reminders(count, site=berlin)
    refused = Reminder.objects.get(visit__participant__email="F7@example.org")
    scenario.smtp.handler.refuse_address = {
        "F7@example.org": "550 5.1.1 <F7@example.org>: Recipient address rejected: User unknown"
    }
    population.beat_due_now()
    scenario.own_redis()
    scenario.stack.worker()
    scenario.stack.beat()
    stack.wait_until(
        lambda: pending_rows() == 0 and SiteDigest.objects.exists(),
        timeout=120,
        what="every reminder and the digest dealt with",
    )
    refused.refresh_from_db()
    ledger = Ledger.of(scenario.smtp, [pk for pk in ids if pk != refused.pk])
    [digest] = digests(scenario.smtp)
    digest_text = digest.get_body(("plain",)).get_content()
    board = dashboard(population.superuser())
    shown_on_dashboard = 'id="reminders-failed">1</span> failed' in board
    listed_in_digest = refused.visit.participant.subject_id in digest_text
    scenario.report(
        f"550 5.1.1 for 1 of {count} addresses: that one failed (in the digest and on the "
        f"dashboard), others {ledger.line()}",
        due=count,
        failed=int(refused.status == OutboxStatus.FAILED),
        delivered=ledger.delivered,
        duplicates=ledger.duplicates,
        lost=len(ledger.lost),
        in_digest=listed_in_digest,
        on_dashboard=shown_on_dashboard,
    )
    assert refused.status == OutboxStatus.FAILED
    assert refused.last_error == (
        "recipient refused: 550 5.1.1 <F7@example.org>: Recipient address rejected: User unknown"
    )
    assert ledger.duplicated == {} and ledger.lost == [], scenario.fail_with_logs()
    assert population.message_id(refused.pk) not in scenario.smtp.handler.message_ids()
    assert listed_in_digest, digest_text
    assert "F7@example.org" not in digest_text  # staff see the subject id, never the address
    assert shown_on_dashboard


@pytest.mark.faults(number=5, title="530 at MAIL FROM, then fixed")
def test_530_at_mail_from_until_the_credentials_are_fixed_loses_nothing_and_the_banner_goes(
    scenario,
):
    count = by_form(short=50, long=200)
    refused_runs = by_form(short=2, long=4)  # at 0, +1, +3 and +7 min: the relay down 7 min
    population.digest_at(datetime.time(0, 0))
    berlin = population.site("BER", population.daytime_zone())
    ids = population.due_reminders(count, site=berlin)
    staff = population.superuser()
    scenario.smtp.handler.refuse_mail = "530 5.7.0 Authentication required"
    banners, outputs = [], []
    output = scenario.stack.run("send_due_reminders")  # the first run, on the real clock
    for run in range(refused_runs):
        if run > 0:
            output = run_at_next_attempt(scenario)
        outputs.append(summary(output))
        banners.append('id="mail-fault"' in dashboard(staff))
    relay = MailRelay.objects.get()
    fault = relay.fault
    attempts_while_refused = scenario.smtp.handler.mail_attempts
    scenario.smtp.handler.refuse_mail = None  # the relay's credentials are put right
    fixed = summary(run_at_next_attempt(scenario))
    banner_after = 'id="mail-fault"' in dashboard(staff)

    ledger = Ledger.of(scenario.smtp, ids)
    digest_mail = digests(scenario.smtp)
    scenario.report(
        f"530 at MAIL FROM for {refused_runs} runs ({attempts_while_refused} MAIL FROM tried, "
        f"one per run), then fixed: {count} reminders {ledger.line()}, digest "
        f"{len(digest_mail)}/1; banner shown {sum(banners)}/{refused_runs} runs, gone after",
        due=count,
        refused_runs=refused_runs,
        mail_from_attempts=attempts_while_refused,
        delivered=ledger.delivered,
        duplicates=ledger.duplicates,
        lost=len(ledger.lost),
        digests=len(digest_mail),
        banner_while_refused=banners,
        banner_after_fix=banner_after,
    )
    assert all(o["sent"] == 0 and o["retrying"] == count + 1 for o in outputs), outputs
    assert attempts_while_refused == refused_runs  # the rest of each run did not try again
    assert fault == "sender refused: 530 5.7.0 Authentication required"
    assert all(banners) and not banner_after
    assert fixed["sent"] == count + 1
    assert ledger.duplicated == {} and ledger.lost == [] and len(digest_mail) == 1
    assert not MailRelay.objects.exclude(fault="").exists()


@pytest.mark.faults(number=6, title="final reply after DATA late")
def test_a_late_final_reply_gives_the_number_of_copies_docs_reminders_md_states(scenario):
    docs = " ".join(DOCS.read_text().split())
    # What docs/reminders.md promises, so that this figure and the doc change together.
    assert "the reminder is marked sent once" in docs
    assert "at most two copies" in docs
    count = by_form(short=2, long=5)
    unknown_count = by_form(short=1, long=2)
    population.digests_off()
    berlin = population.site("BER", population.daytime_zone())

    # 1. The reply to the data comes 2 s late, after EMAIL_TIMEOUT (1 s) but well within
    #    EMAIL_DATA_REPLY_TIMEOUT (600 s, RFC 5321): the dispatcher waits and hears it.
    late = population.due_reminders(count, site=berlin, prefix="L")
    scenario.smtp.handler.reply_delay = 2
    scenario.stack.settings = {"EMAIL_TIMEOUT": "1"}
    late_run = summary(scenario.stack.run("send_due_reminders"))
    late_ledger = Ledger.of(scenario.smtp, late)
    late_copies = max(late_ledger.received[population.message_id(pk)] for pk in late)

    # 2. The reply never comes within EMAIL_DATA_REPLY_TIMEOUT (1 s here; the server answers
    #    after 3 s): an unknown outcome, retried once with the same Message-ID, then closed.
    silent = population.due_reminders(unknown_count, site=berlin, prefix="U")
    scenario.smtp.handler.reply_delay = 3
    scenario.stack.settings = {"EMAIL_TIMEOUT": "1", "EMAIL_DATA_REPLY_TIMEOUT": "1"}
    runs = 1
    scenario.stack.run("send_due_reminders")
    while Reminder.objects.filter(pk__in=silent, status=OutboxStatus.PENDING).exists():
        assert runs < 8, "still pending after 8 runs"
        run_at_next_attempt(scenario)
        runs += 1
    later = summary(scenario.stack.run("send_due_reminders", clock="+7200"))  # two hours on
    silent_ledger = Ledger.of(scenario.smtp, silent)
    copies = sorted(silent_ledger.received[population.message_id(pk)] for pk in silent)
    statuses = set(Reminder.objects.filter(pk__in=silent).values_list("status", flat=True))

    scenario.report(
        f"250 2 s after the data (EMAIL_TIMEOUT 1 s): {late_ledger.line()}, {late_copies} copy "
        f"each (docs: 1); no reply within EMAIL_DATA_REPLY_TIMEOUT: {max(copies)} copies each "
        f"of {unknown_count}, closed unknown after {runs} runs (docs: at most 2)",
        late_reply_copies=late_copies,
        late_reply_delivered=late_ledger.delivered,
        unknown_copies=copies,
        unknown_statuses=sorted(statuses),
        runs=runs,
    )
    assert late_run["sent"] == count and late_run["unknown"] == 0
    assert late_ledger.duplicated == {} and late_ledger.lost == []
    assert copies == [2] * unknown_count  # retried once: two copies, never a third
    assert statuses == {OutboxStatus.UNKNOWN}
    assert later["sent"] == 0 and later["unknown"] == 0
