"""Issue 24, worked example: a participant's reminders across a version whose rules are copies
of the one before (new rows, the same lead days and time).

1.0's 7-day reminder was switched off at Oceanside; version 2.0 switches its copy back on. B,
consented 1 June 2026, has LEUK on 6 July: the 7-day reminder is due on 29 June at 09:00.
"""

import datetime

from scheduling.mail.dispatch import dispatch_due
from scheduling.models import Audience, OutboxStatus, ProtocolVersion, Reminder, ReminderRule
from scheduling.timeline import versions
from scheduling.timeline.schedules import rebuild_schedule

D = datetime.date
UTC = datetime.UTC


def test_a_rule_the_new_version_switches_back_on_sends_its_reminder(
    protocol, site_ocn, clerk, make_participant, time_machine, mailoutbox
):
    time_machine.move_to(datetime.datetime(2026, 6, 1, 20, tzinfo=UTC), tick=False)
    ReminderRule.objects.filter(audience=Audience.COORDINATOR_DIGEST).update(active=False)
    b = make_participant(consent_date=D(2026, 6, 1), subject_id="SLE-001-101-002")
    one = ProtocolVersion.objects.get(protocol=protocol, number="1.0")
    ReminderRule.objects.filter(version=one, audience=Audience.PARTICIPANT, lead_days=7).update(
        active=False
    )
    rebuild_schedule(b, by=clerk)  # its 7-day row cancelled
    draft = versions.new_draft(protocol, by=clerk, note="The 7-day reminder back")
    draft.approved_on = D(2026, 6, 1)
    draft.save()
    draft.reminder_rules.filter(audience=Audience.PARTICIPANT, lead_days=7).update(active=True)
    two = versions.release(draft, by=clerk)
    time_machine.move_to(datetime.datetime(2026, 6, 15, 20, tzinfo=UTC), tick=False)

    versions.activate_version(two, site_ocn, on=D(2026, 6, 15), by=clerk, reason="Approved")

    [reminder] = Reminder.objects.filter(
        visit__participant=b, visit__code="LEUK", rule__lead_days=7, status=OutboxStatus.PENDING
    ).select_related("rule")
    assert reminder.rule.active  # one that can go out: 2.0's (it was 1.0's, switched off)
    time_machine.move_to(reminder.due_at, tick=False)
    dispatch_due()
    reminder.refresh_from_db()
    assert reminder.status == OutboxStatus.SENT and len(mailoutbox) == 1
