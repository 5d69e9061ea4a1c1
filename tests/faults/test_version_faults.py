"""A protocol version taken up while reminders of the visits it changes sit in a claimed
batch: activated at one site without re-consent, and re-consented to at another.

Version 2.0 drops leukapheresis (LEUK); 3.0, made from it, only needs re-consent (a new
consent form). Each version's participant reminder rules are copies of the one before (new
rows, the same lead days and time), so a reminder of a visit the version keeps is the same
reminder under it (``sync_reminders``): it goes out once, never once per version. A reminder of
the visit a version drops (not applicable from the take-up day) never goes out. Changes go
through the project's services, as staff make them; the real worker and beat send to a real
SMTP server on loopback.
"""

import datetime
from collections import Counter

import pytest

from scheduling.models import OutboxStatus, ProtocolVersion, Reminder, ReminderRule
from scheduling.rules import schedule
from scheduling.timeline import versions
from tests.factories import enrol, investigator
from tests.faults import by_form, population, stack
from tests.faults.ledger import Ledger

pytestmark = pytest.mark.slow

DAY = datetime.timedelta(days=1)
# INF1 opens treatment, 8 weeks after consent: consent 53 days ago puts it three days ahead,
# so the 7-day reminder of an enrolled participant's first infusion is due now.
INF1_DUE_NOW_CONSENT_DAYS = 53


def version_two_and_three(approved_on: datetime.date, by):
    """2.0 (no LEUK, no re-consent) and 3.0 (2.0's plan, needs re-consent), both released."""
    protocol = population.protocol()
    draft = versions.new_draft(protocol, by=by, note="Amendment 1: leukapheresis dropped")
    draft.approved_on = approved_on
    draft.save()
    draft.visit_definitions.filter(code="LEUK").delete()
    two = versions.release(draft, by=by)
    draft = versions.new_draft(protocol, by=by, note="Amendment 2: new consent form")
    draft.approved_on, draft.needs_reconsent = approved_on, True
    draft.save()
    return two, versions.release(draft, by=by)


def participant_rules(version) -> dict[tuple[int, datetime.time], int]:
    """(lead days, local time) → rule id, of a version's participant reminder rules."""
    rules = ReminderRule.objects.filter(version=version, audience="participant", active=True)
    return {(r.lead_days, r.local_time): r.pk for r in rules}


def first_reminder(participant, code: str) -> Reminder:
    """The 7-day reminder of ``participant``'s visit ``code`` (due now)."""
    return Reminder.objects.get(visit__participant=participant, visit__code=code, rule__lead_days=7)


def enrolled(site, subject_id: str, *, today: datetime.date):
    """A participant enrolled today whose first infusion is in three days."""
    person = population.participant(
        site,
        subject_id,
        consent=today - INF1_DUE_NOW_CONSENT_DAYS * DAY,
        email=f"{subject_id.lower()}@example.org",
    )
    enrol(person, on=today, by=investigator())
    return person


def in_screening(site, subject_id: str, *, today: datetime.date):
    """A participant in screening whose LEUK is in three days."""
    return population.participant(
        site,
        subject_id,
        consent=today - population.DUE_NOW_CONSENT_DAYS * DAY,
        email=f"{subject_id.lower()}@example.org",
    )


@pytest.mark.faults(number=12, title="version taken up during a claimed batch")
def test_a_version_taken_up_while_reminders_sit_in_a_claimed_batch_sends_each_once_or_never(
    scenario,
):
    filler = by_form(short=40, long=70)  # with the ones below, one batch (at most 100)
    group = by_form(short=2, long=4)  # participants per site and kind
    zone = population.daytime_zone()
    filling = population.site("FIL", zone)
    sites = {"activation": population.site("ACT", zone), "reconsent": population.site("REC", zone)}
    today = sites["activation"].today()
    by = population.superuser()
    one = ProtocolVersion.objects.get(protocol=population.protocol(), number="1.0")
    two, three = version_two_and_three(today - 30 * DAY, by)
    population.digests_off()  # the versions' copies too
    # Sent: enrolled, their first infusion (which every version keeps) in three days; made
    # first, so their reminders go out first in the batch, before the versions are taken up.
    sent = {
        kind: [enrolled(site, f"{site.code}-S{n}", today=today) for n in range(group)]
        for kind, site in sites.items()
    }
    ids = population.due_reminders(filler, site=filling)
    # Made last, so claimed last in the batch (due time, then id): still waiting their turn.
    # Kept: enrolled, like the first. Dropped: in screening, their LEUK (which 2.0 and 3.0
    # drop) in three days.
    kept = {
        kind: [enrolled(site, f"{site.code}-K{n}", today=today) for n in range(group)]
        for kind, site in sites.items()
    }
    dropped = {
        kind: [in_screening(site, f"{site.code}-D{n}", today=today) for n in range(group)]
        for kind, site in sites.items()
    }
    early = [first_reminder(p, "INF1") for kind in sites for p in sent[kind]]
    keeping = [first_reminder(p, "INF1") for kind in sites for p in kept[kind]]
    stale = [first_reminder(p, "LEUK") for kind in sites for p in dropped[kind]]
    ours = [p for kind in sites for p in sent[kind] + kept[kind] + dropped[kind]]
    expected = [r.pk for r in early] + ids + [r.pk for r in keeping]

    scenario.smtp.handler.delay = 0.1  # a slow server: the batch takes seconds
    population.beat_every(5)
    scenario.own_redis()
    scenario.stack.worker()
    scenario.stack.beat()
    stack.wait_until(
        lambda: (
            Reminder.objects.filter(pk__in=[r.pk for r in early], status=OutboxStatus.SENT).count()
            == len(early)
        ),
        timeout=60,
        what="the first reminders of the batch sent",
    )
    claimed = Reminder.objects.filter(
        pk__in=[r.pk for r in keeping + stale],
        status=OutboxStatus.PENDING,
        claimed_until__isnull=False,
    ).count()
    activation = versions.activate_version(
        two, sites["activation"], on=today, by=by, reason="Local approval of amendment 1"
    )
    listed = versions.activate_version(
        three, sites["reconsent"], on=today, by=by, reason="IRB: new consent form"
    )
    for person in sent["reconsent"] + kept["reconsent"] + dropped["reconsent"]:
        versions.record_reconsent(person, three, on=today, by=by)
    changed_while_sending = len(scenario.smtp.messages) < len(early) + filler
    stack.wait_until(
        lambda: not Reminder.objects.filter(pk__in=expected, status=OutboxStatus.PENDING).exists(),
        timeout=120,
        what="the batch sent",
    )

    ledger = Ledger.of(scenario.smtp, expected)
    stale_statuses = list(
        Reminder.objects.filter(pk__in=[r.pk for r in stale]).values_list("status", flat=True)
    )
    stale_sent = [r.pk for r in stale if ledger.received[population.message_id(r.pk)]]
    # Exactly once per (visit, lead days, local time, appointment day), whatever the version
    # of the rule its row was made under: copies received, and rows that may still go out.
    copies, live = Counter(), Counter()
    for reminder in Reminder.objects.filter(visit__participant__in=ours).select_related("rule"):
        key = (reminder.visit_id, reminder.rule.lead_days, reminder.rule.local_time)
        key += (reminder.planned_date,)
        copies[key] += ledger.received[population.message_id(reminder.pk)]
        live[key] += reminder.status in (OutboxStatus.PENDING, OutboxStatus.SENT)
    once = {
        (r.visit_id, r.rule.lead_days, r.rule.local_time, r.planned_date) for r in early + keeping
    }
    scenario.report(
        f"2.0 activated (no re-consent) at one site, 3.0 re-consented at another, "
        f"{len(early)} reminders of their visits sent and {claimed} sitting in a claimed batch "
        f"of {len(early) + filler + len(keeping) + len(stale)}: {len(stale_sent)}/{len(stale)} "
        f"for visits no longer applicable sent; {sum(copies[k] for k in once)} copies for the "
        f"{len(once)} kept (rules copied to new rows); all {ledger.line()}",
        claimed=claimed,
        sent_before=len(early),
        stale_sent=len(stale_sent),
        stale_statuses=dict(Counter(stale_statuses)),
        kept=len(once),
        kept_copies=sum(copies[k] for k in once),
        delivered=ledger.delivered,
        duplicates=ledger.duplicates,
        lost=len(ledger.lost),
    )
    assert claimed == len(keeping) + len(stale) and changed_while_sending, (
        "the changes came too late to test anything"
    )
    # The versions are what the scenario says: rules copied to new rows, 3.0 waiting.
    assert participant_rules(two).keys() == participant_rules(one).keys()
    assert not set(participant_rules(two).values()) & set(participant_rules(one).values())
    assert len(activation.participants) == 3 * group
    assert sorted(listed.to_reconsent) == sorted(
        p.subject_id for p in sent["reconsent"] + kept["reconsent"] + dropped["reconsent"]
    )
    # None lost, none doubled, none for a visit that no longer applies.
    assert ledger.duplicated == {} and ledger.lost == [], scenario.fail_with_logs()
    assert stale_sent == [] and ledger.strays() == []
    assert set(stale_statuses) == {OutboxStatus.CANCELLED}
    assert all(copies[key] == 1 for key in once), copies
    assert all(count <= 1 for count in live.values()), live
    assert sum(copies.values()) == len(once)
    # Visits dropped keep 1.0; the kept ones are planned by the version taken up.
    for kind, version in (("activation", two), ("reconsent", three)):
        for person in sent[kind] + kept[kind]:
            infusion = person.visits.get(code="INF1")
            assert infusion.is_open and infusion.version_id == version.pk
        for person in dropped[kind]:
            leukapheresis = person.visits.get(code="LEUK")
            assert leukapheresis.version_id == one.pk
            assert leukapheresis.closed_reason == schedule.not_applicable_reason(version.number)
